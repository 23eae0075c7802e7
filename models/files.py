from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.types import UTCDateTime, utcnow

# master: the archival PDF of an issue; copy: a numbered copy; image: a picture in the body;
# signoff_sheet: the 签发单 as signed (signoff/); signoff_scan: the scan of a paper 签发单 a
# secretary recorded (代签); instruction_scan: the scan of a 批示件 (instructions/).
KINDS = ("master", "copy", "image", "signoff_sheet", "signoff_scan", "instruction_scan")
KIND_VALUES = ", ".join(f"'{k}'" for k in KINDS)


class StoredFile(Base):
    """A file of the archive: only such a row makes a stored file part of it.

    `path` is where the file store keeps it, named by its SHA-256 (publishing/storage.py);
    `name` is the readable name it is downloaded and exported under. A file replaced by a
    correction stays, linked to its successor."""

    __tablename__ = "stored_file"
    __table_args__ = (
        CheckConstraint(f"kind IN ({KIND_VALUES})", name="known_kind"),
        CheckConstraint("kind != 'copy' OR copy_id IS NOT NULL", name="copy_names_copy"),
        CheckConstraint("size > 0 AND pages > 0", name="not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("brief.id"), index=True)
    # master: the archival PDF of an issue; copy: a numbered copy; image: a picture in the body
    # (figures/), re-encoded, referenced from the body by its SHA-256; its `pages` is 1.
    kind: Mapped[str] = mapped_column(String(20))
    copy_id: Mapped[int | None] = mapped_column(ForeignKey("issue_copy.id"), index=True)
    # Relative to the file store's root; files are never overwritten or renamed.
    path: Mapped[str] = mapped_column(String(300), index=True)
    name: Mapped[str] = mapped_column(String(300))  # issues/<series>/<year>/<sequence>-<期号>-<总期号>.pdf
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    pages: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The brief's audit event this file was made for: a master carries that event's
    # prev_hash (the brief's head before it) as `canyue-audit-head`, which audit verify checks.
    event_seq: Mapped[int | None]
    # Set when a correction replaced this file; the file itself stays.
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    # The last fixity check (archive verify): when, whether it matched, what was wrong.
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    check_ok: Mapped[bool | None]
    check_problem: Mapped[str | None] = mapped_column(String(20))  # missing, changed
