"""Corrections of an issued brief's date and numbers (workflows/correction.py), applied to the
database.

`request_correction` checks the new values under the series' numbering lock and records the
request with its move; `confirm_correction` applies it as a run of the publish pipeline
(publishing.pipeline.run_pipeline) with its own steps: outside the write lock the master and
every copy are made again by the pipeline's own render_master, stamp_copies and store_files,
for the new values; under the numbering lock the values are checked again, the move applies
them (its effect, in the lifecycle table) and the new files are recorded, each old one
superseded by its successor and kept. Withdrawing and rejecting a request are plain moves of
the table (views: the brief page's action forms).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from models import Brief, Copy, Correction, StoredFile
from models.types import utcnow
from publishing.pipeline import (
    NumbersMoved,
    PublishContext,
    Step,
    copy_name,
    lock_series_numbering,
    master_name,
    render_master,
    run_pipeline,
    stamp_copies,
    store_files,
)
from workflows.correction import (
    CorrectionState,
    IssueFacts,
    archive_code_note,
    confirmation_record,
    facts_of,
    order_error,
    proposal_error,
    proposed_facts,
    request_record,
)
from workflows.distribution import PlannedCopy
from workflows.i18n import N_
from workflows.numbering import EARLIEST_YEAR, horizon_error, local_date
from workflows.transitions import InvalidAction, apply_transition, begin_locked_move

# The note a confirmation adds when an imported original PDF stays the master.
ORIGINAL_KEPT = "原件 PDF 保留为档案正本，未重新生成"


def check_values(session: Session, brief: Brief, new: IssueFacts) -> None:
    """The new values are acceptable now (else InvalidAction): they change something and fit
    the columns, the date is within the horizon, the numbers are free in the brief's series
    and sequence, and dates still rise with the 总期号. Decisive under the numbering lock."""
    old = facts_of(brief)
    error = proposal_error(old, new)
    if error:
        raise InvalidAction(error)
    horizon = current_app.config["CANYUE_ISSUE_DATE_HORIZON_DAYS"]
    error = horizon_error(new.issue_date, local_date(utcnow(), brief.series.timezone), horizon)
    if error:
        raise InvalidAction(error, days=horizon, year=EARLIEST_YEAR)
    others = ((Brief.series_id == brief.series_id) & (Brief.number_sequence == brief.number_sequence)
              & (Brief.id != brief.id))
    if session.scalar(select(Brief.id).where(others, Brief.issue_year == new.year, Brief.issue_number == new.issue)
                      .limit(1)) is not None:
        raise InvalidAction(N_("No. %(issue)d of %(year)d is already held by another issue of this series."),
                            issue=new.issue, year=new.year)
    if session.scalar(select(Brief.id).where(others, Brief.total_number == new.total).limit(1)) is not None:
        raise InvalidAction(N_("Overall No. %(total)d is already held by another issue of this series."),
                            total=new.total)
    if (new.issue_date, new.total) != (old.issue_date, old.total):
        latest_lower = session.scalar(select(func.max(Brief.issue_date)).where(others, Brief.total_number < new.total))
        earliest_higher = session.scalar(
            select(func.min(Brief.issue_date)).where(others, Brief.total_number > new.total))
        out_of_order = order_error(new, latest_lower, earliest_higher)
        if out_of_order:
            message, in_the_way = out_of_order
            raise InvalidAction(message, date=in_the_way.isoformat())


def request_correction(
    session: Session,
    brief_id: int,
    actor: Any,
    *,
    issue_date: date,
    issue_number: int,
    total_number: int,
    reason: str | None,
    expected_version: int | None = None,
) -> Correction:
    """Ask for a correction of an issued brief, committing on success."""
    brief, _ = begin_locked_move(
        session, brief_id, actor, "request_correction", lambda b: lock_series_numbering(session, b.series_id),
        expected_version=expected_version,
    )
    try:
        reason = (reason or "").strip()
        if not reason:
            raise InvalidAction(N_("Please give a reason."))
        old, new = facts_of(brief), IssueFacts(issue_date, issue_number, total_number)
        check_values(session, brief, new)
        now = utcnow()
        apply_transition(session, brief, "request_correction", actor, comment=request_record(old, new, reason), now=now)
        correction = Correction(
            brief_id=brief.id, state=CorrectionState.PENDING.value,
            old_issue_date=old.issue_date, old_issue_number=old.issue, old_total_number=old.total,
            new_issue_date=new.issue_date, new_issue_number=new.issue, new_total_number=new.total,
            reason=reason, requested_by_id=actor.id, requested_by_name=actor.display_name, requested_at=now,
        )
        session.add(correction)
        session.flush()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return correction


# --- confirming: a run of the publish pipeline ------------------------------------------------


@dataclass
class CorrectionContext(PublishContext):
    correction_id: int | None = None
    old: IssueFacts | None = None
    new: IssueFacts | None = None
    opinion: str | None = None
    # An imported issue's original PDF is the record of what was printed: it stays the master.
    keep_original: bool = False


def copies_as_printed(session: Session, brief: Brief) -> list[PlannedCopy]:
    """The issue's copies as they were made: their 份号 and recipients, to be stamped again."""
    copies = session.scalars(select(Copy).where(Copy.brief_id == brief.id).order_by(Copy.number))
    return [PlannedCopy(number=c.number, category=c.category, medium=c.medium, recipient_id=c.recipient_id,
                        label=c.recipient_label, name=c.recipient_name, title=c.recipient_title,
                        organisation=c.recipient_organisation) for c in copies]


def _set_facts(brief: Brief, facts: IssueFacts) -> None:
    brief.issue_date = facts.issue_date
    brief.issue_year = facts.year
    brief.issue_number = facts.issue
    brief.total_number = facts.total


def plan_correction(ctx: PublishContext) -> None:
    """Before any lock: the values are checked as things stand (so a doomed request renders
    nothing) and set on the brief in memory for the render; the copies are read as printed."""
    assert isinstance(ctx, CorrectionContext) and ctx.new is not None
    brief = ctx.brief
    ctx.version = brief.version
    ctx.head_before = brief.audit_head
    check_values(ctx.session, brief, ctx.new)
    master = brief.master
    ctx.keep_original = master is not None and master.event_seq is None and brief.provenance is not None
    ctx.planned = copies_as_printed(ctx.session, brief)
    _set_facts(brief, ctx.new)


def make_files(ctx: PublishContext) -> None:
    """The archival master and every copy again, by the publish pipeline's own steps."""
    assert isinstance(ctx, CorrectionContext)
    if ctx.keep_original:
        return
    for step in (render_master, stamp_copies, store_files):
        step(ctx)


def check_correction(ctx: PublishContext) -> None:
    """Under the numbering lock: the same request, on the brief as it was rendered, and its
    values still acceptable; else everything is made again (or refused)."""
    assert isinstance(ctx, CorrectionContext) and ctx.new is not None
    brief = ctx.brief
    pending = brief.pending_correction
    if brief.version != ctx.version or pending is None or pending.id != ctx.correction_id:
        raise NumbersMoved()
    check_values(ctx.session, brief, ctx.new)
    if copies_as_printed(ctx.session, brief) != ctx.planned:
        raise NumbersMoved()


def record_correction(ctx: PublishContext) -> None:
    """The move: its effect gives the brief the new values (workflows/correction.py); its
    event's prev_hash is the head the new master carries."""
    assert isinstance(ctx, CorrectionContext) and ctx.old is not None and ctx.new is not None
    brief = ctx.brief
    notes = [note for note in (archive_code_note(brief, ctx.new), ORIGINAL_KEPT if ctx.keep_original else None)
             if note]
    event = apply_transition(ctx.session, brief, "confirm_correction", ctx.actor,
                             comment=confirmation_record(ctx.old, ctx.new, ctx.opinion, notes))
    if ctx.head_before is not None and event.prev_hash != ctx.head_before:
        raise NumbersMoved()  # the new master would print another head than the trail holds
    ctx.event_seq = event.seq


def record_new_files(ctx: PublishContext, issue: Brief | None = None) -> None:
    """The new files become the issue's current ones; each old one stays, pointing at its
    successor (superseded_by_id). Bulk statements, as publishing's record_files. The issue is
    the brief moved, or (a 更正版, corrections/editions.py) the one its correction draft corrects."""
    if ctx.master_blob is None:
        return  # the original PDF stays the master
    assert ctx.pdf is not None
    session, brief = ctx.session, issue or ctx.brief
    current = session.execute(
        select(StoredFile.id, StoredFile.kind, StoredFile.copy_id)
        .where(StoredFile.brief_id == brief.id, StoredFile.superseded_by_id.is_(None))
    ).all()
    new_master = session.scalar(insert(StoredFile).returning(StoredFile.id), {
        "brief_id": brief.id, "kind": "master", "path": ctx.master_blob.path, "name": master_name(brief),
        "sha256": ctx.master_blob.sha256, "size": ctx.master_blob.size, "pages": ctx.pdf.pages,
        "event_seq": ctx.event_seq, "created_at": utcnow(),
    })
    successors = {("master", None): new_master}
    copy_ids = list(session.scalars(select(Copy.id).where(Copy.brief_id == brief.id).order_by(Copy.number)))
    if copy_ids:
        assert len(copy_ids) == len(ctx.planned) == len(ctx.copy_blobs)
        now = utcnow()
        new_ids = session.scalars(insert(StoredFile).returning(StoredFile.id, sort_by_parameter_order=True), [
            {"brief_id": brief.id, "kind": "copy", "copy_id": copy_id, "path": blob.path,
             "name": copy_name(brief, p.number), "sha256": blob.sha256, "size": blob.size, "pages": ctx.pdf.pages,
             "event_seq": ctx.event_seq, "created_at": now}
            for p, copy_id, blob in zip(ctx.planned, copy_ids, ctx.copy_blobs)
        ]).all()
        successors.update((("copy", copy_id), new_id) for copy_id, new_id in zip(copy_ids, new_ids))
    superseded = [{"id": old_id, "superseded_by_id": successors[(kind, copy_id)]}
                  for old_id, kind, copy_id in current if (kind, copy_id) in successors]
    if superseded:
        session.execute(update(StoredFile), superseded)


CONFIRM_PREPARE: list[Step] = [plan_correction, make_files]
CONFIRM_COMMIT: list[Step] = [check_correction, record_correction, record_new_files]


def confirm_correction(
    session: Session,
    brief_id: int,
    actor: Any,
    *,
    opinion: str | None = None,
    expected_version: int | None = None,
) -> Brief:
    """Apply the brief's pending correction, committing on success; on any failure nothing
    changes and the files made for it are removed (TurnTimeout, PublishError as publishing)."""

    def begin(brief: Brief) -> PublishContext:
        pending = brief.pending_correction
        assert pending is not None  # the move's condition, checked just before
        new = proposed_facts(pending)
        return CorrectionContext(session, brief, brief.series, actor, new.issue_date, correction_id=pending.id,
                                 old=facts_of(brief), new=new, opinion=(opinion or "").strip() or None)

    return run_pipeline(session, brief_id, actor, "confirm_correction", begin, CONFIRM_PREPARE, CONFIRM_COMMIT,
                        expected_version=expected_version)
