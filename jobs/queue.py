"""huey, the queue library: it carries a job row's id from the process that committed the row to
a worker, and runs the one scheduler of periodic jobs. Why huey: it is small, maintained, has an
embedded backend that needs no server (SQLite, a file in instance/) and a production one
(Redis) behind the same API, and runs its consumer (threads, a scheduler) from our own command.
Celery needs a broker server even on one machine. Either way the row in the database is the
truth (jobs/__init__.py), so huey's own store may be lost without losing a job.

CANYUE_JOBS_URL: empty (default) — SQLite file instance/jobs.sqlite3; sqlite:////path/file;
redis://host:6379/0 (or rediss://) — Redis; memory:// — this process only (tests, which run
the worker in-process with jobs.worker.drain).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from sqlalchemy import event
from sqlalchemy.orm import Session

EXTENSION = "canyue.jobs"
PENDING = "canyue.jobs.pending"  # session.info: (job id, delay) to hand over after commit
TASK_NAME = "canyue.run_job"

log = logging.getLogger(__name__)


def make_huey(app: Flask) -> Huey:
    url = (app.config.get("CANYUE_JOBS_URL") or "").strip()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("canyue", url=url, results=False)
    if url == "memory://":
        return MemoryHuey("canyue", results=False)
    if url.startswith("sqlite:///"):
        return SqliteHuey("canyue", filename=url[len("sqlite:///"):], results=False)
    if url:
        raise ValueError(f"CANYUE_JOBS_URL: not a redis://, sqlite:/// or memory:// address: {url!r}")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return SqliteHuey("canyue", filename=str(Path(app.instance_path) / "jobs.sqlite3"), results=False)


class JobQueue:
    """The app's huey, made on first use (a command that sends no job opens no queue)."""

    def __init__(self, app: Flask):
        self.app = app
        self._huey: Huey | None = None
        self._task: Any = None
        self._lock = threading.Lock()

    @property
    def huey(self) -> Huey:
        with self._lock:
            if self._huey is None:
                from jobs import worker

                huey = make_huey(self.app)
                app = self.app
                self._task = huey.task(name=TASK_NAME)(lambda job_id: worker.execute(app, job_id))
                self._huey = huey
            return self._huey

    def send(self, job_id: int, delay: float = 0.0) -> None:
        """Hand the row's id to the workers; if the queue cannot take it now, the row waits
        for the sweep (jobs.worker.sweep), so nothing is lost."""
        try:
            self.huey  # noqa: B018  makes the task
            if delay > 0:
                self._task.schedule(args=(job_id,), delay=delay)
            else:
                self._task(job_id)
        except Exception:  # the queue's store is down: the row is there, the sweep re-sends it
            log.exception("job %s: could not hand it to the queue; the sweep will", job_id)


def queue(app: Flask | None = None) -> JobQueue:
    return (app or current_app).extensions[EXTENSION]  # type: ignore[no-any-return]


def remember(session: Session, job_id: int, delay: float = 0.0) -> None:
    session.info.setdefault(PENDING, []).append((job_id, delay))


def _after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if not pending or not has_app_context() or EXTENSION not in current_app.extensions:
        return
    for job_id, delay in pending:
        queue().send(job_id, delay)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)  # the rows are gone with the transaction: send nothing


_listening = False


def init_jobs(app: Flask) -> None:
    global _listening
    app.extensions[EXTENSION] = JobQueue(app)
    from jobs.health import init_queue_health

    init_queue_health()  # /readyz checks the queue; /metrics shows its depth and failed jobs
    if not _listening:
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
        _listening = True
