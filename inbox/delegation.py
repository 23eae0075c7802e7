"""委托: a user away names a colleague with the same role for a period. While it is in force the
delegate sees the principal's 待办 and may make the principal's moves, through `can()` with an
`OnBehalf` actor: the principal's authority, both people's separation of duties; the audit trail
records the move as the delegate's, "代 X 办理" (workflows/transitions.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.due import today as local_today
from models import Delegation, User
from models.types import utcnow
from securitylog.operations import log_security_event
from workflows.i18n import N_
from workflows.policy import OnBehalf
from workflows.roles import Role

DELEGABLE = frozenset({Role.DRAFTER, Role.EDITOR, Role.SIGNER, Role.ARCHIVIST, Role.CLERK})
LONGEST_DAYS = 366


class DelegationRefused(ValueError):
    """The delegation is not acceptable; the message is marked for translation."""


def in_force(session: Session, *, delegate_id: int | None = None, principal_id: int | None = None,
             on: date | None = None) -> list[Delegation]:
    day = on or local_today()
    query = select(Delegation).where(Delegation.revoked_at.is_(None), Delegation.starts_on <= day,
                                     Delegation.ends_on >= day)
    if delegate_id is not None:
        query = query.where(Delegation.delegate_id == delegate_id)
    if principal_id is not None:
        query = query.where(Delegation.principal_id == principal_id)
    return list(session.scalars(query.order_by(Delegation.id)))


def acting_for(session: Session, user: Any, on: date | None = None) -> list[OnBehalf]:
    """The colleagues `user` may act for today, as actors for `can()`."""
    if not getattr(user, "is_authenticated", False):
        return []
    return [OnBehalf(d.principal, user, d.role, d.ends_on) for d in in_force(session, delegate_id=user.id, on=on)
            if d.principal.active and d.role in d.principal.role_set and d.role in user.role_set]


def create(session: Session, principal: User, delegate: User | None, role: str, starts_on: date,
           ends_on: date) -> Delegation:
    if delegate is None or not delegate.active:
        raise DelegationRefused(N_("Choose an active colleague."))
    if delegate.id == principal.id:
        raise DelegationRefused(N_("You cannot delegate to yourself."))
    if role not in DELEGABLE or role not in principal.role_set:
        raise DelegationRefused(N_("You can delegate only a role you hold."))
    if role not in delegate.role_set:
        raise DelegationRefused(N_("The colleague must hold the same role."))
    if ends_on < starts_on:
        raise DelegationRefused(N_("The period ends before it starts."))
    if ends_on < local_today():
        raise DelegationRefused(N_("The period is already over."))
    if (ends_on - starts_on).days >= LONGEST_DAYS:
        raise DelegationRefused(N_("A delegation lasts at most a year."))
    row = Delegation(principal_id=principal.id, delegate_id=delegate.id, role=role, starts_on=starts_on,
                     ends_on=ends_on)
    session.add(row)
    session.flush()
    log_security_event(session, "delegation_created", principal, subject_id=delegate.id,
                       detail={"delegate": delegate.username, "role": role, "from": starts_on.isoformat(),
                               "to": ends_on.isoformat()})
    return row


def revoke(session: Session, principal: User, delegation_id: int) -> Delegation:
    row = session.get(Delegation, delegation_id)
    if row is None or row.principal_id != principal.id or row.revoked_at is not None:
        raise DelegationRefused(N_("This delegation does not exist or has already ended."))
    row.revoked_at = utcnow()
    session.flush()
    log_security_event(session, "delegation_revoked", principal, subject_id=row.delegate_id,
                       detail={"delegation": row.id})
    return row
