from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.types import UTCDateTime


class AuditEvent(Base):
    """One line of a brief's history. Append-only; hash-chained per brief (workflows.audit)."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("brief_id", "seq", name="uq_audit_event_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("brief.id"), index=True)
    seq: Mapped[int]  # 1, 2, ... within the brief's chain
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


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(mapper: object, connection: object, target: AuditEvent) -> None:
    raise PermissionError("audit events are append-only")
