"""What the inbox, the comment thread, due dates and delegation keep (inbox/, comments/)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.types import UTCDateTime, utcnow
from models.user import User
from workflows.limits import PERSON_NAME_LENGTH


class Comment(Base):
    """One message of a brief's thread (not printed; each is also an audit event of the brief)."""

    __tablename__ = "brief_comment"
    __table_args__ = (Index("ix_brief_comment_brief", "brief_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("brief.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    author_name: Mapped[str] = mapped_column(String(PERSON_NAME_LENGTH))
    body: Mapped[str] = mapped_column(Text)  # Markdown, rendered sanitised like the body
    # The users @mentioned (ids), each of whom may read the brief.
    mentions: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")


class Delegation(Base):
    """委托: from `principal` to `delegate` (who holds the same role) for days `starts_on` to
    `ends_on`, both included; revoked early by setting `revoked_at`."""

    __tablename__ = "delegation"
    __table_args__ = (
        CheckConstraint("principal_id != delegate_id", name="not_oneself"),
        CheckConstraint("ends_on >= starts_on", name="ordered_period"),
        Index("ix_delegation_delegate", "delegate_id", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    delegate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    role: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    principal: Mapped[User] = relationship(foreign_keys=[principal_id], lazy="joined")
    delegate: Mapped[User] = relationship(foreign_keys=[delegate_id], lazy="joined")


class DayOff(Base):
    """A day the organisation does not work beyond China's official holidays (admin's list)."""

    __tablename__ = "day_off"

    day: Mapped[date] = mapped_column(primary_key=True)
    note: Mapped[str] = mapped_column(String(100), default="")
