"""Issue numbering rules (DESIGN.md, "Bulletin series and numbering").

Pure rules; the publishing pipeline reads the numbers already held under the series'
numbering lock and asks these functions for the next ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from workflows import limits
from workflows.i18n import N_


class SupplementNumbering(StrEnum):
    SHARED = "shared"  # a 增刊 takes the next regular number (as in the reference brief)
    SEPARATE = "separate"  # 增刊 have their own 期号 and 总期号 sequence


class Sequence(StrEnum):
    REGULAR = "regular"
    SUPPLEMENT = "supplement"


SUPPLEMENT_NUMBERING_LABELS = {
    SupplementNumbering.SHARED: N_("Supplements take the next regular number"),
    SupplementNumbering.SEPARATE: N_("Supplements have their own sequence"),
}


@dataclass(frozen=True)
class NumberingRules:
    first_total: int
    supplements: SupplementNumbering
    timezone: str


@dataclass(frozen=True)
class IssueNumbers:
    sequence: Sequence
    year: int
    issue: int  # 期号, restarts each calendar year
    total: int  # 总期号, counts on across years


def sequence_for(rules: NumberingRules, supplement: bool) -> Sequence:
    if supplement and rules.supplements is SupplementNumbering.SEPARATE:
        return Sequence.SUPPLEMENT
    return Sequence.REGULAR


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar date of `moment` in the series' time zone."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def next_numbers(
    rules: NumberingRules,
    sequence: Sequence,
    issue_date: date,
    highest_issue_in_year: int | None,
    highest_total: int | None,
) -> IssueNumbers:
    """One past the highest numbers held (imported past issues included).

    The configured starting 总期号 belongs to the regular sequence; a separate 增刊 sequence
    counts from 1.
    """
    issue = (highest_issue_in_year or 0) + 1
    start = rules.first_total if sequence is Sequence.REGULAR else 1
    total = max((highest_total or 0) + 1, start)
    return IssueNumbers(sequence, issue_date.year, issue, total)


def backdating_error(issue_date: date, latest_issue_date: date | None) -> str | None:
    if latest_issue_date is not None and issue_date < latest_issue_date:
        return N_("The issue date is earlier than the series' latest published issue.")
    return None


# What the columns hold and what a bulletin can plausibly reach: defined with every other bound in
# workflows/limits.py (forms, import and publish read them), named here too for the numbering rules.
MAX_ISSUE_NUMBER = limits.MAX_ISSUE_NUMBER  # 期号 within a year
MAX_TOTAL_NUMBER = limits.MAX_TOTAL_NUMBER  # 总期号
EARLIEST_YEAR = limits.EARLIEST_YEAR


def horizon_error(issue_date: date, today: date, horizon_days: int) -> str | None:
    """An issue date far ahead is a typing error, and would make every later issue 'earlier'."""
    if (issue_date - today).days > horizon_days:
        return N_("The issue date is too far in the future (more than %(days)d days ahead).")
    if issue_date.year < EARLIEST_YEAR:
        return N_("The issue date is before %(year)d.")
    return None


def numbers_error(numbers: IssueNumbers) -> str | None:
    return number_domain_error(numbers.issue, numbers.total)


def number_domain_error(issue: int, total: int) -> str | None:
    """期号 and 总期号 as typed (a correction) or allocated (a publish) must fit the columns."""
    if not 0 < issue <= MAX_ISSUE_NUMBER:
        return N_("期号 must be between 1 and 9999.")
    if not 0 < total <= MAX_TOTAL_NUMBER:
        return N_("总期号 must be between 1 and 999999.")
    return None
