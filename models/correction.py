from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.types import UTCDateTime, utcnow
from workflows.correction import CorrectionState

CORRECTION_STATE_VALUES = ", ".join(f"'{s.value}'" for s in CorrectionState)
PENDING = f"state = '{CorrectionState.PENDING.value}'"


class Correction(Base):
    """A correction of an issued brief's date and numbers (workflows/correction.py): asked for
    by an editor, then applied, withdrawn or rejected. The values the brief had when it was
    asked for are kept beside the new ones; each move is also an audit event of the brief."""

    __tablename__ = "correction"
    __table_args__ = (
        CheckConstraint(f"state IN ({CORRECTION_STATE_VALUES})", name="known_state"),
        CheckConstraint("new_issue_number > 0 AND new_total_number > 0", name="positive_numbers"),
        CheckConstraint(
            "new_issue_date != old_issue_date OR new_issue_number != old_issue_number"
            " OR new_total_number != old_total_number",
            name="changes_something",
        ),
        CheckConstraint(f"{PENDING} OR (decided_by_name IS NOT NULL AND decided_at IS NOT NULL)",
                        name="settled_has_decider"),
        # One request waits per brief at a time.
        Index("ix_correction_one_pending", "brief_id", unique=True,
              sqlite_where=text(PENDING), postgresql_where=text(PENDING)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("brief.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default=CorrectionState.PENDING.value)
    old_issue_date: Mapped[date]
    old_issue_number: Mapped[int]
    old_total_number: Mapped[int]
    new_issue_date: Mapped[date]
    new_issue_number: Mapped[int]
    new_total_number: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_by_name: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_by_name: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<Correction {self.id} of brief {self.brief_id} {self.state}>"
