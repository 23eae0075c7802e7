"""Starting long work for someone, and what it left: set, flush — the caller commits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.operations import enqueue
from models import Job

# The long kinds (kinds.py registers their handlers) and the general action (workflows.policy)
# that starting one, following it and fetching its result each need.
EXPORT = "archive.export"
VERIFY = "archive.verify"
REINDEX = "archive.reindex"
BACKFILL = "brief.backfill_pdfs"
BACKUP = "backup.create"
ACTION_OF = {EXPORT: "manage_archive", VERIFY: "run_maintenance", REINDEX: "run_maintenance",
             BACKFILL: "run_maintenance", BACKUP: "run_maintenance"}


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


def exports_dir() -> Path:
    """Where finished exports wait for download: a folder per job (CANYUE_EXPORTS_DIR)."""
    configured = current_app.config.get("CANYUE_EXPORTS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "exports"


def export_file(job: Job) -> Path | None:
    """The finished export's zip, if it is still there."""
    name = result_of(job).get("file")
    if job.kind != EXPORT or job.state != "done" or not name:
        return None
    path = exports_dir() / str(job.id) / Path(name).name
    return path if path.is_file() else None
