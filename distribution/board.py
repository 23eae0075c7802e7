"""An issue's distribution at a glance: copies by state, outstanding and overdue receipts, the
recall's progress, each copy's history; and a recipient's copies across issues."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Brief, Copy, DistributionRecall, DownloadLink, DownloadLog
from models.types import utcnow
from workflows.copy import CLOSED_STATES, CopyState
from workflows.dispatch import copies_of, recall_of


@dataclass
class Board:
    brief: Brief
    copies: list[Copy]
    counts: dict[CopyState, int]
    outstanding: list[Copy]  # dispatched, not yet signed for
    overdue: list[Copy]  # of those, dispatched longer ago than the limit
    overdue_days: int
    recall: DistributionRecall | None
    downloads: dict[int, int] = field(default_factory=dict)  # copy id -> downloads

    @property
    def total(self) -> int:
        return len(self.copies)

    @property
    def in_office(self) -> int:
        """Copies still to be dispatched."""
        return sum(1 for c in self.copies if c.state == CopyState.PRINTED.value and not c.recalled)

    @property
    def recalled(self) -> list[Copy]:
        return [c for c in self.copies if c.recalled]

    @property
    def recall_done(self) -> int:
        """Flagged copies since returned or destroyed."""
        return sum(1 for c in self.recalled if CopyState(c.state) in CLOSED_STATES)

    def bars(self, width: int = 240) -> list[tuple[CopyState, int, int]]:
        """(state, count, bar length) for the chart: the longest bar is `width` units."""
        top = max(self.counts.values(), default=0) or 1
        return [(state, n, round(width * n / top)) for state, n in self.counts.items()]


def board(session: Session, brief: Brief, overdue_days: int, now: datetime | None = None) -> Board:
    now = now or utcnow()
    copies = copies_of(session, brief.id)
    counted = Counter(CopyState(c.state) for c in copies)
    counts = {state: counted.get(state, 0) for state in CopyState}
    outstanding = [c for c in copies if c.state == CopyState.DISPATCHED.value]
    limit = now - timedelta(days=overdue_days)
    overdue = [c for c in outstanding if c.dispatched_at is not None and c.dispatched_at < limit]
    downloads = dict(session.execute(
        select(DownloadLog.copy_id, func.count(DownloadLog.id))
        .join(Copy, Copy.id == DownloadLog.copy_id).where(Copy.brief_id == brief.id)
        .group_by(DownloadLog.copy_id)
    ).all())
    return Board(brief, copies, counts, outstanding, overdue, overdue_days, recall_of(session, brief.id), downloads)


def copy_history(session: Session, copy: Copy) -> list[AuditEvent]:
    return list(session.scalars(
        select(AuditEvent)
        .where(AuditEvent.brief_id == copy.brief_id, AuditEvent.subject_type == "copy", AuditEvent.subject_id == copy.id)
        .order_by(AuditEvent.seq)
    ))


def histories(session: Session, brief: Brief) -> dict[int, list[AuditEvent]]:
    """Every copy's events, by copy id, in order."""
    found: dict[int, list[AuditEvent]] = {}
    for event in session.scalars(
        select(AuditEvent).where(AuditEvent.brief_id == brief.id, AuditEvent.subject_type == "copy")
        .order_by(AuditEvent.seq)
    ):
        found.setdefault(event.subject_id, []).append(event)
    return found


def links_of(session: Session, copy: Copy) -> list[DownloadLink]:
    return list(session.scalars(select(DownloadLink).where(DownloadLink.copy_id == copy.id).order_by(DownloadLink.id)))


def downloads_of(session: Session, copy: Copy) -> list[DownloadLog]:
    return list(session.scalars(select(DownloadLog).where(DownloadLog.copy_id == copy.id).order_by(DownloadLog.id)))


def recipient_copies(session: Session, recipient_id: int) -> list[Copy]:
    """Every copy a recipient was ever given, newest issue first."""
    return list(session.scalars(
        select(Copy).join(Brief, Brief.id == Copy.brief_id).where(Copy.recipient_id == recipient_id)
        .order_by(Brief.issue_date.desc(), Brief.id.desc(), Copy.number)
    ))


@dataclass
class IssueSummary:
    brief: Brief
    total: int
    counts: dict[str, int]
    overdue: int
    recalled: bool


def issues_with_copies(session: Session, overdue_days: int, limit: int = 100,
                       now: datetime | None = None) -> list[IssueSummary]:
    """The latest issues that have copies, with their counts (the distribution overview)."""
    now = now or utcnow()
    briefs = session.scalars(
        select(Brief).where(Brief.id.in_(select(Copy.brief_id).distinct()))
        .order_by(Brief.published_at.desc(), Brief.id.desc()).limit(limit)
    ).all()
    if not briefs:
        return []
    ids = [b.id for b in briefs]
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    for brief_id, state, n in session.execute(
        select(Copy.brief_id, Copy.state, func.count(Copy.id)).where(Copy.brief_id.in_(ids))
        .group_by(Copy.brief_id, Copy.state)
    ):
        counts[brief_id][state] = n
    limit_at = now - timedelta(days=overdue_days)
    overdue = dict(session.execute(
        select(Copy.brief_id, func.count(Copy.id))
        .where(Copy.brief_id.in_(ids), Copy.state == CopyState.DISPATCHED.value, Copy.dispatched_at < limit_at)
        .group_by(Copy.brief_id)
    ).all())
    recalled = set(session.scalars(select(DistributionRecall.brief_id).where(DistributionRecall.brief_id.in_(ids))))
    return [IssueSummary(b, sum(counts[b.id].values()), counts[b.id], overdue.get(b.id, 0), b.id in recalled)
            for b in briefs]
