"""Starting long work for someone, and what it left: set, flush — the caller commits."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.operations import enqueue
from models import Job
from publishing.services import file_store
from publishing.storage import EXPORTS, IMPORTS, TEMP_PREFIX, FixityError, Store, hash_stream
from workflows.limits import Problem

# The long kinds (kinds.py registers their handlers) and the general action (workflows.policy)
# that starting one, following it and fetching its result each need.
EXPORT = "archive.export"
VERIFY = "archive.verify"
REINDEX = "archive.reindex"
BACKFILL = "brief.backfill_pdfs"
BACKUP = "backup.create"
IMPORT = "archive.import"
EXPIRE_EXPORTS = "archive.expire_exports"  # periodic, not started by anyone
ACTION_OF = {EXPORT: "manage_archive", IMPORT: "manage_archive", VERIFY: "run_maintenance",
             REINDEX: "run_maintenance", BACKFILL: "run_maintenance", BACKUP: "run_maintenance"}


def start(session: Session, kind: str, user: Any | None, payload: dict[str, Any] | None = None) -> Job:
    """A long job of `kind`, started by `user` (None: the command line or the scheduler)."""
    if kind not in ACTION_OF:
        raise ValueError(f"not long work: {kind!r}")
    job = enqueue(session, kind, payload)
    job.user_id = user.id if user is not None else None
    session.flush()
    return job


def result_of(job: Job) -> dict[str, Any]:
    return json.loads(job.result) if job.result else {}


def jobs_of(session: Session, user: Any, limit: int = 50) -> list[Job]:
    """The long jobs `user` started, newest first."""
    return list(session.scalars(select(Job).where(Job.user_id == user.id, Job.kind.in_(ACTION_OF))
                                .order_by(Job.id.desc()).limit(limit)))


def export_path(job: Job) -> str | None:
    """Where the finished export's zip is in the file store (exports/<job id>/<name>), if it
    was made and has not expired."""
    result = result_of(job)
    if job.kind != EXPORT or job.state != "done" or not result.get("file") or result.get("expired"):
        return None
    return export_location(job.id, result["file"])


def export_location(job_id: int, name: str) -> str:
    return f"{EXPORTS}/{job_id}/{PurePosixPath(name).name}"


def open_export(job: Job) -> tuple[BinaryIO, str] | None:
    """The finished export, checked against the SHA-256 recorded when it was made, and its
    download name; None when there is none (not made, expired, or gone from the store)."""
    path = export_path(job)
    if path is None:
        return None
    try:
        return file_store().open_verified(path, result_of(job)["sha256"]), PurePosixPath(path).name
    except FixityError:
        return None


def expire_exports(session: Session, now: datetime, keep_days: int) -> int:
    """Delete from the store the exports finished more than `keep_days` ago, marking their
    jobs' results expired, and the uploads of imports that failed as long ago (a finished
    import deletes its own); how many jobs. Set, flush — the caller commits."""
    cutoff = now - timedelta(days=keep_days)
    store, expired = file_store(), 0
    for job in session.scalars(select(Job).where(
            ((Job.kind == EXPORT) & (Job.state == "done")) | ((Job.kind == IMPORT) & (Job.state == "failed")),
            Job.finished_at < cutoff).order_by(Job.id)):
        result = result_of(job)
        if result.get("expired") or (job.kind == EXPORT and not result.get("file")):
            continue
        if job.kind == EXPORT:
            store.discard(export_location(job.id, result["file"]))
        else:
            discard_uploads(json.loads(job.payload or "{}"))
        result["expired"] = now.isoformat(timespec="seconds")
        job.result = json.dumps(result, ensure_ascii=False)
        expired += 1
    session.flush()
    return expired


def store_file(store: Store, relative: str, source: Path) -> tuple[str, int]:
    """Put the local file `source` (moved, not copied) in the store at `relative`, replacing
    what an earlier attempt of the same job left there; its SHA-256 and size."""
    store.discard(relative)
    staged = store.staging_dir(relative) / f"{TEMP_PREFIX}{uuid.uuid4().hex}-{PurePosixPath(relative).name}"
    shutil.move(source, staged)
    try:
        with staged.open("rb") as handle:
            sha256, size = hash_stream(handle)
        store.place(relative, staged)
    finally:
        staged.unlink(missing_ok=True)
    return sha256, size


def store_bytes(store: Store, relative: str, data: bytes) -> str:
    handle, temp = tempfile.mkstemp(prefix="canyue-upload-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return store_file(store, relative, Path(temp))[0]


# --- importing past issues --------------------------------------------------------------------


def start_import(session: Session, user: Any, files: list[Any], refused: list[Any]) -> Job:
    """An import job for the brief files (archive.importer.ImportFile) that passed the upload's
    checks, each put in the store first (imports/<token>/) so the worker on any machine reads
    it; `refused` (ImportOutcome) are the files already refused, listed in its result."""
    store, token = file_store(), uuid.uuid4().hex
    staged = []
    for index, item in enumerate(files):
        entry: dict[str, Any] = {"name": item.name, "text": f"{IMPORTS}/{token}/{index}.md"}
        entry["text_sha256"] = store_bytes(store, entry["text"], item.text.encode("utf-8"))
        if item.pdf is not None:
            entry["pdf"] = f"{IMPORTS}/{token}/{index}.pdf"
            entry["pdf_sha256"] = store_bytes(store, entry["pdf"], item.pdf)
        staged.append(entry)
    return start(session, IMPORT, user, {"files": staged, "refused": [outcome_json(o) for o in refused]})


def discard_uploads(payload: dict[str, Any]) -> None:
    store = file_store()
    for entry in payload.get("files", []):
        for key in ("text", "pdf"):
            if entry.get(key):
                store.discard(entry[key])


def outcome_json(outcome: Any) -> dict[str, Any]:
    if outcome.refusal is not None:
        return {"name": outcome.name, "refusal": outcome.refusal.to_json()}
    return {"name": outcome.name, "brief_id": outcome.brief_id, "archive_code": outcome.archive_code}


def import_outcomes(job: Job) -> list[Any]:
    """What became of each file of an import job so far (archive.importer.ImportOutcome)."""
    from archive.importer import ImportOutcome

    return [ImportOutcome(o["name"], o.get("brief_id"), o.get("archive_code"),
                          Problem.from_json(o["refusal"]) if o.get("refusal") else None)
            for o in result_of(job).get("outcomes", [])]
