from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.types import UTCDateTime


class AuditEvent(Base):
    """One line of the history: append-only, keyed and chained per brief and across the whole
    installation (workflows.audit). Events without a brief are the installation's own
    (the checkpoint that seals the legacy events)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("brief_id", "seq", name="uq_audit_event_seq"),
        UniqueConstraint("global_seq", name="uq_audit_event_global_seq"),
        CheckConstraint("(brief_id IS NULL) = (seq IS NULL)", name="brief_event_has_seq"),
        # 成果统计 counts returns and send-backs by action and year (stats/figures.py).
        Index("ix_audit_event_action", "action", "created_at", "brief_id"),
        # 已办: the events a user made, newest first (inbox/).
        Index("ix_audit_event_actor", "actor_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int | None] = mapped_column(ForeignKey("brief.id"), index=True)
    seq: Mapped[int | None]  # 1, 2, ... within the brief's chain
    subject_type: Mapped[str] = mapped_column(String(20), default="brief")  # brief, or copy
    subject_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int | None]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The installation's chain: 1, 2, ... over every event, and the hash of the one before.
    global_seq: Mapped[int]
    global_prev_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))  # which audit key made `hash`; "legacy": none


class AuditChain(Base):
    """The head of the installation's chain (one row). Its UPDATE is the lock every writer of
    an event takes, so events get gap-free global numbers in commit order."""

    __tablename__ = "audit_chain"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(default=0)  # the latest event's global_seq
    head: Mapped[str] = mapped_column(String(64))  # the latest event's hash
    # False while events written before keys existed wait for their checkpoint.
    legacy_sealed: Mapped[bool] = mapped_column(default=True)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(mapper: object, connection: object, target: AuditEvent) -> None:
    raise PermissionError("audit events are append-only")
