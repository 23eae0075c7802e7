"""The background jobs' outbox (jobs/): every job is first a row, written in the transaction of
the move that causes it, and marked done only after its work succeeded. The queue library
(huey) only carries a row's id to a worker; the row is the truth, so a worker killed mid-job
loses nothing (jobs/operations.py re-queues what was left unfinished)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.types import UTCDateTime, utcnow

JOB_STATES = ("queued", "running", "done", "failed")


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="known_state"),
        Index("ix_job_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))  # a name of jobs.registry.KINDS
    payload: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)  # counted when a worker claims the job
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The worker running it ("host:pid") and until when its claim holds: past that, or when
    # that process is gone, the job is queued again.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # For long jobs: how far it got, of how much (set through JobContext.progress).
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    # Long work started by someone (longwork/): who may follow it and fetch its result, and
    # that result (JSON: the export's file, the verification's report), written when done.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    result: Mapped[str | None] = mapped_column(Text)
    # At most one job per key: a periodic job's kind and minute, so that several workers (each
    # runs the scheduler) start it once ("periodic:archive.verify:2026-12-06T02:30").
    unique_key: Mapped[str | None] = mapped_column(String(150), unique=True)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.state}>"
