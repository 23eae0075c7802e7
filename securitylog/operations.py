"""Writing and reading the security log. Like every operation: flush, never commit."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models import AuditEvent
from workflows.transitions import record_event

SECURITY = "security"


def log_security_event(
    session: Session,
    action: str,
    actor: Any,
    *,
    detail: dict[str, Any] | None = None,
    subject_id: int = 0,
    actor_name: str | None = None,
) -> AuditEvent:
    """Append a security event (e.g. "login", "login_failed", "roles_changed").

    `actor` is the user who acted, or None (a failed sign-in of an unknown name: say who was
    tried in `detail`, and `actor_name` to show); `subject_id` the user or record concerned."""
    return record_event(
        session, None, action, actor, from_state=None, to_state=None,
        reason=json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None,
        subject_type=SECURITY, subject_id=subject_id, actor_name=actor_name,
    )


def security_events(
    *, since: datetime | None = None, until: datetime | None = None, actions: list[str] | None = None,
    actor_id: int | None = None,
) -> Select[tuple[AuditEvent]]:
    """The security log, newest first, filtered."""
    query = select(AuditEvent).where(AuditEvent.subject_type == SECURITY)
    if since is not None:
        query = query.where(AuditEvent.created_at >= since)
    if until is not None:
        query = query.where(AuditEvent.created_at < until)
    if actions:
        query = query.where(AuditEvent.action.in_(actions))
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    return query.order_by(AuditEvent.global_seq.desc())


def event_detail(event: AuditEvent) -> dict[str, Any]:
    return json.loads(event.reason) if event.reason else {}
