from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, exists, select
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship, validates

from models.base import Base
from models.distribution import Copy
from models.types import UTCDateTime, utcnow
from workflows.brief import State
from workflows.copy import CopyState
from workflows.limits import AUTHOR_LINE_LENGTH, CLASSIFICATION_LENGTH, PERSON_NAME_LENGTH, TITLE_LENGTH
from workflows.numbering import Sequence

if TYPE_CHECKING:
    from models.correction import Correction
    from models.files import StoredFile
    from models.series import Series
    from models.user import User

OPEN_CORRECTION_STATES = (State.DRAFT, State.IN_REVIEW, State.AWAITING_SIGNOFF, State.SIGNED)
STATE_VALUES = ", ".join(f"'{s.value}'" for s in State)
SEQUENCE_VALUES = ", ".join(f"'{s.value}'" for s in Sequence)

# The fields that make up a brief's content; every saved change snapshots them as a Revision.
CONTENT_FIELDS = (
    "title",
    "author_line",
    "special_report",
    "supplement",
    "classification",
    "urgency",
    "keywords",
    "body",
)

EMPTY_CONTENT: dict[str, Any] = {
    "title": "",
    "author_line": "",
    "special_report": [],
    "supplement": False,
    "classification": "",
    "urgency": "",
    "keywords": [],
    "body": "",
}
assert tuple(EMPTY_CONTENT) == CONTENT_FIELDS


class Brief(Base):
    __tablename__ = "brief"
    __table_args__ = (
        CheckConstraint(f"state IN ({STATE_VALUES})", name="known_state"),
        CheckConstraint(f"number_sequence IS NULL OR number_sequence IN ({SEQUENCE_VALUES})", name="known_sequence"),
        # What the states imply: an approved brief names its 责任编辑, a signed one its signer,
        # a published one carries its numbers and issue date.
        # Imported past issues (with a provenance note) keep only what was printed on them.
        CheckConstraint(
            "state NOT IN ('awaiting_signoff', 'signed', 'published', 'archived', 'annulled', 'reissued')"
            " OR editor_name IS NOT NULL OR provenance IS NOT NULL",
            name="approved_has_editor",
        ),
        CheckConstraint(
            "state NOT IN ('signed', 'published', 'archived', 'annulled', 'reissued')"
            " OR (signer_name IS NOT NULL AND signed_at IS NOT NULL) OR provenance IS NOT NULL",
            name="signed_has_signer",
        ),
        CheckConstraint(
            "state NOT IN ('published', 'archived', 'annulled') OR (issue_number IS NOT NULL"
            " AND total_number IS NOT NULL AND issue_date IS NOT NULL AND issue_year IS NOT NULL"
            " AND number_sequence IS NOT NULL AND (print_run IS NOT NULL OR provenance IS NOT NULL))",
            name="published_has_numbers",
        ),
        # 作废 and 更正 (workflows/brief.py): an annulled issue says when; a correction draft
        # names the issue it corrects and how it is issued; a 更正版 holds no numbers of its own.
        CheckConstraint("state != 'annulled' OR annulled_at IS NOT NULL", name="annulled_has_date"),
        CheckConstraint("(corrects_id IS NULL) = (correction_kind IS NULL)", name="correction_has_kind"),
        CheckConstraint("correction_kind IS NULL OR correction_kind IN ('notice', 'edition')",
                        name="known_correction_kind"),
        CheckConstraint("state != 'reissued' OR (correction_kind = 'edition' AND issue_number IS NULL"
                        " AND total_number IS NULL)", name="reissued_holds_no_numbers"),
        CheckConstraint(
            "state != 'archived' OR (archive_code IS NOT NULL AND retention IS NOT NULL AND archive_item IS NOT NULL)",
            name="archived_has_code",
        ),
        CheckConstraint("retention IS NULL OR retention IN ('Y', 'D30', 'D10')", name="known_retention"),
        UniqueConstraint("fonds_code", "archive_year", "retention", "archive_item", name="uq_brief_archive_item"),
        CheckConstraint("issue_number IS NULL OR issue_number > 0", name="positive_issue_number"),
        CheckConstraint("total_number IS NULL OR total_number > 0", name="positive_total_number"),
        UniqueConstraint("series_id", "number_sequence", "issue_year", "issue_number", name="uq_brief_issue_number"),
        UniqueConstraint("series_id", "number_sequence", "total_number", name="uq_brief_total_number"),
        Index("ix_brief_state", "state"),
        # 成果统计 (stats/figures.py) reads its counts and durations from this index alone.
        Index("ix_brief_statistics", "state", "issue_year", "series_id", "supplement", "corrects_id", "annulled_at",
              "submitted_at", "signed_at", "published_at"),
        # The inbox's lists: open briefs by state, newest first; my briefs; overdue steps.
        Index("ix_brief_state_updated", "state", "updated_at"),
        Index("ix_brief_author_updated", "author_id", "updated_at"),
        Index("ix_brief_due_on", "due_on"),
        # The brief list walks this in order and stops at a page's worth; its count scans the
        # covering index of what readable_clause reads, not the table with its bodies.
        Index("ix_brief_updated", "updated_at"),
        Index("ix_brief_readable", "state", "deleted_at", "author_id", "submitted_at", "series_id", "classification",
              "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"))
    state: Mapped[str] = mapped_column(String(20), default=State.DRAFT.value)
    # The user who created the brief; the printed 署名 is `author_line`.
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(default=1)

    # Content (frozen from approval on); mirrored by the latest Revision.
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH), default="")
    author_line: Mapped[str] = mapped_column(String(AUTHOR_LINE_LENGTH), default="")
    special_report: Mapped[list[str]] = mapped_column(JSON, default=list)  # 本期专报, in order
    supplement: Mapped[bool] = mapped_column(default=False)
    classification: Mapped[str] = mapped_column(String(CLASSIFICATION_LENGTH), default="")
    urgency: Mapped[str] = mapped_column(String(CLASSIFICATION_LENGTH), default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    body: Mapped[str] = mapped_column(Text, default="")
    revision_number: Mapped[int] = mapped_column(default=0)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the brief entered its state (who holds it "since when"), and the day its current step
    # is due: the series' allowance for the step in working days, or the brief's own deadline
    # (urgent issues) if earlier (inbox/due.py). None: no step waits, or no limit.
    state_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_on: Mapped[date | None]
    deadline: Mapped[date | None]

    # Approval and sign-off: printed names stored as text beside the user links.
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    editor_name: Mapped[str | None] = mapped_column(String(PERSON_NAME_LENGTH))
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signer_name: Mapped[str | None] = mapped_column(String(PERSON_NAME_LENGTH))
    sign_opinion: Mapped[str | None] = mapped_column(Text)

    # Settled at publication.
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    issue_date: Mapped[date | None]
    issue_year: Mapped[int | None]
    issue_number: Mapped[int | None]  # 期号
    total_number: Mapped[int | None]  # 总期号
    number_sequence: Mapped[str | None] = mapped_column(String(20))
    print_run: Mapped[int | None]  # 共印 N 份

    # Filing (归档): the 档号 and its parts, DA/T 22 (workflows/filing.py).
    archive_code: Mapped[str | None] = mapped_column(String(40), unique=True)
    fonds_code: Mapped[str | None] = mapped_column(String(20))
    retention: Mapped[str | None] = mapped_column(String(4))
    archive_year: Mapped[int | None]
    archive_item: Mapped[int | None]
    archived_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the author deleted a draft never submitted: hidden everywhere, its rows kept.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Where an imported past issue came from (it has no workflow history in Canyue).
    provenance: Mapped[str | None] = mapped_column(Text)

    # 作废: when and by whom the issue was annulled (kept when it is filed afterwards).
    annulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    annulled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # 更正: a correction draft names the issue it corrects, and whether it is issued as a
    # correction notice (an issue of its own) or as a 更正版 (the corrected issue's new edition).
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("brief.id"), index=True)
    correction_kind: Mapped[str | None] = mapped_column(String(10))
    # How many 更正版 replaced this issue's text and files (0: as first published).
    edition: Mapped[int] = mapped_column(default=0, server_default="0")

    # Head of the audit hash chain: the hash of this brief's latest audit event.
    audit_head: Mapped[str | None] = mapped_column(String(64))

    series: Mapped[Series] = relationship(lazy="joined")
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    revisions: Mapped[list[Revision]] = relationship(
        back_populates="brief", order_by="Revision.number", cascade="all, delete-orphan"
    )
    master: Mapped[StoredFile | None] = relationship(
        # The current one: a correction supersedes a master, never deletes it.
        primaryjoin="and_(StoredFile.brief_id == Brief.id, StoredFile.kind == 'master', "
                    "StoredFile.superseded_by_id.is_(None))",
        viewonly=True, uselist=False,
    )
    # The correction of its date and numbers waiting for a signer, if any (one at a time).
    pending_correction: Mapped[Correction | None] = relationship(
        primaryjoin="and_(Correction.brief_id == Brief.id, Correction.state == 'pending')",
        viewonly=True, uselist=False,
    )

    corrects: Mapped[Brief | None] = relationship(remote_side=[id], foreign_keys=[corrects_id])

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Brief {self.id} {self.state}>"

    @property
    def corrects_as_edition(self) -> bool:
        return self.correction_kind == "edition"

    @property
    def open_correction(self) -> Brief | None:
        """The correction draft of this issue still on its way (one at a time)."""
        session = object_session(self)
        if session is None or self.id is None:
            return None
        return session.scalar(select(Brief).where(
            Brief.corrects_id == self.id, Brief.deleted_at.is_(None),
            Brief.state.in_([s.value for s in OPEN_CORRECTION_STATES])).limit(1))

    @property
    def corrections(self) -> list[Brief]:
        """Every correction draft of this issue, oldest first (their states say how each ended)."""
        session = object_session(self)
        if session is None or self.id is None:
            return []
        return list(session.scalars(select(Brief).where(Brief.corrects_id == self.id, Brief.deleted_at.is_(None))
                                    .order_by(Brief.id)))

    @validates("state")
    def _guard_state(self, key: str, value: str) -> str:
        # The state moves only through workflows.transitions.apply_transition.
        if self.state is not None and not getattr(self, "_transition_in_progress", False):
            raise AttributeError("Brief.state changes only through apply_transition")
        return State(value).value

    def content(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in CONTENT_FIELDS}

    @property
    def copies_moved(self) -> bool:
        """Whether any numbered copy has left `printed` (dispatched, or recorded otherwise):
        from then on the issue as sent stands, and is no longer corrected."""
        session = object_session(self)
        if session is None or self.id is None:
            return False
        return bool(session.scalar(select(exists().where(
            Copy.brief_id == self.id, Copy.state != CopyState.PRINTED.value))))


class Revision(Base):
    """An immutable snapshot of a brief's content, one per saved change."""

    __tablename__ = "revision"
    __table_args__ = (UniqueConstraint("brief_id", "number", name="uq_revision_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("brief.id", ondelete="CASCADE"))
    number: Mapped[int]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state: Mapped[str] = mapped_column(String(20))  # the brief's state when saved

    title: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    author_line: Mapped[str] = mapped_column(String(AUTHOR_LINE_LENGTH))
    special_report: Mapped[list[str]] = mapped_column(JSON)
    supplement: Mapped[bool]
    classification: Mapped[str] = mapped_column(String(CLASSIFICATION_LENGTH))
    urgency: Mapped[str] = mapped_column(String(CLASSIFICATION_LENGTH))
    keywords: Mapped[list[str]] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)

    brief: Mapped[Brief] = relationship(back_populates="revisions")
    created_by: Mapped[User] = relationship(lazy="joined")

    def content(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in CONTENT_FIELDS}
