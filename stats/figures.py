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
- 批示: from the instructions model (stats/instructions.py).

Nothing is read into Python row by row: the medians are window functions (ROW_NUMBER and
COUNT over the group), so the page costs the same few statements over 100 issues or 10,000;
the counts and durations come from one covering index (ix_brief_statistics). What they give
is kept per process for the database's state (`data_stamp`), so looking again costs one read.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
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


def _issued(filters: Filters, table: Any = None) -> list[ColumnElement[bool]]:
    """The issues counted (an issued brief is never a deleted draft)."""
    t = Brief.__table__.c if table is None else table.c
    where = [t.state.in_(ISSUED)]
    if filters.series_id is not None:
        where.append(t.series_id == filters.series_id)
    if filters.year is not None:
        where.append(t.issue_year == filters.year)
    return where


def issue_figures(session: Session, filters: Filters, by_series: bool
                  ) -> dict[tuple[int, int | None], tuple[int, int, int, int, float | None, float | None]]:
    """Per group, in one statement: (issues, 增刊, correction notices, annulled, median days
    submission → sign-off, median days sign-off → publication).

    The inner select reads only columns of the covering index ix_brief_statistics; each median
    ranks its non-null values (ROW_NUMBER, nulls last) against their count (COUNT over the
    group) and averages the one or two middle ones."""
    b = Brief.__table__.c
    values = select(
        b.issue_year, b.series_id, b.supplement, b.corrects_id, b.annulled_at,
        days_between(session, b.signed_at, b.submitted_at).label("to_sign"),
        days_between(session, b.published_at, b.signed_at).label("to_pub"),
    ).where(*_issued(filters)).subquery()
    v = values.c
    group = [v.issue_year] + ([v.series_id] if by_series else [])

    def ranked(column: Any) -> tuple[Any, Any]:
        order = [case((column.is_(None), 1), else_=0), column]
        return (func.row_number().over(partition_by=group, order_by=order),
                func.count(column).over(partition_by=group))

    rank_sign, count_sign = ranked(v.to_sign)
    rank_pub, count_pub = ranked(v.to_pub)
    r = select(*group, v.supplement, v.corrects_id, v.annulled_at, v.to_sign, v.to_pub,
               rank_sign.label("rs"), count_sign.label("ns"), rank_pub.label("rp"), count_pub.label("np")
               ).subquery().c
    rgroup = [r.issue_year] + ([r.series_id] if by_series else [])

    def middle(value: Any, rank: Any, count: Any) -> Any:
        # integer division: the middle rank, or the two middle ranks of an even count
        return func.avg(case((rank.in_([(count + 1) // 2, (count + 2) // 2]), cast(value, Float)), else_=None))

    query = select(
        *rgroup, func.count(), func.sum(case((r.supplement.is_(True), 1), else_=0)),
        func.sum(case((r.corrects_id.is_not(None), 1), else_=0)),
        func.sum(case((r.annulled_at.is_not(None), 1), else_=0)),
        middle(r.to_sign, r.rs, r.ns), middle(r.to_pub, r.rp, r.np),
    ).group_by(*rgroup)
    out = {}
    for row in session.execute(query):
        n = len(rgroup)
        key = (row[0], row[1] if by_series else ALL)
        issues, supplements, notices, annulled, to_sign, to_pub = row[n:]
        out[key] = (int(issues), int(supplements or 0), int(notices or 0), int(annulled or 0),
                    None if to_sign is None else float(to_sign), None if to_pub is None else float(to_pub))
    return out


def returns(session: Session, filters: Filters) -> dict[tuple[int, int | None], tuple[int, int]]:
    """(returns, send-backs) per (UTC year of the event, series), and per year over every
    series (the sums: exact), read from the audit trail by ix_audit_event_action."""
    e, b = AuditEvent.__table__.c, Brief.__table__.c
    year = utc_year(session, e.created_at).label("year")
    where = [e.action.in_(["return", "send_back"])]
    if filters.series_id is not None:
        where.append(b.series_id == filters.series_id)
    query = (select(year, b.series_id, func.sum(case((e.action == "return", 1), else_=0)),
                    func.sum(case((e.action == "send_back", 1), else_=0)))
             .select_from(AuditEvent.__table__.join(Brief.__table__, b.id == e.brief_id))
             .where(*where).group_by(year, b.series_id))
    found: dict[tuple[int, int | None], tuple[int, int]] = {}
    for y, series_id, back, sent in session.execute(query):
        if filters.year is not None and y != filters.year:
            continue
        for key in ((y, series_id), (y, ALL)):
            was = found.get(key, (0, 0))
            found[key] = (was[0] + int(back or 0), was[1] + int(sent or 0))
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


def data_stamp(session: Session) -> tuple[int, str]:
    """What the figures depend on changes only with a move of a brief, and every move of a
    brief writes an audit event: the latest such event (its id, and its chained hash, which no
    other event shares) stamps the figures. Read from the end of the primary key: constant time."""
    latest = session.execute(select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.brief_id.is_not(None))
                             .order_by(AuditEvent.id.desc()).limit(1)).first()
    return (latest[0], latest[1]) if latest else (0, "")


# Per process, the figures last computed for a stamp and filters: a second look at the page,
# with nothing moved since, costs the stamp's read. Derived data only, keyed by the database's
# own state, so every worker answers the same (a worker's first look computes it).
_CACHE: OrderedDict[tuple[Any, ...], tuple[dict[tuple[int, int | None], Row], list[int]]] = OrderedDict()
_CACHE_SIZE = 64
_CACHE_LOCK = threading.Lock()


def _cached_rows(session: Session, filters: Filters) -> tuple[dict[tuple[int, int | None], Row], list[int]]:
    key = (session.get_bind().url.render_as_string(hide_password=True), *data_stamp(session), filters.series_id,
           filters.year)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return copy.deepcopy(found)
    computed = _rows(session, filters)
    with _CACHE_LOCK:
        _CACHE[key] = copy.deepcopy(computed)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return computed


def _rows(session: Session, filters: Filters) -> tuple[dict[tuple[int, int | None], Row], list[int]]:
    years = sorted({y for (y,) in session.execute(
        select(Brief.issue_year).where(Brief.state.in_(ISSUED), Brief.issue_year.is_not(None)).distinct())},
        reverse=True)
    rows: dict[tuple[int, int | None], Row] = {}
    groupings = [True] + ([False] if filters.series_id is None else [])
    moves = returns(session, filters)
    for by_series in groupings:
        counts = issue_figures(session, filters, by_series)
        given = instructions.figures(session, filters, by_series)
        keys = set(counts) | {k for k in moves if (k[1] is not ALL) == by_series}
        for key in keys:
            year, series_id = key
            row = rows.setdefault(key, Row(year, series_id, ""))
            (row.issues, row.supplements, row.notices, row.annulled, row.median_to_signoff,
             row.median_to_publication) = counts.get(key, (0, 0, 0, 0, None, None))
            row.returns, row.send_backs = moves.get(key, (0, 0))
            by_level, instructed = given.get(key, ({}, 0))
            row.instructions_by_level, row.instructed_issues = dict(by_level), instructed
    return rows, years


def compute(session: Session, filters: Filters, *, levels: Sequence[str] = (), all_authors: bool = False) -> Figures:
    """Every figure of the page: a row per year and series, and per year over every series
    when no series is chosen. The issues by author are those of the year chosen, else of the
    latest year (the page), or of every year (`all_authors`: the exports)."""
    series = [(s.id, s.name) for s in session.scalars(select(Series).order_by(Series.id))]
    names = dict(series)
    rows, years = _cached_rows(session, filters)
    for row in rows.values():
        row.series_name = names.get(row.series_id, "") if row.series_id is not None else ""
    if len({r.series_id for r in rows.values() if r.series_id is not None}) <= 1:
        rows = {k: r for k, r in rows.items() if r.series_id is not None}  # one series: its rows are the total
    ordered = sorted(rows.values(), key=lambda r: (-r.year, r.series_id is None, names.get(r.series_id or 0, "")))
    used = {level for r in ordered for level in r.instructions_by_level}
    level_order = [lv for lv in levels if lv in used] + sorted(used - set(levels))
    author_filters = filters
    if not all_authors and filters.year is None and years:
        author_filters = Filters(series_id=filters.series_id, year=years[0])
    return Figures(ordered, authors(session, author_filters), level_order, years, series)

