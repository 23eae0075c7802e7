"""Distribution (DESIGN.md, "Distribution"): the recipients directory, each series' default
list, each brief's list, the numbered copies made at publication, and electronic delivery."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from models.base import Base
from models.types import UTCDateTime, utcnow
from workflows.copy import Category, CopyState, Medium, Route
from workflows.limits import ORGANISATION_LENGTH, PERSON_NAME_LENGTH

if TYPE_CHECKING:
    from models.brief import Brief
    from models.files import StoredFile
    from models.series import Series
    from models.user import User

CATEGORY_VALUES = ", ".join(f"'{c.value}'" for c in Category)
COPY_STATE_VALUES = ", ".join(f"'{s.value}'" for s in CopyState)
MEDIUM_VALUES = ", ".join(f"'{m.value}'" for m in Medium)
ROUTE_VALUES = ", ".join(f"'{r.value}'" for r in Route)


def printed_label(name: str, title: str) -> str:
    """曹路宝 + 书记 → 曹路宝书记: a recipient as the 本期专报 line prints them."""
    return f"{name.strip()}{title.strip()}"


class Recipient(Base):
    """A person or a unit that receives copies (the directory; editors and admins keep it)."""

    __tablename__ = "recipient"
    __table_args__ = (
        CheckConstraint(f"category IN ({CATEGORY_VALUES})", name="known_category"),
        CheckConstraint("default_copies > 0", name="positive_copies"),
        Index("ix_recipient_name", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(PERSON_NAME_LENGTH))  # 曹路宝, or a unit: 市委办公室
    title: Mapped[str] = mapped_column(String(PERSON_NAME_LENGTH), default="")  # 书记, 代市长, 秘书长 …
    organisation: Mapped[str] = mapped_column(String(ORGANISATION_LENGTH), default="")
    category: Mapped[str] = mapped_column(String(4), default=Category.SEND.value)
    default_copies: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    # Where the recipient has an account, their copies can be fetched from it.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    user: Mapped[User | None] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<Recipient {self.id} {self.label}>"

    @property
    def label(self) -> str:
        return printed_label(self.name, self.title)


class SeriesDistribution(Base):
    """One line of a series' default distribution list; each new brief starts from it."""

    __tablename__ = "series_distribution"
    __table_args__ = (
        CheckConstraint(f"category IN ({CATEGORY_VALUES})", name="known_category"),
        CheckConstraint(f"medium IN ({MEDIUM_VALUES})", name="known_medium"),
        CheckConstraint("copies > 0", name="positive_copies"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipient.id"))
    category: Mapped[str] = mapped_column(String(4))
    copies: Mapped[int] = mapped_column(default=1)
    medium: Mapped[str] = mapped_column(String(12), default=Medium.PRINTED.value)
    position: Mapped[int] = mapped_column(default=0)

    series: Mapped[Series] = relationship()
    recipient: Mapped[Recipient] = relationship(lazy="joined")


class DistributionEntry(Base):
    """One line of a brief's distribution list, editable until publication.

    The 专报 lines are the brief's 本期专报 names (content, in `Brief.special_report`), kept
    equal to them by workflows.distribution: `label` is the name as printed there. Other lines
    name a recipient of the directory.
    """

    __tablename__ = "distribution_entry"
    __table_args__ = (
        CheckConstraint(f"category IN ({CATEGORY_VALUES})", name="known_category"),
        CheckConstraint(f"medium IN ({MEDIUM_VALUES})", name="known_medium"),
        CheckConstraint("copies > 0", name="positive_copies"),
        CheckConstraint("category = '专报' OR recipient_id IS NOT NULL", name="names_recipient"),
        CheckConstraint("category != '专报' OR label IS NOT NULL", name="special_has_label"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("brief.id", ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipient.id"))
    category: Mapped[str] = mapped_column(String(4))
    label: Mapped[str | None] = mapped_column(Text)  # 专报: the name as printed
    copies: Mapped[int] = mapped_column(default=1)
    medium: Mapped[str] = mapped_column(String(12), default=Medium.PRINTED.value)
    position: Mapped[int] = mapped_column(default=0)

    recipient: Mapped[Recipient | None] = relationship(lazy="joined")

    @property
    def display_label(self) -> str:
        if self.label:
            return self.label
        return self.recipient.label if self.recipient is not None else ""


class DistributionRecall(Base):
    """An issue recalled (收回) by an editor: when, by whom, why."""

    __tablename__ = "distribution_recall"

    brief_id: Mapped[int] = mapped_column(ForeignKey("brief.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    recalled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recalled_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recalled_by_name: Mapped[str] = mapped_column(String(PERSON_NAME_LENGTH))


class Copy(Base):
    """One numbered copy (份号) of a published issue, with its recipient as printed then.

    Its state moves only through workflows.dispatch.apply_copy_transition.
    """

    __tablename__ = "issue_copy"
    __table_args__ = (
        UniqueConstraint("brief_id", "number", name="uq_issue_copy_number"),
        CheckConstraint("number > 0", name="positive_number"),
        CheckConstraint(f"state IN ({COPY_STATE_VALUES})", name="known_state"),
        CheckConstraint(f"medium IN ({MEDIUM_VALUES})", name="known_medium"),
        CheckConstraint(f"route IS NULL OR route IN ({ROUTE_VALUES})", name="known_route"),
        CheckConstraint(f"category IS NULL OR category IN ({CATEGORY_VALUES})", name="known_category"),
        # What the states imply.
        CheckConstraint(
            "state NOT IN ('dispatched', 'received') OR (dispatched_at IS NOT NULL AND route IS NOT NULL)",
            name="dispatched_has_route",
        ),
        CheckConstraint("state != 'received' OR (received_at IS NOT NULL AND signed_by IS NOT NULL)",
                        name="received_has_signature"),
        CheckConstraint("state != 'returned' OR returned_at IS NOT NULL", name="returned_has_time"),
        CheckConstraint("state != 'destroyed' OR (destroyed_at IS NOT NULL AND witness IS NOT NULL)",
                        name="destroyed_has_witness"),
        CheckConstraint("state != 'lost' OR lost_at IS NOT NULL", name="lost_has_time"),
        Index("ix_issue_copy_recipient", "recipient_id"),
        Index("ix_issue_copy_state", "state"),  # the clerk's inbox: copies to send, receipts awaited
    )

    # The policy tells a copy from a brief by this (workflows.policy.can).
    subject_type = "copy"

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("brief.id"), index=True)
    number: Mapped[int]  # 份号, printed as six digits
    state: Mapped[str] = mapped_column(String(12), default=CopyState.PRINTED.value)
    medium: Mapped[str] = mapped_column(String(12), default=Medium.PRINTED.value)
    # The recipient as printed at publication: later directory edits do not rewrite it.
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipient.id"))
    category: Mapped[str | None] = mapped_column(String(4))  # None: a reserve copy (机动)
    recipient_label: Mapped[str] = mapped_column(Text, default="")  # as printed: 曹路宝书记
    recipient_name: Mapped[str] = mapped_column(String(PERSON_NAME_LENGTH), default="")
    recipient_title: Mapped[str] = mapped_column(String(PERSON_NAME_LENGTH), default="")
    recipient_organisation: Mapped[str] = mapped_column(String(ORGANISATION_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    route: Mapped[str | None] = mapped_column(String(12))
    dispatched_by: Mapped[str | None] = mapped_column(String(PERSON_NAME_LENGTH))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_by: Mapped[str | None] = mapped_column(String(PERSON_NAME_LENGTH))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    returned_by: Mapped[str | None] = mapped_column(String(PERSON_NAME_LENGTH))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    destroyed_by: Mapped[str | None] = mapped_column(String(PERSON_NAME_LENGTH))
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    witness: Mapped[str | None] = mapped_column(String(PERSON_NAME_LENGTH))
    lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lost_note: Mapped[str | None] = mapped_column(Text)
    # Set by a recall on every copy not yet returned or destroyed.
    recalled: Mapped[bool] = mapped_column(Boolean, default=False)

    version: Mapped[int] = mapped_column(default=1)

    brief: Mapped[Brief] = relationship()
    recipient: Mapped[Recipient | None] = relationship()
    stored_file: Mapped[StoredFile | None] = relationship(
        primaryjoin="and_(StoredFile.copy_id == Copy.id, StoredFile.kind == 'copy', "
                    "StoredFile.superseded_by_id.is_(None))",
        viewonly=True, uselist=False,
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Copy {self.brief_id}/{self.serial}>"

    @property
    def serial(self) -> str:
        """份号: six digits, 000001."""
        return f"{self.number:06d}"

    @property
    def issue_classification(self) -> str:
        return self.brief.classification or ""

    @validates("state")
    def _guard_state(self, key: str, value: str) -> str:
        # The state moves only through workflows.dispatch.apply_copy_transition.
        if self.state is not None and not getattr(self, "_transition_in_progress", False):
            raise AttributeError("Copy.state changes only through apply_copy_transition")
        return CopyState(value).value


class DownloadLink(Base):
    """A signed, expiring, revocable link to one copy's PDF; only the token's hash is kept."""

    __tablename__ = "download_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(ForeignKey("issue_copy.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    copy: Mapped[Copy] = relationship()


class DownloadLog(Base):
    """One successful download of a copy: through a link or from an account."""

    __tablename__ = "download_log"
    __table_args__ = (
        CheckConstraint("link_id IS NOT NULL OR user_id IS NOT NULL", name="names_who"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(ForeignKey("issue_copy.id"), index=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("download_link.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    downloaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User | None] = relationship(lazy="joined")
