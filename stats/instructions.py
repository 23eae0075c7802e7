"""The 批示 figures of the statistics page: the hook for the instructions feature (领导批示).

Until the instructions model is part of the application, `available()` is False and the page
says that no 批示 are recorded yet; the other figures do not depend on it. When it lands, this
module is the one place to connect it: `available()` returns True and `figures()` answers, per
(issue year, series id) — series id None for a year over every series when `by_series` is
False — ({leader level: number of 批示}, number of issues with at least one 批示), counting
the 批示 of the issues `stats.figures._issued(filters)` selects, in one aggregate, e.g.:

    SELECT b.issue_year, b.series_id, i.level, count(*), count(DISTINCT b.id)
      FROM instruction i JOIN brief b ON b.id = i.brief_id
     WHERE <_issued(filters)> GROUP BY b.issue_year, b.series_id, i.level
    (and count(DISTINCT b.id) grouped without the level, for the issues with ≥ 1 批示)

The leader levels' configured order is passed to `stats.figures.compute(levels=...)`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def available() -> bool:
    """Whether 批示 are recorded by this installation (the instructions model is present)."""
    return False


def figures(session: Session, filters: Any, by_series: bool) -> dict[tuple[int, int | None], tuple[dict[str, int], int]]:
    """{(year, series id or None): ({level: 批示}, issues with ≥ 1 批示)}; see the module's text."""
    return {}


def levels() -> list[str]:
    """The leader levels in their configured order (省部级, 市委书记/市长, …)."""
    return []
