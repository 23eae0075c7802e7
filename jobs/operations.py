"""Writes to the job outbox. `enqueue` is called inside the caller's transaction (set, flush,
never commit); the row's id reaches the queue only after that transaction commits."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobs import queue as job_queue
from jobs.registry import KINDS, JobKind
from models import Job
from models.types import utcnow

ERROR_LENGTH = 2000


class JobFailed(Exception):
    """Raised by a handler when trying again cannot help (a tampered file in an export): the
    job is `failed` at once, shown to the admin, instead of being retried."""


class JobNotRetryable(Exception):
    """Only a failed job is retried by hand."""


def enqueue(session: Session, kind: str, payload: dict[str, Any] | None = None, *,
            delay: float = 0.0, total: int | None = None, unique_key: str | None = None) -> Job:
    """A job of `kind` as a row of this transaction; handed to a worker once it commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    now = utcnow()
    job = Job(kind=kind, payload=json.dumps(payload or {}, ensure_ascii=False, sort_keys=True), state="queued",
              attempts=0, next_attempt_at=now + timedelta(seconds=delay), created_at=now, progress=0, total=total,
              unique_key=unique_key)
    session.add(job)
    session.flush()
    job_queue.remember(session, job.id, delay)
    return job


def enqueue_once(session: Session, kind: str, unique_key: str, payload: dict[str, Any] | None = None) -> Job | None:
    """Like `enqueue`, unless a job with `unique_key` exists (another worker's scheduler made
    it): then nothing, None. In a savepoint, so the caller's transaction goes on either way."""
    try:
        with session.begin_nested():
            return enqueue(session, kind, payload, unique_key=unique_key)
    except IntegrityError:  # raised by the insert, before the id was remembered for the queue
        return None


def periodic_key(kind: str, when: datetime) -> str:
    """The key of a periodic job's run: its kind and the minute it is due (UTC)."""
    return f"periodic:{kind}:{when.astimezone(UTC).strftime('%Y-%m-%dT%H:%M')}"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(session: Session, job_id: int, worker: str) -> Job | None:
    """Take a queued, due job for `worker` (counting the attempt), or None if it is not one:
    done already, run by another worker, or not due yet. A duplicate delivery is harmless."""
    now = utcnow()
    job = session.get(Job, job_id)
    if job is None or job.kind not in KINDS:
        return None
    lease = timedelta(seconds=KINDS[job.kind].lease_seconds)
    claimed = session.execute(
        update(Job).where(Job.id == job_id, Job.state == "queued", Job.next_attempt_at <= now + timedelta(seconds=1))
        .values(state="running", attempts=Job.attempts + 1, started_at=now, claimed_by=worker,
                lease_until=now + lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return None
    session.refresh(job)
    return job


def backoff(kind: JobKind, attempts: int) -> timedelta:
    return timedelta(seconds=min(kind.backoff_seconds * 2 ** max(attempts - 1, 0), 86400.0))


def mark_done(session: Session, job: Job) -> None:
    job.state, job.finished_at, job.lease_until, job.last_error = "done", utcnow(), None, None
    # The total may have been set by JobContext.progress (another connection): read it back.
    total = session.scalar(select(Job.total).where(Job.id == job.id))
    if total is not None:
        job.total, job.progress = total, total
    session.flush()


def mark_failure(session: Session, job: Job, error: str, *, final: bool = False) -> float | None:
    """After a failed attempt: queued again after a backoff (its delay in seconds returned), or
    `failed` for good once the kind's attempts are spent (None)."""
    kind = KINDS[job.kind]
    now = utcnow()
    job.last_error = error[:ERROR_LENGTH]
    job.claimed_by = job.lease_until = None
    if final or job.attempts >= kind.max_attempts:
        job.state, job.finished_at = "failed", now
        session.flush()
        return None
    wait = backoff(kind, job.attempts)
    job.state, job.next_attempt_at = "queued", now + wait
    session.flush()
    return wait.total_seconds()


def retry(session: Session, job_id: int) -> Job:
    """A failed job, queued again with its attempts counted afresh (the admin's retry button)."""
    job = session.get(Job, job_id)
    if job is None:
        raise LookupError(job_id)
    if job.state != "failed":
        raise JobNotRetryable(job.state)
    job.state, job.attempts, job.next_attempt_at, job.finished_at = "queued", 0, utcnow(), None
    session.flush()
    job_queue.remember(session, job.id)
    return job


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reclaim_abandoned(session: Session, *, startup: bool = False) -> list[int]:
    """Running jobs whose worker is gone: their lease is over, or (when a worker starts) they
    were claimed on this machine by a process that no longer exists. Queued again now (the
    attempt that died counts), or failed if that was the last. Returns the re-queued ids."""
    now = utcnow()
    host = socket.gethostname()
    requeued = []
    for job in session.scalars(select(Job).where(Job.state == "running").with_for_update()):
        owner_host, _, pid = (job.claimed_by or "").rpartition(":")
        expired = job.lease_until is None or job.lease_until < now
        dead = startup and owner_host == host and pid.isdigit() and not _alive(int(pid))
        if not (expired or dead):
            continue
        delay = mark_failure(session, job, f"the worker ({job.claimed_by}) stopped during the job")
        if delay is not None:
            job.next_attempt_at = now
            requeued.append(job.id)
    session.flush()
    return requeued


def due_ids(session: Session, *, older_than: float = 0.0, limit: int = 500) -> list[int]:
    """Queued jobs due for at least `older_than` seconds: those the queue may have lost."""
    cutoff = utcnow() - timedelta(seconds=older_than)
    return list(session.scalars(select(Job.id).where(Job.state == "queued", Job.next_attempt_at <= cutoff)
                                .order_by(Job.next_attempt_at, Job.id).limit(limit)))


@dataclass(frozen=True)
class QueueStatus:
    failed: int
    waiting: int
    oldest_waiting_at: datetime | None
    failed_jobs: list[Job]


def queue_status(session: Session, limit: int = 20) -> QueueStatus:
    """What the admin's home shows: failed jobs (the latest), and what is waiting."""
    return QueueStatus(
        failed=int(session.scalar(select(func.count(Job.id)).where(Job.state == "failed")) or 0),
        waiting=int(session.scalar(select(func.count(Job.id)).where(Job.state.in_(("queued", "running")))) or 0),
        oldest_waiting_at=session.scalar(select(func.min(Job.next_attempt_at)).where(Job.state == "queued")),
        failed_jobs=list(session.scalars(select(Job).where(Job.state == "failed")
                                         .order_by(Job.finished_at.desc(), Job.id.desc()).limit(limit))),
    )


class JobContext:
    """What a handler gets: its session (commit is the worker's), the payload, progress."""

    def __init__(self, session: Session, job: Job, engine: Any):
        self.session = session
        self.job = job
        self.payload: dict[str, Any] = json.loads(job.payload or "{}")
        self._engine = engine

    def progress(self, done: int, total: int | None = None) -> None:
        """Record how far a long job got (its own short transaction, seen at once) and extend
        the worker's claim on it. A long job may commit its work in batches
        (ctx.session.commit()); on SQLite call this after such a commit, never while the job's
        session holds uncommitted writes (the two connections would wait on each other)."""
        kind = KINDS[self.job.kind]
        values: dict[str, Any] = {"progress": done, "lease_until": utcnow() + timedelta(seconds=kind.lease_seconds)}
        if total is not None:
            values["total"] = total
        with self._engine.begin() as connection:
            connection.execute(update(Job.__table__).where(Job.__table__.c.id == self.job.id).values(**values))
