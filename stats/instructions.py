"""The 批示 figures of the statistics page (领导批示, instructions/): per (issue year, series id)
— series id None for a year over every series when `by_series` is False — the 批示 received by
leader level and the number of issues with at least one 批示, counted over the issues that
`stats.figures._issued(filters)` selects, in two aggregates."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Brief, Instruction
from workflows.instructions import levels as configured_levels


def figures(session: Session, filters: Any, by_series: bool) -> dict[tuple[int, int | None], tuple[dict[str, int], int]]:
    """{(year, series id or None): ({level: 批示}, issues with ≥ 1 批示)}."""
    from stats.figures import _issued

    b = Brief.__table__.c
    i = Instruction.__table__.c
    group = [b.issue_year] + ([b.series_id] if by_series else [])
    joined = Instruction.__table__.join(Brief.__table__, b.id == i.brief_id)
    where = _issued(filters)

    def key(row: Any) -> tuple[int, int | None]:
        return (row[0], row[1] if by_series else None)

    out: dict[tuple[int, int | None], tuple[dict[str, int], int]] = {}
    by_level = select(*group, i.level, func.count()).select_from(joined).where(*where).group_by(*group, i.level)
    for row in session.execute(by_level):
        counts, _ = out.setdefault(key(row), ({}, 0))
        counts[row[len(group)]] = int(row[len(group) + 1])
    instructed = select(*group, func.count(func.distinct(b.id))).select_from(joined).where(*where).group_by(*group)
    for row in session.execute(instructed):
        counts, _ = out.get(key(row), ({}, 0))
        out[key(row)] = (counts, int(row[len(group)]))
    return out


def levels() -> list[str]:
    """The leader levels in their configured order (省部级, 市委书记/市长, …)."""
    return configured_levels(current_app.config["CANYUE_INSTRUCTION_LEVELS"])
