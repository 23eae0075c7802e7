"""Storing a brief's images and resolving the body's references to them.

An image is a StoredFile of kind "image" (so backups, fixity checks and repair treat it as
every other file) under its SHA-256; the body names it as ``![图1 说明](image:<sha256>)``.
Storing never changes the brief: the reference enters the body through a revision.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from figures.images import CleanImage, clean_image
from models import Brief, StoredFile
from publishing.storage import Store, FixityError
from rendering.markdown import image_references
from workflows.policy import UPLOAD_IMAGE, can
from workflows.transitions import ActionRefused


def image_markdown(digest: str, caption: str) -> str:
    caption = " ".join(caption.replace("[", "［").replace("]", "］").split())
    return f"![{caption}](image:{digest})"


def store_image(session: Session, store: Store, brief: Brief, user: Any, data: bytes, name: str) -> StoredFile:
    """Re-encode and store one uploaded image for `brief`; the row (existing or new) naming it."""
    decision = can(user, brief, UPLOAD_IMAGE)
    if not decision:
        raise ActionRefused(decision)
    image = clean_image(data, name)
    return store_clean_image(session, store, brief, image, name)


def store_clean_image(session: Session, store: Store, brief: Brief, image: CleanImage, name: str) -> StoredFile:
    """Store an image already re-encoded (clean_image) for `brief`; the row naming it."""
    blob = store.put(image.data, suffix=image.suffix)
    existing = session.scalar(select(StoredFile).where(
        StoredFile.brief_id == brief.id, StoredFile.kind == "image", StoredFile.sha256 == blob.sha256))
    if existing is not None:
        return existing
    row = StoredFile(brief_id=brief.id, kind="image", path=blob.path, name=_download_name(name, image.suffix),
                     sha256=blob.sha256, size=blob.size, pages=1)
    session.add(row)
    session.flush()
    return row


def _download_name(name: str, suffix: str) -> str:
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0][:200] or "image"
    return f"images/{stem}{suffix}"


def images_of(session: Session, body: str) -> dict[str, StoredFile]:
    """The stored images the body refers to, by SHA-256 (one row each)."""
    digests = image_references(body)
    if not digests:
        return {}
    rows = session.scalars(select(StoredFile).where(StoredFile.kind == "image", StoredFile.sha256.in_(digests)))
    return {row.sha256: row for row in rows}


def image_bytes(session: Session, store: Store, body: str) -> dict[str, tuple[bytes, str]]:
    """(data, mime type) of each image the body names and the store holds intact."""
    found: dict[str, tuple[bytes, str]] = {}
    for digest, row in images_of(session, body).items():
        try:
            data = store.read_verified(row.path, row.sha256)
        except FixityError:
            continue  # shown as its caption in brackets; archive verify reports the file
        found[digest] = (data, "image/jpeg" if row.path.endswith(".jpg") else "image/png")
    return found


def image_data_uris(session: Session, store: Store, body: str) -> Mapping[str, str]:
    """What rendering.markdown.render_body needs: each referenced image as a data: URI."""
    return {digest: f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            for digest, (data, mime) in image_bytes(session, store, body).items()}
