"""The file store and the PDF renderer of the running app: one of each per process."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

from publishing.storage import FileStore

if TYPE_CHECKING:
    from rendering.pdf import PdfRenderer


def file_store() -> FileStore:
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
