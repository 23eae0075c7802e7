"""The worker: runs jobs handed over by huey, and the one scheduler (periodic jobs, the sweep).

`flask --app app worker` calls `run`; tests may call `drain` to run what is due in-process.
"""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from huey import crontab

from extensions import db
from jobs import operations
from jobs.queue import queue
from jobs.registry import KINDS, PERIODIC, Periodic

log = logging.getLogger(__name__)


def execute(app: Flask, job_id: int, worker: str | None = None) -> str:
    """Claim the job, run its handler, and record the outcome: "done", "retry", "failed", or
    "skipped" (not queued and due: a duplicate delivery, or done already)."""
    worker = worker or operations.worker_id()
    with app.app_context():
        session = db.session
        try:
            job = operations.claim(session, job_id, worker)
            session.commit()
            if job is None:
                return "skipped"
            context = operations.JobContext(session, job, db.engine)
            try:
                KINDS[job.kind].handler(context)
                if job not in session:  # the handler ended the session (a backup's snapshot does)
                    job = session.merge(job)
                operations.mark_done(session, job)
                session.commit()
                return "done"
            except Exception as error:
                session.rollback()
                log.warning("job %s (%s) failed: %s", job_id, KINDS[job.kind].name, error)
                job = session.get(operations.Job, job_id)
                assert job is not None
                detail = "".join(traceback.format_exception_only(type(error), error)).strip()
                delay = operations.mark_failure(session, job, detail,
                                                final=isinstance(error, operations.JobFailed))
                session.commit()
                if delay is None:
                    return "failed"
                queue(app).send(job_id, delay)
                return "retry"
        finally:
            db.session.remove()


def sweep(app: Flask, *, startup: bool = False) -> list[int]:
    """Re-queue what a dead worker left running, and hand over again the due jobs the queue may
    have lost (all due ones when a worker starts; later, those due for over a minute)."""
    with app.app_context():
        try:
            operations.reclaim_abandoned(db.session, startup=startup)
            db.session.commit()
            ids = operations.due_ids(db.session, older_than=0.0 if startup else 60.0)
            db.session.commit()
        finally:
            db.session.remove()
    for job_id in ids:
        queue(app).send(job_id)
    return ids


def enqueue_periodic(app: Flask, entry: Periodic, when: datetime | None = None) -> bool:
    """Start this minute's run of a periodic job, unless another worker's scheduler did."""
    key = operations.periodic_key(entry.kind, when or datetime.now(UTC))
    with app.app_context():
        try:
            made = operations.enqueue_once(db.session, entry.kind, key, entry.payload)
            db.session.commit()
        finally:
            db.session.remove()
    return made is not None


def drain(app: Flask, *, rounds: int = 50) -> list[tuple[int, str]]:
    """Run every job that is due, here and now, until none is (tests; `flask worker --once`).
    Returns (job id, outcome) for each run."""
    ran: list[tuple[int, str]] = []
    for _ in range(rounds):
        with app.app_context():
            try:
                operations.reclaim_abandoned(db.session)
                db.session.commit()
                ids = operations.due_ids(db.session)
                db.session.commit()
            finally:
                db.session.remove()
        if not ids:
            break
        ran.extend((job_id, execute(app, job_id)) for job_id in ids)
    return ran


def run(app: Flask, *, workers: int = 2) -> None:
    """Run the consumer until stopped (SIGINT: finish the jobs under way; SIGTERM: stop now —
    what was running is re-queued by the next worker). It runs the one scheduler too."""
    job_queue = queue(app)
    huey = job_queue.huey
    huey.periodic_task(crontab(minute="*"), name="canyue.sweep")(lambda: sweep(app))
    for entry in PERIODIC:
        def start(entry: Periodic = entry) -> None:
            enqueue_periodic(app, entry)
        huey.periodic_task(entry.schedule, name=f"canyue.periodic.{entry.kind}")(start)
    requeued = sweep(app, startup=True)
    if requeued:
        log.info("worker: %d unfinished job(s) handed over again", len(requeued))
    consumer: Any = huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                         initial_delay=0.1, max_delay=2.0, check_worker_health=True)
    consumer.run()
