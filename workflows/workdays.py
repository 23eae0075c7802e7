"""Working days: China's official calendar (holidays and the 调休 make-up days on which a
weekend is worked, from the maintained `chinesecalendar` package) less the organisation's own
days off. Pure: the days off are given by the caller (inbox/due.py reads them)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

import chinese_calendar

# A step's allowance is counted in working days; past this many calendar days it stops looking.
_HORIZON = 400


def is_working_day(day: date, days_off: Collection[date] = ()) -> bool:
    if day in days_off:
        return False
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year the package does not know yet: Monday to Friday
        return day.weekday() < 5


def add_working_days(start: date, days: int, days_off: Collection[date] = ()) -> date:
    """The day `days` working days after `start` (not counting `start` itself): a step begun
    on `start` with an allowance of `days` is due by the end of that day. 0: `start` itself."""
    day = start
    left = days
    for _ in range(_HORIZON):
        if left <= 0:
            return day
        day += timedelta(days=1)
        if is_working_day(day, days_off):
            left -= 1
    return day


def working_days_between(start: date, end: date, days_off: Collection[date] = ()) -> int:
    """How many working days after `start` up to and including `end` (0 if end <= start)."""
    count, day = 0, start
    while day < end and count < _HORIZON:
        day += timedelta(days=1)
        count += is_working_day(day, days_off)
    return count
