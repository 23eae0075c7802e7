"""Publishing is one pipeline (DESIGN.md, "Publishing is one pipeline").

`publish` takes the series' numbering lock, runs the steps in order and commits; if any
step fails, everything rolls back: no number consumed, no file left, the brief still
`signed`. Later features add steps to `STEPS` (render and store the PDF, create the
copies); they do not write a second path. A step that writes files registers a cleanup,
run on rollback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import Brief, Series
from workflows.brief import State
from workflows.i18n import N_
from workflows.numbering import IssueNumbers, backdating_error, local_date, next_numbers, sequence_for
from workflows.policy import can
from workflows.transitions import ActionRefused, InvalidAction, StaleBrief, apply_transition


class PublishError(Exception):
    """A step failed; the message is for the editor, and nothing was kept."""


@dataclass
class PublishContext:
    session: Session
    brief: Brief
    series: Series
    actor: Any
    issue_date: date
    numbers: IssueNumbers | None = None
    cleanups: list[Callable[[], None]] = field(default_factory=list)


Step = Callable[[PublishContext], None]


def lock_series_numbering(session: Session, series_id: int) -> None:
    """The series' numbering lock, held until commit or rollback.

    An UPDATE of the series row: PostgreSQL row-locks it, SQLite takes its write lock, so a
    second publisher of the series waits here. Readers never wait on it.
    """
    session.execute(
        update(Series).where(Series.id == series_id).values(numbering_lock=Series.numbering_lock + 1)
    )


def allocate_numbers(ctx: PublishContext) -> None:
    session, brief, series = ctx.session, ctx.brief, ctx.series
    latest = session.scalar(
        select(func.max(Brief.issue_date)).where(Brief.series_id == series.id, Brief.issue_date.is_not(None))
    )
    error = backdating_error(ctx.issue_date, latest)
    if error:
        raise InvalidAction(error)
    rules = series.numbering_rules
    sequence = sequence_for(rules, brief.supplement)
    held = (Brief.series_id == series.id) & (Brief.number_sequence == sequence.value)
    highest_issue = session.scalar(
        select(func.max(Brief.issue_number)).where(held, Brief.issue_year == ctx.issue_date.year)
    )
    highest_total = session.scalar(select(func.max(Brief.total_number)).where(held))
    ctx.numbers = next_numbers(rules, sequence, ctx.issue_date, highest_issue, highest_total)
    brief.number_sequence = sequence.value
    brief.issue_year = ctx.numbers.year
    brief.issue_number = ctx.numbers.issue
    brief.total_number = ctx.numbers.total
    brief.issue_date = ctx.issue_date


def settle_print_run(ctx: PublishContext) -> None:
    # Until distribution creates the copies, 共印 is the series' default print run.
    ctx.brief.print_run = ctx.series.default_print_run


def record_publication(ctx: PublishContext) -> None:
    apply_transition(ctx.session, ctx.brief, "publish", ctx.actor)


STEPS: list[Step] = [allocate_numbers, settle_print_run, record_publication]


def default_issue_date(brief: Brief) -> date | None:
    """The sign-off date in the series' time zone (成文日期)."""
    if brief.signed_at is None:
        return None
    return local_date(brief.signed_at, brief.series.timezone)


def publish(
    session: Session,
    brief_id: int,
    actor: Any,
    *,
    issue_date: date | None = None,
    expected_version: int | None = None,
    steps: list[Step] | None = None,
) -> Brief:
    """Publish a signed brief as one unit, committing on success."""
    # The lock must be the transaction's first write, so start from a clean session: any
    # object loaded before is reloaded after the lock, as the winner of a race left it.
    session.rollback()
    brief = session.get(Brief, brief_id)
    if brief is None:
        raise LookupError(brief_id)
    ctx: PublishContext | None = None
    try:
        decision = can(actor, brief, "publish")
        if not decision:
            raise ActionRefused(decision)
        lock_series_numbering(session, brief.series_id)
        session.refresh(brief)
        if expected_version is not None and brief.version != expected_version:
            raise StaleBrief(N_("Someone else changed this brief after you opened it."))
        if brief.state != State.SIGNED.value:
            raise ActionRefused(can(actor, brief, "publish"))
        chosen_date = issue_date or default_issue_date(brief)
        assert chosen_date is not None  # a signed brief has signed_at (check constraint)
        ctx = PublishContext(session, brief, brief.series, actor, chosen_date)
        for step in steps if steps is not None else STEPS:
            step(ctx)
        session.flush()
        session.commit()
    except BaseException:
        session.rollback()
        for cleanup in reversed(ctx.cleanups if ctx else []):
            cleanup()
        raise
    return brief
