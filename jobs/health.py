"""What the job queue tells operations (monitoring/): /readyz asks whether huey's store (the
SQLite file, or Redis) answers; /metrics shows the queue's depth and the failed jobs, counted
from the `job` table (the truth: huey's store may lose a task, the row stays)."""

from __future__ import annotations

from sqlalchemy import func, select

from jobs.queue import queue


def queue_reachable() -> None:
    """Raises when huey's store does not answer (Redis down, the SQLite file unwritable)."""
    queue().huey.pending_count()


def queue_figures() -> dict[str, int]:
    """depth: jobs queued and not yet taken by a worker; failed: jobs that wait for the admin."""
    from extensions import db
    from models import Job

    counts = dict(db.session.execute(select(Job.state, func.count(Job.id))
                                     .where(Job.state.in_(("queued", "failed"))).group_by(Job.state)).all())
    return {"depth": int(counts.get("queued", 0)), "failed": int(counts.get("failed", 0))}


def init_queue_health() -> None:
    from monitoring import add_readiness_check
    from monitoring.metrics import set_queue_probe

    add_readiness_check("queue", queue_reachable)
    set_queue_probe(queue_figures)
