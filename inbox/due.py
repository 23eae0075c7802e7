"""Due dates: how long each step may take (the series' allowance in working days, counted
from when the brief entered the step) and the brief's own deadline (urgent issues), whichever
comes first, kept in `brief.due_on` so that the inbox marks and sorts overdue items in SQL."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Brief, DayOff, Series
from models.types import utcnow
from workflows.brief import State
from workflows.workdays import add_working_days

# The series' allowance for the step a brief in this state is at.
ALLOWANCE_FIELDS: dict[State, str] = {
    State.IN_REVIEW: "review_days",
    State.AWAITING_SIGNOFF: "signoff_days",
    State.SIGNED: "publish_days",
    State.PUBLISHED: "archive_days",
}
# States in which a brief is still on its way (its own deadline counts).
DEADLINE_STATES = frozenset({State.DRAFT, State.IN_REVIEW, State.AWAITING_SIGNOFF, State.SIGNED})


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(moment: datetime, timezone: str = "Asia/Shanghai") -> date:
    return moment.astimezone(_zone(timezone)).date()


def today(timezone: str = "Asia/Shanghai") -> date:
    return local_date(utcnow(), timezone)


def days_off(session: Session) -> frozenset[date]:
    return frozenset(session.scalars(select(DayOff.day)))


def step_due(brief: Any, series: Any, since: datetime, off: frozenset[date]) -> date | None:
    """When the step a brief in its state is at falls due, from the series' allowance."""
    field = ALLOWANCE_FIELDS.get(State(brief.state))
    allowance = getattr(series, field) if field else None
    if allowance is None:
        return None
    return add_working_days(local_date(since, series.timezone), allowance, off)


def compute_due(brief: Any, series: Any, off: frozenset[date]) -> date | None:
    due = step_due(brief, series, brief.state_since or brief.updated_at or utcnow(), off)
    if brief.deadline is not None and State(brief.state) in DEADLINE_STATES:
        due = brief.deadline if due is None else min(due, brief.deadline)
    return due


def refresh(session: Session, brief: Brief, off: frozenset[date] | None = None) -> None:
    """Set `brief.due_on` (after a move, a new deadline)."""
    brief.due_on = compute_due(brief, brief.series, days_off(session) if off is None else off)


def refresh_open(session: Session, series_id: int | None = None) -> int:
    """Recompute the due dates of the briefs still waiting for a step (after the series'
    allowances or the days off changed); how many changed."""
    off = days_off(session)
    waiting = [s.value for s in (set(ALLOWANCE_FIELDS) | DEADLINE_STATES)]
    query = select(Brief).where(Brief.state.in_(waiting), Brief.deleted_at.is_(None))
    if series_id is not None:
        query = query.where(Brief.series_id == series_id)
    changed = 0
    series_cache: dict[int, Series] = {}
    for brief in session.scalars(query):
        series = series_cache.setdefault(brief.series_id, brief.series)
        due = compute_due(brief, series, off)
        if due != brief.due_on:
            # A bookkeeping column: not a content change, so the brief's version stays.
            session.execute(Brief.__table__.update().where(Brief.__table__.c.id == brief.id).values(due_on=due))
            changed += 1
    session.flush()
    return changed


def set_deadline(session: Session, brief: Brief, actor: Any, deadline: date | None) -> None:
    """The brief's own deadline (urgent issues), or none; an audit event says which."""
    from workflows.policy import SET_DEADLINE, can
    from workflows.transitions import ActionRefused, record_event

    decision = can(actor, brief, SET_DEADLINE)
    if not decision:
        raise ActionRefused(decision)
    brief.deadline = deadline
    refresh(session, brief)
    record_event(session, brief, "set_deadline", actor, from_state=brief.state, to_state=brief.state,
                 reason=deadline.isoformat() if deadline else "—")
    session.flush()
