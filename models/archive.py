from __future__ import annotations

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class ArchiveSequence(Base):
    """One 件号 sequence (全宗/年度/保管期限): where it starts, and the row whose UPDATE is the
    sequence's lock while an issue is filed."""

    __tablename__ = "archive_sequence"
    __table_args__ = (
        CheckConstraint("first_item > 0", name="positive_first_item"),
        CheckConstraint("retention IN ('Y', 'D30', 'D10')", name="known_retention"),
    )

    fonds_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    retention: Mapped[str] = mapped_column(String(4), primary_key=True)
    first_item: Mapped[int] = mapped_column(default=1)
    lock: Mapped[int] = mapped_column(default=0)
