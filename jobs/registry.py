"""What jobs exist: each kind's handler and retry settings, and the periodic jobs the worker's
one scheduler starts. Features register theirs at import:

    from jobs.registry import job_kind, periodic

    @job_kind("archive.fixity", max_attempts=3, lease_seconds=3600)
    def check_fixity(ctx: JobContext) -> None:
        for done, item in enumerate(items, 1):
            ...
            ctx.progress(done, len(items))   # long jobs: shown with the job, extends the lease

    periodic("archive.fixity", crontab(day_of_week="0", hour="3", minute="0"))

A periodic entry enqueues a job of its kind (a row like any other) at each time it names; the
job then runs, and is retried, like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from huey import crontab

__all__ = ["KINDS", "PERIODIC", "JobKind", "Periodic", "crontab", "job_kind", "periodic"]


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Callable[[Any], None]  # called with a jobs.operations.JobContext
    max_attempts: int = 5
    # Waits between attempts: backoff_seconds, then doubled each time (capped at a day).
    backoff_seconds: float = 30.0
    # How long a worker's claim on a running job holds before another may take the job over.
    lease_seconds: float = 600.0


@dataclass(frozen=True)
class Periodic:
    kind: str
    schedule: Callable[[Any], bool]  # huey's crontab(...) or any datetime -> bool
    payload: dict[str, Any] = field(default_factory=dict)


KINDS: dict[str, JobKind] = {}
PERIODIC: list[Periodic] = []


def job_kind(name: str, **settings: Any) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    def register(handler: Callable[[Any], None]) -> Callable[[Any], None]:
        KINDS[name] = JobKind(name, handler, **settings)
        return handler

    return register


def periodic(kind: str, schedule: Callable[[Any], bool], payload: dict[str, Any] | None = None) -> None:
    """Enqueue a job of `kind` whenever `schedule` (e.g. crontab(hour="8", minute="0")) says so."""
    if not any(p.kind == kind and p.payload == (payload or {}) for p in PERIODIC):
        PERIODIC.append(Periodic(kind, schedule, dict(payload or {})))
