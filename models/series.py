from __future__ import annotations

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from workflows.limits import SERIES_NAME_LENGTH
from workflows.numbering import NumberingRules, SupplementNumbering

SUPPLEMENT_VALUES = ", ".join(f"'{v.value}'" for v in SupplementNumbering)


class Series(Base):
    """A bulletin series (刊物), e.g. 领导参阅, configured by an admin."""

    __tablename__ = "series"
    __table_args__ = (
        CheckConstraint("default_print_run > 0", name="positive_print_run"),
        CheckConstraint("first_total_number > 0", name="positive_first_total"),
        CheckConstraint(f"supplement_numbering IN ({SUPPLEMENT_VALUES})", name="known_supplement_numbering"),
        CheckConstraint("default_retention IN ('Y', 'D30', 'D10')", name="known_default_retention"),
        CheckConstraint("correction_mode IN ('notice', 'edition')", name="known_correction_mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(SERIES_NAME_LENGTH), unique=True)
    # One host per line; printed side by side before 主办.
    hosts: Mapped[str] = mapped_column(Text, default="")
    contact_phone: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    default_print_run: Mapped[int] = mapped_column(default=30)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # The 总期号 of the first issue Canyue numbers (a migrated series starts at its real count).
    first_total_number: Mapped[int] = mapped_column(default=1)
    supplement_numbering: Mapped[str] = mapped_column(String(20), default=SupplementNumbering.SHARED.value)
    active: Mapped[bool] = mapped_column(default=True)
    # 密级 levels that are classified in this series (comma-separated, e.g. "秘密"): a published
    # issue at such a level is read only by the roles listed in classified_readers (comma-
    # separated role codes), besides its author, its reviewers, archivists and admins.
    classified_levels: Mapped[str] = mapped_column(String(200), default="", server_default="")
    classified_readers: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # 保管期限 proposed when an issue of this series is filed (changeable at filing).
    default_retention: Mapped[str] = mapped_column(String(4), default="Y", server_default="Y")
    # How a correction (更正) of an issue is issued: as a correction notice, an issue of its own
    # (notice), or as a 更正版 of the issue under its own numbers, superseding its files (edition).
    correction_mode: Mapped[str] = mapped_column(String(10), default="notice", server_default="notice")
    # How many working days each step may take (inbox/due.py); None: no limit.
    review_days: Mapped[int | None] = mapped_column(default=3)
    signoff_days: Mapped[int | None] = mapped_column(default=2)
    publish_days: Mapped[int | None] = mapped_column(default=2)
    archive_days: Mapped[int | None] = mapped_column(default=None)
    # Bumped by every publish: the UPDATE is the series' numbering lock (see publishing/).
    numbering_lock: Mapped[int] = mapped_column(default=0)
    # Edits of the settings are optimistic-locked like briefs.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Series {self.name}>"

    @property
    def host_list(self) -> list[str]:
        return [line.strip() for line in self.hosts.splitlines() if line.strip()]

    @property
    def classified_level_set(self) -> frozenset[str]:
        return frozenset(v.strip() for v in self.classified_levels.split(",") if v.strip())

    @property
    def classified_reader_set(self) -> frozenset[str]:
        return frozenset(v.strip() for v in self.classified_readers.split(",") if v.strip())

    @property
    def numbering_rules(self) -> NumberingRules:
        return NumberingRules(
            first_total=self.first_total_number,
            supplements=SupplementNumbering(self.supplement_numbering),
            timezone=self.timezone,
        )
