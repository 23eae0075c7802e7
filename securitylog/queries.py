"""What the auditor's screens read: the security log and the briefs' audit trail, filtered by
time, kind and user, a page at a time. Read only: nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from models import AuditEvent
from securitylog.events import ACCOUNT_EVENTS
from securitylog.operations import SECURITY, security_events

PER_PAGE = 50


@dataclass
class EventFilter:
    since: date | None = None  # from the start of this day (the installation's time zone)
    until: date | None = None  # to the end of this day
    actions: list[str] = field(default_factory=list)
    user_id: int | None = None  # who acted, or (for account events) whom it concerned
    brief_id: int | None = None  # the audit trail only


def _bounds(flt: EventFilter, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    since = datetime.combine(flt.since, time(), zone) if flt.since else None
    until = datetime.combine(flt.until + timedelta(days=1), time(), zone) if flt.until else None
    return since, until


def security_log_query(flt: EventFilter, zone: ZoneInfo) -> Select[tuple[AuditEvent]]:
    """The security log, newest first."""
    since, until = _bounds(flt, zone)
    query = security_events(since=since, until=until, actions=flt.actions or None)
    if flt.user_id is not None:
        query = query.where(or_(
            AuditEvent.actor_id == flt.user_id,
            and_(AuditEvent.action.in_(sorted(ACCOUNT_EVENTS)), AuditEvent.subject_id == flt.user_id),
        ))
    return query


def audit_trail_query(flt: EventFilter, zone: ZoneInfo) -> Select[tuple[AuditEvent]]:
    """Every other event of the keyed trail (briefs, copies, the installation's checkpoints),
    newest first."""
    since, until = _bounds(flt, zone)
    query = select(AuditEvent).where(AuditEvent.subject_type != SECURITY)
    if since is not None:
        query = query.where(AuditEvent.created_at >= since)
    if until is not None:
        query = query.where(AuditEvent.created_at < until)
    if flt.actions:
        query = query.where(AuditEvent.action.in_(flt.actions))
    if flt.user_id is not None:
        query = query.where(AuditEvent.actor_id == flt.user_id)
    if flt.brief_id is not None:
        query = query.where(AuditEvent.brief_id == flt.brief_id)
    return query.order_by(AuditEvent.global_seq.desc())


def page_of(session: Session, query: Select[tuple[AuditEvent]], page: int,
            per_page: int = PER_PAGE) -> tuple[list[AuditEvent], bool]:
    """One page (from 1) of the query's events, and whether more follow."""
    page = max(page, 1)
    rows = list(session.scalars(query.offset((page - 1) * per_page).limit(per_page + 1)))
    return rows[:per_page], len(rows) > per_page


def kinds_present(session: Session, security: bool) -> list[str]:
    """The kinds of event the log (or the trail) holds, for the filter's choices."""
    kind = AuditEvent.subject_type == SECURITY if security else AuditEvent.subject_type != SECURITY
    return sorted(session.scalars(select(AuditEvent.action).where(kind).distinct()))
