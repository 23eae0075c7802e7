"""The long job kinds: each runs the code its direct command runs, reporting progress.

A job killed with its worker is run again from its start by the next worker (jobs/): an export
is made afresh, a verification checks again (the checks already committed stay recorded), the
PDF backfill skips the issues that got their PDF before (each is committed on its own).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.bag import ExportError, export_bag, issued_briefs
from archive.fixity import FixityReport, verify_store
from archive.search import MAX_PER_PAGE, rebuild_index, search
from jobs.operations import JobContext, JobFailed
from jobs.registry import crontab, job_kind, periodic
from longwork.operations import (BACKFILL, BACKUP, EXPIRE_EXPORTS, EXPORT, IMPORT, REINDEX, VERIFY,
                                 discard_uploads, expire_exports, export_location, outcome_json, result_of,
                                 store_file)
from models import Brief, User
from models.types import utcnow
from publishing.services import file_store
from publishing.storage import FixityError
from securitylog.operations import log_security_event
from workflows.brief import State

REPORT_LINES = 200  # paths of each kind kept in a verification's report


def _pause() -> None:
    delay = float(current_app.config.get("CANYUE_JOB_STEP_DELAY") or 0)
    if delay > 0:
        time.sleep(delay)


def search_briefs(session: Session, user: Any, query: str, series_id: int | None, year: int | None) -> list[Brief]:
    """Every issue a search by `user` finds (all its pages), oldest first."""
    found: dict[int, Brief] = {}
    page = 1
    while True:
        result = search(session, user, query, series_id=series_id, year_from=year, year_to=year,
                        page=page, per_page=MAX_PER_PAGE)
        found.update((hit.brief.id, hit.brief) for hit in result.hits)
        if not result.has_more:
            break
        page += 1
    return sorted(found.values(), key=lambda b: (b.issue_date, b.total_number))


def export_name(series_id: int | None, year: int | None, query: str | None) -> str:
    if query:
        return "canyue-search"
    return "canyue-" + "-".join(str(p) for p in ("series", series_id, year) if p)


@job_kind(EXPORT, max_attempts=3, backoff_seconds=30.0, lease_seconds=900.0)
def export(ctx: JobContext) -> None:
    """payload: series, year (either may be null), q (a search, made as the job's user)."""
    session, p = ctx.session, ctx.payload
    user = session.get(User, ctx.job.user_id) if ctx.job.user_id else None
    series_id, year, query = p.get("series"), p.get("year"), p.get("q") or None
    if query:
        if user is None:
            raise JobFailed("a search export needs the user whose search it is")
        briefs = search_briefs(session, user, query, series_id, year)
    else:
        briefs = issued_briefs(session, series_id, year)
    total = len(briefs) + 1  # the last step: making, validating and zipping the bag
    ctx.progress(0, total)

    def step(done: int) -> None:
        _pause()
        ctx.progress(done, total)

    try:
        bundle = export_bag(briefs, file_store(), export_name(series_id, year, query), on_progress=step)
    except (ExportError, FixityError) as error:
        raise JobFailed(str(error)) from error
    try:
        sha256, size = store_file(file_store(), export_location(ctx.job.id, bundle.name), bundle)
    finally:
        shutil.rmtree(bundle.parent, ignore_errors=True)
    log_security_event(session, "bag_exported", user, actor_name=p.get("actor_name"), detail={
        "series": series_id, "year": year, "q": query, "issues": len(briefs), "job": ctx.job.id,
        "classified": sorted(b.id for b in briefs if b.classification), "file": bundle.name})
    ctx.job.result = json.dumps({"file": bundle.name, "issues": len(briefs), "bytes": size, "sha256": sha256})


@job_kind(IMPORT, max_attempts=3, backoff_seconds=60.0, lease_seconds=900.0)
def import_files(ctx: JobContext) -> None:
    """payload: files (each staged in the store: name, text, text_sha256, pdf, pdf_sha256) and
    refused (the upload's own refusals). Each file's import commits with its outcome in the
    job's result, so a job run again after a crash goes on with the next file."""
    from archive.importer import ImportOutcome, ImportRefused, import_issue

    session, p = ctx.session, ctx.payload
    actor = session.get(User, ctx.job.user_id) if ctx.job.user_id else None
    if actor is None:
        raise JobFailed("an import needs the archivist who started it")
    fonds, category = current_app.config["CANYUE_FONDS_CODE"], current_app.config["CANYUE_ARCHIVE_CATEGORY"]
    result = result_of(ctx.job) or {"outcomes": list(p.get("refused", []))}
    files, store = p.get("files", []), file_store()
    done = len(result["outcomes"]) - len(p.get("refused", []))
    ctx.progress(done, len(files))

    def with_outcome(outcome: ImportOutcome) -> dict[str, Any]:
        outcomes = [*result["outcomes"], outcome_json(outcome)]
        imported = sum(1 for o in outcomes if o.get("brief_id"))
        return {"outcomes": outcomes, "imported": imported, "refused": len(outcomes) - imported}

    def record(outcome: ImportOutcome) -> None:  # inside the transaction that commits the outcome
        ctx.job.result = json.dumps(with_outcome(outcome), ensure_ascii=False)

    for index in range(done, len(files)):
        entry = files[index]
        try:
            text = store.read_verified(entry["text"], entry["text_sha256"]).decode("utf-8")
            pdf = store.read_verified(entry["pdf"], entry["pdf_sha256"]) if entry.get("pdf") else None
        except FixityError as error:
            raise JobFailed(f"{entry['name']}: the uploaded file was changed or lost in the store: {error}") from error
        try:
            outcome = import_issue(session, actor, name=entry["name"], text=text, pdf=pdf, fonds=fonds,
                                   category=category, before_commit=record)
        except ImportRefused as refused:
            outcome = ImportOutcome(entry["name"], refusal=refused.problem)
            record(outcome)
            session.commit()
        result = with_outcome(outcome)
        _pause()
        ctx.progress(index + 1, len(files))
    discard_uploads(p)


@job_kind(EXPIRE_EXPORTS, max_attempts=3, backoff_seconds=600.0)
def expire(ctx: JobContext) -> None:
    """Delete the exports kept longer than CANYUE_EXPORT_KEEP_DAYS (their jobs say so)."""
    count = expire_exports(ctx.session, utcnow(), int(current_app.config.get("CANYUE_EXPORT_KEEP_DAYS") or 7))
    ctx.job.result = json.dumps({"expired": count})


periodic(EXPIRE_EXPORTS, crontab(hour="4", minute="15"))  # daily, 04:15 (the worker's time)


def fixity_result(report: FixityReport) -> dict[str, Any]:
    return {"ok": report.ok, "checked": report.checked,
            **{name: getattr(report, name)[:REPORT_LINES] for name in ("missing", "changed", "unexpected")},
            "counts": {name: len(getattr(report, name)) for name in ("missing", "changed", "unexpected")},
            "quarantined": [list(pair) for pair in report.quarantined[:REPORT_LINES]]}


def run_verify(session: Session, repair: bool, progress: Callable[[int, int], None]) -> FixityReport:
    """`archive verify`, the command and the job: checks are committed as they go."""
    def step(done: int, total: int) -> None:
        session.commit()
        _pause()
        progress(done, total + 1)  # the last step: the walk for unexpected files

    report = verify_store(session, file_store(), repair=repair, on_progress=step)
    return report


@job_kind(VERIFY, max_attempts=3, backoff_seconds=300.0, lease_seconds=900.0)
def verify(ctx: JobContext) -> None:
    """payload: repair (bool). A problem found is the job's report, not its failure."""
    report = run_verify(ctx.session, bool(ctx.payload.get("repair")), ctx.progress)
    ctx.job.result = json.dumps(fixity_result(report), ensure_ascii=False)


periodic(VERIFY, crontab(day_of_week="0", hour="2", minute="30"))  # Sundays, 02:30 (the worker's time)


@job_kind(REINDEX, max_attempts=3, backoff_seconds=60.0, lease_seconds=3600.0)
def reindex(ctx: JobContext) -> None:
    """One transaction (the index is never half built), so no steps to show."""
    started = time.monotonic()
    count = rebuild_index(ctx.session)
    ctx.job.result = json.dumps({"briefs": count, "seconds": round(time.monotonic() - started, 1)})


def issued_ids(session: Session) -> list[int]:
    issued = [State.PUBLISHED.value, State.ARCHIVED.value]
    return list(session.scalars(select(Brief.id).where(Brief.state.in_(issued)).order_by(Brief.id)))


@job_kind(BACKFILL, max_attempts=3, backoff_seconds=60.0, lease_seconds=900.0)
def backfill(ctx: JobContext) -> None:
    from publishing.pipeline import backfill_master

    session = ctx.session
    ids = issued_ids(session)
    made = 0
    ctx.progress(0, len(ids))
    for done, brief_id in enumerate(ids, start=1):
        brief = session.get(Brief, brief_id)
        assert brief is not None
        if backfill_master(session, brief):
            made += 1
        session.commit()  # each issue's PDF is kept: a restarted job skips it
        _pause()
        ctx.progress(done, len(ids))
    ctx.job.result = json.dumps({"made": made, "had_one": len(ids) - made})


@job_kind(BACKUP, max_attempts=2, backoff_seconds=600.0, lease_seconds=3600.0)
def backup(ctx: JobContext) -> None:
    """`backup create` (default file name in instance/backups/), payload: recipients."""
    from backup.create import create_backup
    from backup.manifest import BackupError
    from status.system import record_backup

    try:
        made = create_backup(current_app._get_current_object(),  # type: ignore[attr-defined]
                             None, tuple(ctx.payload.get("recipients") or ()))
    except BackupError as error:
        raise JobFailed(str(error)) from error
    record_backup(ctx.session, str(made.path), made.size)
    ctx.job.result = json.dumps({"file": str(made.path), "bytes": made.size, "seconds": round(made.seconds, 1),
                                 "notes": made.notes}, ensure_ascii=False)
