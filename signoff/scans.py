"""Scans brought in by hand (a signed paper 签发单, a 批示件): a PDF without active content or an
image, re-encoded, stored under its SHA-256 as a stored file of the brief."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.pdfcheck import PdfRefused, check_original_pdf
from figures.images import ImageRefused, clean_image
from models import StoredFile
from publishing.storage import Store
from workflows.i18n import N_

MAX_SCAN_BYTES = 20 * 1024 * 1024


class ScanRefused(ValueError):
    """The file is not a usable scan; the message is marked for translation."""

    def __init__(self, message: str, **params: Any):
        super().__init__(message)
        self.params = params


def store_scan(session: Session, store: Store, brief: Any, kind: str, data: bytes, filename: str) -> StoredFile:
    """Check, store and register one scan of `brief`; ScanRefused when it is not a PDF or image."""
    if not data:
        raise ScanRefused(N_("Please attach the scan (a PDF or an image)."))
    if len(data) > MAX_SCAN_BYTES:
        raise ScanRefused(N_("The scan is larger than %(mb)d MB."), mb=MAX_SCAN_BYTES // (1024 * 1024))
    stem = (filename or "scan").rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0][:120] or "scan"
    if data[:1024].find(b"%PDF-") != -1:
        try:
            pages = check_original_pdf(data)
        except PdfRefused as refused:
            raise ScanRefused(N_("The PDF cannot be taken as a scan (%(why)s)."), why=refused.kind) from refused
        suffix, payload = ".pdf", data
    else:
        try:
            image = clean_image(data, filename or "scan")
        except ImageRefused as refused:
            raise ScanRefused(N_("The file is neither a PDF nor an image that can be read.")) from refused
        suffix, payload, pages = image.suffix, image.data, 1
    blob = store.put(payload, suffix=suffix)
    existing = session.scalar(select(StoredFile).where(
        StoredFile.brief_id == brief.id, StoredFile.kind == kind, StoredFile.sha256 == blob.sha256))
    if existing is not None:
        return existing
    folder = "signoff" if kind == "signoff_scan" else "instructions"
    row = StoredFile(brief_id=brief.id, kind=kind, path=blob.path, name=f"{folder}/{stem}{suffix}",
                     sha256=blob.sha256, size=blob.size, pages=pages)
    session.add(row)
    session.flush()
    return row
