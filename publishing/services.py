"""The file store and the PDF renderer of the running app: one of each per process."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

from publishing.storage import FileStore, Store

if TYPE_CHECKING:
    from rendering.pdf import PdfRenderer


def file_store() -> Store:
    """The configured store: S3-compatible object storage when CANYUE_STORAGE_URL is an
    s3:// URL (its client made once per process), else the folder."""
    url = current_app.config.get("CANYUE_STORAGE_URL")
    if url:
        store = current_app.extensions.get("canyue.store")
        if store is None:
            from publishing.objectstore import S3Store

            store = S3Store.from_config(url, current_app.config)
            current_app.extensions["canyue.store"] = store
        return store
    configured = current_app.config.get("CANYUE_FILES_DIR")
    return FileStore(Path(configured) if configured else Path(current_app.instance_path) / "files")


def pdf_renderer() -> PdfRenderer:
    """Created on first use (WeasyPrint is slow to import) and kept: one FontConfiguration
    per process. Licensed fonts dropped into instance/fonts/ are picked up."""
    renderer = current_app.extensions.get("canyue.pdf")
    if renderer is None:
        from rendering.pdf import PdfRenderer

        fonts = current_app.config.get("CANYUE_FONTS_DIR") or Path(current_app.instance_path) / "fonts"
        renderer = PdfRenderer(fonts_dir=Path(fonts), font_roles=current_app.config.get("CANYUE_FONT_ROLES"))
        current_app.extensions["canyue.pdf"] = renderer
    return renderer
