"""Publishing is one pipeline (DESIGN.md, "Publishing is one pipeline").

`publish` takes the series' numbering lock, runs the steps in order and commits; if any
step fails, everything rolls back: no number consumed, no file left, the brief still
`signed`. Later features add steps to `STEPS` (render and store the PDF, create the
numbered copies); they do not write a second path. A step that writes files registers a cleanup,
run on rollback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from models import Brief, Copy, Series, StoredFile
from models.types import utcnow
from publishing.brieffile import brief_as_file
from publishing.services import file_store, pdf_renderer
from publishing.stamping import Stamper, copy_mark, outline_font_for
from rendering.printing import printed_issue_from_brief
from workflows.copy import CopyState
from workflows.distribution import PlannedCopy, plan_copies
from workflows.i18n import N_
from workflows.numbering import IssueNumbers, backdating_error, local_date, next_numbers, sequence_for
from workflows.transitions import InvalidAction, apply_transition, begin_locked_move

if TYPE_CHECKING:
    from rendering.pdf import RenderedPdf


class PublishError(Exception):
    """A step failed; the message (marked for translation) is for the editor, and nothing was kept."""


@dataclass
class PublishContext:
    session: Session
    brief: Brief
    series: Series
    actor: Any
    issue_date: date
    numbers: IssueNumbers | None = None
    pdf: RenderedPdf | None = None
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    planned: list[PlannedCopy] = field(default_factory=list)  # the copies to make (settle_print_run)


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
    """共印 N 份 is the number of copies the distribution list makes (workflows.distribution:
    the list's copy counts, or the series' default print run for a brief without a list).
    Settled before the render, since the master prints it; `create_copies` makes them."""
    ctx.planned = plan_copies(ctx.session, ctx.brief)
    ctx.brief.print_run = len(ctx.planned)


def record_publication(ctx: PublishContext) -> None:
    apply_transition(ctx.session, ctx.brief, "publish", ctx.actor)


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


def render_master(ctx: PublishContext) -> None:
    """The archival master: PDF/A-3 with the brief's source and approval record attached,
    the audit chain's head in its metadata, and the 份号 place left blank."""
    from rendering.pdf import PdfAttachment

    brief = ctx.brief
    attachments = [
        PdfAttachment("brief.md", brief_as_file(brief).encode(), "The brief as a file (Markdown + front matter)",
                      "text/markdown"),
        PdfAttachment("record.json", json.dumps(approval_record(brief), ensure_ascii=False, indent=2).encode(),
                      "Approval and publication record", "application/json"),
    ]
    try:
        ctx.pdf = pdf_renderer().render(
            printed_issue_from_brief(brief, specimen=False),
            attachments=attachments,
            extra_metadata={"canyue-audit-head": brief.audit_head or ""},
        )
    except Exception as error:
        raise PublishError(N_("The archival PDF could not be produced, so nothing was published.")) from error


def master_path(brief: Brief) -> str:
    """instance/files/issues/<series>/<year>/<sequence>-<期号>-<总期号>.pdf"""
    return (
        f"issues/{brief.series_id}/{brief.issue_year}/"
        f"{brief.number_sequence}-{brief.issue_number:03d}-{brief.total_number:04d}.pdf"
    )


def store_master(ctx: PublishContext) -> None:
    assert ctx.pdf is not None
    store, path = file_store(), master_path(ctx.brief)
    try:
        blob = store.write_new(path, ctx.pdf.data)
    except Exception as error:
        raise PublishError(N_("The archival PDF could not be stored, so nothing was published.")) from error
    ctx.cleanups.append(lambda: store.delete(path))
    ctx.session.add(StoredFile(
        brief_id=ctx.brief.id, kind="master", path=blob.path, sha256=blob.sha256, size=blob.size,
        pages=ctx.pdf.pages,
    ))


def create_copies(ctx: PublishContext) -> None:
    """One copy per planned item, numbered 000001… in list order, each stamped from the master
    (publishing/stamping.py: its 份号 in the blank place, its recipient in the margin) and
    stored beside it with its own SHA-256; the master itself is left as it is. The rows go in
    as two bulk inserts and the files are written by a few threads (fsync dominates), so 30
    copies cost a fraction of the render."""
    assert ctx.pdf is not None
    brief, session = ctx.brief, ctx.session
    try:
        stamper = Stamper(ctx.pdf.data, outline_font_for(pdf_renderer().fonts))
    except Exception as error:
        raise PublishError(N_("The numbered copies could not be made, so nothing was published.")) from error
    now = utcnow()
    copy_ids = session.scalars(insert(Copy).returning(Copy.id, sort_by_parameter_order=True), [
        {"brief_id": brief.id, "number": p.number, "state": CopyState.PRINTED.value, "medium": p.medium,
         "recipient_id": p.recipient_id, "category": p.category, "recipient_label": p.label, "recipient_name": p.name,
         "recipient_title": p.title, "recipient_organisation": p.organisation, "created_at": now, "recalled": False,
         "version": 1}
        for p in ctx.planned
    ]).all()
    store, folder = file_store(), master_path(brief).removesuffix(".pdf")
    ctx.cleanups.append(lambda: _remove_empty_dir(store.root / folder))
    try:  # stamp them all first: stamping is Python, and would contend with the writers
        stamped = []
        for planned, copy_id in zip(ctx.planned, copy_ids):
            serial = f"{planned.number:06d}"
            mark = copy_mark(serial, planned.label, planned.organisation, planned.recipient_id, "机动")
            stamped.append((copy_id, f"{folder}/copy-{serial}.pdf", stamper.stamp(serial, mark)))
    except Exception as error:
        raise PublishError(N_("The numbered copies could not be made, so nothing was published.")) from error
    with ThreadPoolExecutor(max_workers=min(8, len(stamped) or 1), thread_name_prefix="canyue-copies") as pool:
        writes = [(copy_id, path, pool.submit(store.write_new, path, data)) for copy_id, path, data in stamped]
    del stamped
    rows, unstored = [], None
    for copy_id, path, done in writes:
        try:
            blob = done.result()
        except Exception as error:  # never delete what this step did not write (a file in the way)
            unstored = unstored or error
            continue
        ctx.cleanups.append(lambda path=path: store.delete(path))
        rows.append({"brief_id": brief.id, "kind": "copy", "copy_id": copy_id, "path": blob.path,
                     "sha256": blob.sha256, "size": blob.size, "pages": ctx.pdf.pages, "created_at": now})
    if unstored is not None:
        raise PublishError(N_("The numbered copies could not be stored, so nothing was published.")) from unstored
    session.execute(insert(StoredFile), rows)


def _remove_empty_dir(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty, or never made


STEPS: list[Step] = [allocate_numbers, settle_print_run, record_publication, render_master, store_master, create_copies]
ARCHIVAL_STEPS: list[Step] = [render_master, store_master]


def default_issue_date(brief: Brief) -> date | None:
    """The sign-off date in the series' time zone (成文日期)."""
    if brief.signed_at is None:
        return None
    return local_date(brief.signed_at, brief.series.timezone)


def run_steps(ctx: PublishContext, steps: list[Step]) -> None:
    """Run `steps` as one unit: commit, or roll back and undo what the steps wrote to disk."""
    try:
        for step in steps:
            step(ctx)
        ctx.session.flush()
        ctx.session.commit()
    except BaseException:
        ctx.session.rollback()
        for cleanup in reversed(ctx.cleanups):
            cleanup()
        raise


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
    brief, _ = begin_locked_move(
        session, brief_id, actor, "publish", lambda b: lock_series_numbering(session, b.series_id),
        expected_version=expected_version,
    )
    chosen_date = issue_date or default_issue_date(brief)
    assert chosen_date is not None  # a signed brief has signed_at (check constraint)
    run_steps(PublishContext(session, brief, brief.series, actor, chosen_date), steps if steps is not None else STEPS)
    return brief


def backfill_master(session: Session, brief: Brief) -> bool:
    """Give a brief published before PDFs existed its archival master; False if it has one."""
    if session.scalar(select(StoredFile.id).where(StoredFile.brief_id == brief.id, StoredFile.kind == "master")):
        return False
    assert brief.issue_date is not None
    run_steps(PublishContext(session, brief, brief.series, None, brief.issue_date), ARCHIVAL_STEPS)
    return True
