"""成果统计: the year-end figures, per year and per series, each one SQL aggregate.

What counts (the README's "Statistics" section says the same):
- issues: briefs that were issued (published, filed, or annulled after publication), by the
  year of their issue date (`issue_year`); of them, 增刊, correction notices, and annulled;
- briefs by author: those issues per author (the account that wrote it, 撰稿人) and author
  line as printed (署名);
- median days from submission (the first `submit`) to sign-off, and from sign-off to
  publication, over the issues that have both moments (imported past issues have neither);
  the median of an even count is the mean of the two middle values;
- returns (退回修改) and send-backs (退回审核): the audit events of those moves on the series'
  briefs, by the UTC year of the event;
- 批示: from the instructions model when it is there (stats/instructions.py).

Nothing is read into Python row by row: the medians are window functions (ROW_NUMBER and
COUNT over the group), so the page costs the same few statements over 100 issues or 10,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, Integer, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from models import AuditEvent, Brief, Series, User
from stats import instructions
from workflows.brief import NUMBERED_STATES

ISSUED = [s.value for s in NUMBERED_STATES]
ALL = None  # the series key of a year's row over every series


@dataclass
class Filters:
    series_id: int | None = None
    year: int | None = None


@dataclass
class Row:
    """One year of one series (series_id None: every series together)."""

    year: int
    series_id: int | None
    series_name: str
    issues: int = 0
    supplements: int = 0
    notices: int = 0
    annulled: int = 0
    median_to_signoff: float | None = None
    median_to_publication: float | None = None
    returns: int = 0
    send_backs: int = 0
    instructions_by_level: dict[str, int] = field(default_factory=dict)
    instructed_issues: int | None = None  # None: no 批示 model yet

    @property
    def instructions(self) -> int | None:
        return None if self.instructed_issues is None else sum(self.instructions_by_level.values())

    @property
    def instruction_rate(self) -> float | None:
        if self.instructed_issues is None or not self.issues:
            return None
        return self.instructed_issues / self.issues


@dataclass
class AuthorRow:
    year: int
    series_id: int
    series_name: str
    author: str  # 撰稿人: the account's name
    author_line: str  # 署名 as printed
    issues: int


@dataclass
class Figures:
    rows: list[Row]
    authors: list[AuthorRow]
    levels: list[str]  # the leader levels that occur, in their configured order
    instructions_available: bool
    years: list[int]
    series: list[tuple[int, str]]


def days_between(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """(later − earlier) in days, as a float, in the engine's own date arithmetic."""
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return func.extract("epoch", later - earlier) / 86400.0


def utc_year(session: Session, moment: Any) -> ColumnElement[int]:
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%Y", moment), Integer)
    return cast(func.extract("year", func.timezone("UTC", moment)), Integer)


def _issued(filters: Filters) -> list[ColumnElement[bool]]:
    where = [Brief.state.in_(ISSUED), Brief.deleted_at.is_(None)]
    if filters.series_id is not None:
        where.append(Brief.series_id == filters.series_id)
    if filters.year is not None:
        where.append(Brief.issue_year == filters.year)
    return where


def _keys(by_series: bool) -> list[Any]:
    return [Brief.issue_year, Brief.series_id] if by_series else [Brief.issue_year]


def _key(row: Any, by_series: bool) -> tuple[int, int | None]:
    return (row[0], row[1] if by_series else ALL)


def issue_counts(session: Session, filters: Filters, by_series: bool) -> dict[tuple[int, int | None], tuple[int, ...]]:
    keys = _keys(by_series)
    query = select(
        *keys,
        func.count(Brief.id),
        func.sum(case((Brief.supplement.is_(True), 1), else_=0)),
        func.sum(case((Brief.corrects_id.is_not(None), 1), else_=0)),
        func.sum(case((Brief.annulled_at.is_not(None), 1), else_=0)),
    ).where(*_issued(filters)).group_by(*keys)
    return {_key(r, by_series): tuple(int(v or 0) for v in r[len(keys):]) for r in session.execute(query)}


def medians(session: Session, filters: Filters, by_series: bool, later: Any, earlier: Any
            ) -> dict[tuple[int, int | None], float]:
    """The median of (later − earlier) in days per group, by window functions."""
    keys = _keys(by_series)
    value = days_between(session, later, earlier).label("v")
    values = select(*keys, value).where(*_issued(filters), later.is_not(None), earlier.is_not(None)).subquery()
    group = [values.c.issue_year] + ([values.c.series_id] if by_series else [])
    ranked = select(
        *group, values.c.v,
        func.row_number().over(partition_by=group, order_by=values.c.v).label("rn"),
        func.count().over(partition_by=group).label("n"),
    ).subquery()
    rgroup = [ranked.c.issue_year] + ([ranked.c.series_id] if by_series else [])
    middle = ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])  # integer division
    query = select(*rgroup, func.avg(cast(ranked.c.v, Float))).where(middle).group_by(*rgroup)
    return {_key(r, by_series): float(r[-1]) for r in session.execute(query)}


def returns(session: Session, filters: Filters, by_series: bool) -> dict[tuple[int, int | None], tuple[int, int]]:
    year = utc_year(session, AuditEvent.created_at).label("year")
    keys: list[Any] = [year] + ([Brief.series_id] if by_series else [])
    where = [AuditEvent.action.in_(["return", "send_back"]), Brief.deleted_at.is_(None)]
    if filters.series_id is not None:
        where.append(Brief.series_id == filters.series_id)
    query = (select(*keys, func.sum(case((AuditEvent.action == "return", 1), else_=0)),
                    func.sum(case((AuditEvent.action == "send_back", 1), else_=0)))
             .join(Brief, Brief.id == AuditEvent.brief_id).where(*where).group_by(*keys))
    found = {_key(r, by_series): (int(r[-2] or 0), int(r[-1] or 0)) for r in session.execute(query)}
    if filters.year is not None:
        found = {k: v for k, v in found.items() if k[0] == filters.year}
    return found


def authors(session: Session, filters: Filters) -> list[AuthorRow]:
    query = (select(Brief.issue_year, Brief.series_id, Series.name, User.display_name, Brief.author_line,
                    func.count(Brief.id).label("n"))
             .join(Series, Series.id == Brief.series_id).join(User, User.id == Brief.author_id)
             .where(*_issued(filters))
             .group_by(Brief.issue_year, Brief.series_id, Series.name, User.display_name, Brief.author_line)
             .order_by(Brief.issue_year.desc(), Series.name, func.count(Brief.id).desc(), User.display_name,
                       Brief.author_line))
    return [AuthorRow(y, s, name, author, line, int(n)) for y, s, name, author, line, n in session.execute(query)]


def compute(session: Session, filters: Filters, *, levels: Sequence[str] = ()) -> Figures:
    """Every figure of the page: a row per year and series, and per year over every series
    when no series is chosen."""
    series = [(s.id, s.name) for s in session.scalars(select(Series).order_by(Series.id))]
    names = dict(series)
    years = sorted({y for (y,) in session.execute(
        select(Brief.issue_year).where(Brief.state.in_(ISSUED), Brief.issue_year.is_not(None)).distinct())},
        reverse=True)
    available = instructions.available()
    rows: dict[tuple[int, int | None], Row] = {}
    groupings = [True] + ([False] if filters.series_id is None else [])
    for by_series in groupings:
        counts = issue_counts(session, filters, by_series)
        to_sign = medians(session, filters, by_series, Brief.signed_at, Brief.submitted_at)
        to_publish = medians(session, filters, by_series, Brief.published_at, Brief.signed_at)
        moves = returns(session, filters, by_series)
        given = instructions.figures(session, filters, by_series) if available else {}
        for key in set(counts) | set(moves):
            year, series_id = key
            row = rows.setdefault(key, Row(year, series_id, names.get(series_id, "") if series_id else ""))
            row.issues, row.supplements, row.notices, row.annulled = counts.get(key, (0, 0, 0, 0))
            row.median_to_signoff = to_sign.get(key)
            row.median_to_publication = to_publish.get(key)
            row.returns, row.send_backs = moves.get(key, (0, 0))
            if available:
                by_level, instructed = given.get(key, ({}, 0))
                row.instructions_by_level, row.instructed_issues = dict(by_level), instructed
    ordered = sorted(rows.values(), key=lambda r: (-r.year, r.series_id is None, names.get(r.series_id or 0, "")))
    used = {level for r in ordered for level in r.instructions_by_level}
    level_order = [lv for lv in levels if lv in used] + sorted(used - set(levels))
    return Figures(ordered, authors(session, filters), level_order, available, years, series)

