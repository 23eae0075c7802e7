"""Publishing is one pipeline (DESIGN.md, "Publishing is one pipeline").

`publish` runs in two parts. PREPARE_STEPS plan the numbers the brief will get, render the
archival master, stamp the numbered copies and store them all (content-addressed), outside
any write transaction, so that nobody waits for a render. COMMIT_STEPS then run under the
series' numbering lock: the numbers, the brief's state and version and its copies are
checked again, the move and the rows that make the files part of the archive are written,
and the unit commits in milliseconds. If another publish took the numbers meanwhile, the
files are made again. If any step fails, everything rolls back: no number consumed, no row
written, the files of the attempt removed, the brief still `signed`. Later features add
steps to these lists; they do not write a second path: confirming a correction of an issue's
date and numbers (corrections/operations.py) and issuing a correction draft as a 更正版 of its
issue (corrections/editions.py) run their own lists, made of these steps, through the same
`run_pipeline`. A correction notice is published by `publish` itself, as any brief.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, object_session

from figures.operations import image_data_uris
from models import AuditEvent, Brief, Copy, Series, StoredFile
from models.types import utcnow
from publishing.brieffile import brief_as_file
from monitoring.metrics import PUBLISHES
from publishing.services import file_store, pdf_renderer
from publishing.stamping import Stamper, copy_mark, outline_font_for
from publishing.storage import Blob
from publishing.turns import TurnTimeout, publishing_turn
from rendering.printing import printed_issue_from_brief
from rendering.xmp import DocumentIdentity, issue_document_id
from workflows.audit import GENESIS
from workflows.brief import State
from workflows.copy import CopyState
from workflows.distribution import PlannedCopy, plan_copies
from workflows.i18n import N_
from workflows.numbering import (
    EARLIEST_YEAR,
    IssueNumbers,
    backdating_error,
    horizon_error,
    local_date,
    next_numbers,
    numbers_error,
    sequence_for,
)
from workflows.transitions import InvalidAction, apply_transition, begin_locked_move, check_move

if TYPE_CHECKING:
    from rendering.pdf import RenderedPdf


class PublishError(Exception):
    """A step failed; the message (marked for translation) is for the editor, and nothing was kept.
    `status` is the HTTP answer that fits: 500 for a failure of ours, 409 when other publishes
    were in the way and trying again will do."""

    def __init__(self, message: str, status: int = 500):
        super().__init__(message)
        self.status = status


class NumbersMoved(Exception):
    """Between rendering and committing, another publish took the numbers (or the brief's list
    changed): render again."""


@dataclass
class PublishContext:
    session: Session
    brief: Brief
    series: Series
    actor: Any
    issue_date: date
    numbers: IssueNumbers | None = None
    planned: list[PlannedCopy] = field(default_factory=list)  # the copies to make (settle_print_run)
    version: int | None = None  # the brief's version the files were made from
    published_at: datetime | None = None
    head_before: str | None = None  # the brief's audit head before the move, printed in the PDF
    event_seq: int | None = None  # that move's event, whose prev_hash the PDF carries
    pdf: RenderedPdf | None = None
    stamped: list[bytes] = field(default_factory=list)  # the copies' PDFs, in 份号 order
    master_blob: Blob | None = None
    copy_blobs: list[Blob] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # stored by this attempt: discarded if it fails


Step = Callable[[PublishContext], None]


def lock_series_numbering(session: Session, series_id: int) -> None:
    """The series' numbering lock, held until commit or rollback.

    An UPDATE of the series row: PostgreSQL row-locks it, SQLite takes its write lock, so a
    second publisher of the series waits here. Readers never wait on it.
    """
    session.execute(
        update(Series).where(Series.id == series_id).values(numbering_lock=Series.numbering_lock + 1)
    )


def next_numbers_for(session: Session, brief: Brief, issue_date: date) -> IssueNumbers:
    """The numbers `brief` would get on `issue_date`, from the numbers held now; refuses a date
    outside the guard rails (workflows.numbering)."""
    series = brief.series
    # An annulled issue (作废) keeps its numbers, which are never given again, but its date no
    # longer holds later issues back.
    latest = session.scalar(
        select(func.max(Brief.issue_date)).where(Brief.series_id == series.id, Brief.issue_date.is_not(None),
                                                 Brief.annulled_at.is_(None), Brief.id != brief.id)
    )
    error = backdating_error(issue_date, latest) or horizon_error(
        issue_date, local_date(utcnow(), series.timezone), current_app.config["CANYUE_ISSUE_DATE_HORIZON_DAYS"])
    if error:
        raise InvalidAction(error, days=current_app.config["CANYUE_ISSUE_DATE_HORIZON_DAYS"], year=EARLIEST_YEAR)
    rules = series.numbering_rules
    sequence = sequence_for(rules, brief.supplement)
    held = (Brief.series_id == series.id) & (Brief.number_sequence == sequence.value) & (Brief.id != brief.id)
    highest_issue = session.scalar(
        select(func.max(Brief.issue_number)).where(held, Brief.issue_year == issue_date.year)
    )
    highest_total = session.scalar(select(func.max(Brief.total_number)).where(held))
    numbers = next_numbers(rules, sequence, issue_date, highest_issue, highest_total)
    error = numbers_error(numbers)
    if error:
        raise InvalidAction(error)
    return numbers


def _set_numbers(brief: Brief, numbers: IssueNumbers, issue_date: date) -> None:
    brief.number_sequence = numbers.sequence.value
    brief.issue_year = numbers.year
    brief.issue_number = numbers.issue
    brief.total_number = numbers.total
    brief.issue_date = issue_date


# --- before the lock: plan, render, stamp and store ----------------------------------------


def plan_numbers(ctx: PublishContext) -> None:
    """The numbers as they stand now, and the moment of publication, set on the brief in
    memory only (the session is rolled back before the lock is taken)."""
    ctx.version = ctx.brief.version
    ctx.head_before = ctx.brief.audit_head
    ctx.numbers = next_numbers_for(ctx.session, ctx.brief, ctx.issue_date)
    _set_numbers(ctx.brief, ctx.numbers, ctx.issue_date)
    ctx.published_at = utcnow()
    ctx.brief.published_by_id = ctx.actor.id
    ctx.brief.published_at = ctx.published_at


def print_run_now(session: Session, brief: Brief) -> int:
    """The 共印 a page of `brief` shows: the number recorded at publication once there is one,
    before that the number of copies publishing would make now. Both come from plan_copies
    (workflows.distribution), as settle_print_run's do, so the signer signs what will print."""
    if brief.state in (State.PUBLISHED.value, State.ARCHIVED.value, State.ANNULLED.value):
        return brief.print_run if brief.print_run is not None else brief.series.default_print_run
    with session.no_autoflush:
        return len(plan_copies(session, brief))


def settle_print_run(ctx: PublishContext) -> None:
    """共印 N 份 is the number of copies the distribution list makes (workflows.distribution:
    the list's copy counts, or the series' default print run for a brief without a list).
    Settled before the render, since the master prints it; capped, so that a publish always
    finishes within a worker's timeout."""
    ctx.planned = plan_copies(ctx.session, ctx.brief)
    cap = current_app.config["CANYUE_MAX_PRINT_RUN"]
    if len(ctx.planned) > cap:
        raise InvalidAction(N_("The distribution list makes more copies than one publication may print "
                               "(at most %(cap)d); lower the copy counts."), cap=cap)
    ctx.brief.print_run = len(ctx.planned)


def approval_record(brief: Brief) -> dict[str, Any]:
    """Who approved, signed and published, and when: attached to the archival PDF."""

    def when(moment: Any) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "series": brief.series.name,
        "issue": brief.issue_number,
        "total": brief.total_number,
        "supplement": brief.supplement,
        "issue_date": when(brief.issue_date),
        "title": brief.title,
        "author": brief.author_line,
        "special_report": list(brief.special_report),
        "copies": brief.print_run,
        "revision": brief.revision_number,
        "approved": {"editor": brief.editor_name, "user_id": brief.approved_by_id, "at": when(brief.approved_at)},
        "signed": {
            "signer": brief.signer_name, "user_id": brief.signed_by_id, "at": when(brief.signed_at),
            "opinion": brief.sign_opinion,
        },
        "published": {"user_id": brief.published_by_id, "at": when(brief.published_at)},
        "audit_head": brief.audit_head,
    }


def master_identity(brief: Brief) -> DocumentIdentity:
    """The master's XMP identity: the issue's DocumentID (the same for the master, every copy
    and every later rendition of the issue), a new InstanceID, created at publication."""
    document_id = issue_document_id(current_app.config["CANYUE_FONDS_CODE"], brief.series.name,
                                    brief.number_sequence or "", brief.total_number or 0)
    return DocumentIdentity.new(document_id, created=brief.published_at)


def render_master(ctx: PublishContext) -> None:
    """The archival master: PDF/A-3 with the brief's source and approval record attached,
    the brief's audit head before this move in its metadata, and the 份号 place left blank."""
    from rendering.pdf import PdfAttachment

    brief = ctx.brief
    record = {**approval_record(brief), "audit_head": ctx.head_before}
    attachments = [
        PdfAttachment("brief.md", brief_as_file(brief).encode(), "The brief as a file (Markdown + front matter)",
                      "text/markdown"),
        PdfAttachment("record.json", json.dumps(record, ensure_ascii=False, indent=2).encode(),
                      "Approval and publication record", "application/json"),
    ]
    try:
        ctx.pdf = pdf_renderer().render(
            printed_issue_from_brief(brief, specimen=False,
                                     images=image_data_uris(object_session(brief), file_store(), brief.body)),
            attachments=attachments,
            extra_metadata={"canyue-audit-head": ctx.head_before or GENESIS},
            identity=master_identity(brief),
        )
    except Exception as error:
        raise PublishError(N_("The archival PDF could not be produced, so nothing was published.")) from error


def master_name(brief: Brief) -> str:
    """issues/<series>/<year>/<sequence>-<期号>-<总期号>.pdf: how the master is downloaded and
    exported (the store names it by its SHA-256)."""
    return (
        f"issues/{brief.series_id}/{brief.issue_year}/"
        f"{brief.number_sequence}-{brief.issue_number:03d}-{brief.total_number:04d}.pdf"
    )


def copy_name(brief: Brief, number: int) -> str:
    return f"{master_name(brief).removesuffix('.pdf')}/copy-{number:06d}.pdf"


def stamp_copies(ctx: PublishContext) -> None:
    """One copy per planned item, numbered 000001… in list order, each stamped from the master
    (publishing/stamping.py: its 份号 in the blank place, its recipient in the margin); the
    master itself is left as it is."""
    assert ctx.pdf is not None
    try:
        stamper = Stamper(ctx.pdf.data, outline_font_for(pdf_renderer().fonts))
        ctx.stamped = [
            stamper.stamp(f"{p.number:06d}", copy_mark(f"{p.number:06d}", p.label, p.organisation, p.recipient_id,
                                                       "机动"))
            for p in ctx.planned
        ]
    except Exception as error:
        raise PublishError(N_("The numbered copies could not be made, so nothing was published.")) from error


def store_files(ctx: PublishContext) -> None:
    """Write the master and the copies into the store, named by their SHA-256. Until a row
    names them (record_files) they are not part of the archive: if this publish dies before
    its commit, they are orphans that nothing needs and `archive verify --repair` clears."""
    assert ctx.pdf is not None
    store = file_store()
    try:
        ctx.master_blob = store.put(ctx.pdf.data)
        ctx.written.append(ctx.master_blob.path)
    except Exception as error:
        raise PublishError(N_("The archival PDF could not be stored, so nothing was published.")) from error
    try:
        ctx.copy_blobs = store.put_many(ctx.stamped)
        ctx.written.extend(blob.path for blob in ctx.copy_blobs)
    except Exception as error:
        raise PublishError(N_("The numbered copies could not be stored, so nothing was published.")) from error
    ctx.stamped = []  # up to 2,000 PDFs: let them go before the commit


# --- under the lock: check, record, commit ------------------------------------------------------


def take_numbers(ctx: PublishContext) -> None:
    """Under the numbering lock: the numbers planned must still be the next ones, and the
    copies the same, else everything is made again for the numbers as they are now."""
    brief = ctx.brief
    if ctx.version is not None and brief.version != ctx.version:
        raise NumbersMoved()
    numbers = next_numbers_for(ctx.session, brief, ctx.issue_date)
    if ctx.numbers is not None and numbers != ctx.numbers:
        raise NumbersMoved()
    ctx.numbers = numbers
    _set_numbers(brief, numbers, ctx.issue_date)
    planned = plan_copies(ctx.session, brief)
    if ctx.planned and planned != ctx.planned:
        raise NumbersMoved()
    ctx.planned = planned
    brief.print_run = len(planned)


def record_publication(ctx: PublishContext) -> None:
    event = apply_transition(ctx.session, ctx.brief, "publish", ctx.actor, now=ctx.published_at)
    if ctx.head_before is not None and event.prev_hash != ctx.head_before:
        raise NumbersMoved()  # the PDF would print another head than the trail holds
    ctx.event_seq = event.seq


def record_files(ctx: PublishContext) -> None:
    """The rows that make the stored files part of the archive, and the copies they are of:
    two bulk inserts, so that a print run of 2,000 commits in milliseconds."""
    brief, session = ctx.brief, ctx.session
    now = utcnow()
    if ctx.master_blob is not None:
        assert ctx.pdf is not None
        session.add(StoredFile(
            brief_id=brief.id, kind="master", path=ctx.master_blob.path, name=master_name(brief),
            sha256=ctx.master_blob.sha256, size=ctx.master_blob.size, pages=ctx.pdf.pages, event_seq=ctx.event_seq,
        ))
    if not ctx.planned:
        return
    copy_ids = session.scalars(insert(Copy).returning(Copy.id, sort_by_parameter_order=True), [
        {"brief_id": brief.id, "number": p.number, "state": CopyState.PRINTED.value, "medium": p.medium,
         "recipient_id": p.recipient_id, "category": p.category, "recipient_label": p.label, "recipient_name": p.name,
         "recipient_title": p.title, "recipient_organisation": p.organisation, "created_at": now, "recalled": False,
         "version": 1}
        for p in ctx.planned
    ]).all()
    if ctx.copy_blobs:
        assert ctx.pdf is not None and len(ctx.copy_blobs) == len(ctx.planned)
        session.execute(insert(StoredFile), [
            {"brief_id": brief.id, "kind": "copy", "copy_id": copy_id, "path": blob.path,
             "name": copy_name(brief, p.number), "sha256": blob.sha256, "size": blob.size, "pages": ctx.pdf.pages,
             "created_at": now}
            for p, copy_id, blob in zip(ctx.planned, copy_ids, ctx.copy_blobs)
        ])


# Outside any write transaction: nobody waits while these run (the render takes ~0.5 s, a
# large print run a few seconds). Under the series' numbering lock: these take milliseconds.
PREPARE_STEPS: list[Step] = [plan_numbers, settle_print_run, render_master, stamp_copies, store_files]
COMMIT_STEPS: list[Step] = [take_numbers, record_publication, record_files]
# If other publishes keep taking the numbers first, give up after this many renders.
ATTEMPTS = 3


def default_issue_date(brief: Brief) -> date | None:
    """The sign-off date in the series' time zone (成文日期)."""
    if brief.signed_at is None:
        return None
    return local_date(brief.signed_at, brief.series.timezone)


def discard_unreferenced(session: Session, paths: list[str]) -> None:
    """Remove what a failed attempt stored, unless a row names it (a byte-identical file that
    an earlier publish or import keeps)."""
    if not paths:
        return
    store = file_store()
    try:
        referenced = set(session.scalars(select(StoredFile.path).where(StoredFile.path.in_(paths))))
        for path in paths:
            if path not in referenced:
                store.discard(path)
    except Exception:  # the failure being handled matters more; orphans are repair's job
        current_app.logger.exception("could not remove the files of a failed publish; "
                                     "`archive verify --repair` will quarantine them")


def publish(
    session: Session,
    brief_id: int,
    actor: Any,
    *,
    issue_date: date | None = None,
    expected_version: int | None = None,
    prepare: list[Step] | None = None,
    commit: list[Step] | None = None,
) -> Brief:
    """Publish a signed brief as one unit, committing on success.

    Everything slow happens first, outside any write transaction, for the numbers the brief
    will get; then, under the series' numbering lock, the numbers, the brief's state and
    version are checked again and the rows written and committed. If another publish took
    the numbers meanwhile, the files are made again (at most ATTEMPTS times). Any failure
    rolls back: no number used, no row written, the files of the attempt removed.
    """

    def begin(brief: Brief) -> PublishContext:
        chosen_date = issue_date or default_issue_date(brief)
        assert chosen_date is not None  # a signed brief has signed_at (check constraint)
        return PublishContext(session, brief, brief.series, actor, chosen_date)

    try:
        return run_pipeline(
            session, brief_id, actor, "publish", begin,
            PREPARE_STEPS if prepare is None else prepare, COMMIT_STEPS if commit is None else commit,
            expected_version=expected_version,
        )
    except TurnTimeout:
        raise PublishError(N_("Another issue of this series is being published and is taking long; nothing was "
                              "published. Please try again in a minute."), status=409) from None


def run_pipeline(
    session: Session,
    brief_id: int,
    actor: Any,
    action: str,
    begin: Callable[[Brief], PublishContext],
    prepare: list[Step],
    commit: list[Step],
    *,
    expected_version: int | None = None,
) -> Brief:
    """The one path of a move that makes an issue's files (publishing; confirming a
    correction, corrections/operations.py): in the series' publishing turn, `prepare` runs
    outside any write transaction on the context `begin` makes, then `commit` under the
    series' numbering lock, and the unit commits. NumbersMoved makes the files again (at most
    ATTEMPTS times); any other failure rolls back and removes the files of the attempt.
    TurnTimeout: another publisher of the series held its turn too long."""
    session.rollback()
    brief = session.get(Brief, brief_id)
    if brief is None:
        raise LookupError(brief_id)
    check_move(actor, brief, action, expected_version)  # refuse before waiting for a turn
    series_id = brief.series_id
    session.rollback()
    with publishing_turn(session.get_bind(), series_id):
        return _run_in_turn(session, brief_id, actor, action, begin, prepare, commit, expected_version)


def _run_in_turn(session: Session, brief_id: int, actor: Any, action: str, begin: Callable[[Brief], PublishContext],
                 prepare: list[Step], commit: list[Step], expected_version: int | None) -> Brief:
    for _ in range(ATTEMPTS):
        session.rollback()
        brief = session.get(Brief, brief_id, populate_existing=True)
        if brief is None:
            raise LookupError(brief_id)
        check_move(actor, brief, action, expected_version)
        ctx = begin(brief)
        try:
            with session.no_autoflush:
                for step in prepare:
                    step(ctx)
            session.rollback()  # nothing was written; forget what was set in memory
            brief, _ = begin_locked_move(
                session, brief_id, actor, action, lambda b: lock_series_numbering(session, b.series_id),
                expected_version=expected_version,
            )
            ctx.brief = brief
            for step in commit:
                step(ctx)
            session.flush()
            session.commit()
            PUBLISHES.labels(action, "published").inc()
            return brief
        except NumbersMoved:
            session.rollback()
            discard_unreferenced(session, ctx.written)
            session.rollback()
        except BaseException:
            session.rollback()
            PUBLISHES.labels(action, "failed").inc()
            discard_unreferenced(session, ctx.written)
            session.rollback()
            raise
    raise PublishError(N_("Other issues were being published at the same moment; nothing was published. "
                          "Please try again."), status=409)


def backfill_master(session: Session, brief: Brief) -> bool:
    """Give a brief published before PDFs existed its archival master; False if it has one.
    It carries the head the brief had before its publication, as a publish would have."""
    if session.scalar(select(StoredFile.id).where(StoredFile.brief_id == brief.id, StoredFile.kind == "master")):
        return False
    assert brief.issue_date is not None
    publish_event = session.scalar(
        select(AuditEvent).where(AuditEvent.brief_id == brief.id, AuditEvent.action == "publish")
        .order_by(AuditEvent.seq.desc()).limit(1)
    )
    ctx = PublishContext(session, brief, brief.series, None, brief.issue_date)
    if publish_event is not None:
        ctx.head_before, ctx.event_seq = publish_event.prev_hash, publish_event.seq
    store_archival_master(ctx)
    return True


def store_archival_master(ctx: PublishContext, pdf: RenderedPdf | None = None) -> None:
    """Render (unless given the PDF), store and record a master outside the publish move
    (backfill, import), committing on success; on failure nothing is kept."""
    try:
        if pdf is None:
            render_master(ctx)
        else:
            ctx.pdf = pdf
        assert ctx.pdf is not None
        blob = file_store().put(ctx.pdf.data)
        ctx.written.append(blob.path)
        ctx.session.add(StoredFile(
            brief_id=ctx.brief.id, kind="master", path=blob.path, name=master_name(ctx.brief),
            sha256=blob.sha256, size=blob.size, pages=ctx.pdf.pages, event_seq=ctx.event_seq if pdf is None else None,
        ))
        ctx.session.flush()
        ctx.session.commit()
    except BaseException:
        ctx.session.rollback()
        discard_unreferenced(ctx.session, ctx.written)
        ctx.session.rollback()
        raise
