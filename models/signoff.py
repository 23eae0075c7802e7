"""代签 and the leaders' 批示: who acts for whom, paper sign-offs, instructions and their follow-up."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.types import UTCDateTime, utcnow
from workflows.instructions import INSTRUCTION_KINDS
from workflows.limits import PERSON_NAME_LENGTH

if TYPE_CHECKING:
    from models.files import StoredFile
    from models.user import User

KIND_VALUES = ", ".join(f"'{k}'" for k in INSTRUCTION_KINDS)


class SecretaryLink(Base):
    """A secretary acts for this leader (set by the security administrator)."""

    __tablename__ = "secretary_link"
    __table_args__ = (CheckConstraint("secretary_id != leader_id", name="not_oneself"),)

    secretary_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    secretary: Mapped[User] = relationship(foreign_keys=[secretary_id], lazy="joined")
    leader: Mapped[User] = relationship(foreign_keys=[leader_id], lazy="joined")


class PaperSignoff(Base):
    """A sign-off made on the paper 签发单 and recorded by a secretary (代签)."""

    __tablename__ = "paper_signoff"

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("brief.id"), index=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    leader_name: Mapped[str] = mapped_column(String(PERSON_NAME_LENGTH))
    secretary_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    secretary_name: Mapped[str] = mapped_column(String(PERSON_NAME_LENGTH))
    signed_on: Mapped[date]  # the date the leader wrote on the sheet
    opinion: Mapped[str] = mapped_column(Text, default="")  # as written
    scan_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    event_seq: Mapped[int | None]

    scan: Mapped[StoredFile] = relationship(lazy="joined")


class Instruction(Base):
    """领导批示: what a leader wrote on an issue, as registered by an editor or a clerk."""

    __tablename__ = "instruction"
    __table_args__ = (CheckConstraint(f"kind IN ({KIND_VALUES})", name="known_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("brief.id"), index=True)
    leader_name: Mapped[str] = mapped_column(String(PERSON_NAME_LENGTH))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipient.id", ondelete="SET NULL"))
    level: Mapped[str] = mapped_column(String(40), index=True)
    given_on: Mapped[date]
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    scan: Mapped[StoredFile | None] = relationship(lazy="joined")
    registered_by: Mapped[User] = relationship(lazy="joined")
    follow_up: Mapped[FollowUp | None] = relationship(back_populates="instruction", uselist=False, lazy="joined")


class FollowUp(Base):
    """批示落实: who carries out an instruction that asks for action, by when, and how it goes."""

    __tablename__ = "instruction_follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    instruction_id: Mapped[int] = mapped_column(ForeignKey("instruction.id"), unique=True)
    responsible_name: Mapped[str] = mapped_column(String(PERSON_NAME_LENGTH))
    # The account that answers for it (an editor), whose inbox shows it when overdue.
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    due_on: Mapped[date]
    done: Mapped[bool] = mapped_column(default=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    instruction: Mapped[Instruction] = relationship(back_populates="follow_up", lazy="joined")
    owner: Mapped[User] = relationship(lazy="joined")
    notes: Mapped[list[FollowUpNote]] = relationship(order_by="FollowUpNote.id", lazy="selectin")


class FollowUpNote(Base):
    __tablename__ = "instruction_follow_up_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("instruction_follow_up.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    author_name: Mapped[str] = mapped_column(String(PERSON_NAME_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    text: Mapped[str] = mapped_column(Text)
