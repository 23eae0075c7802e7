"""The daily reminder's list: every overdue brief with whoever holds it and its editor.

`overdue_reminders(session)` answers (user, brief, why) triples: `why` is "holder" for each
person who may take the waiting step (workflows/holders.py, through can()), "editor" for the
brief's 责任编辑 (who approved it) when they do not hold it themselves, and "delegate" for a
colleague standing in for a holder (委托). The job queue's daily periodic job sends them
(notifications); this module only decides who is reminded of what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox import delegation
from inbox.due import today as local_today
from inbox.holders import HolderResolver
from inbox.queries import overdue
from models import Brief, User
from workflows.holders import held_moves


@dataclass(frozen=True)
class Reminder:
    user: User
    brief: Brief
    why: str  # "holder", "delegate" or "editor"


def overdue_briefs(session: Session, today: date | None = None) -> list[Brief]:
    day = today or local_today()
    return list(session.scalars(select(Brief).where(overdue(day), Brief.deleted_at.is_(None)).order_by(Brief.due_on,
                                                                                                       Brief.id)))


def overdue_reminders(session: Session, today: date | None = None) -> list[Reminder]:
    day = today or local_today()
    resolver = HolderResolver(session)
    reminders: list[Reminder] = []
    for brief in overdue_briefs(session, day):
        holding = resolver.holding(brief)
        told = set()
        for user in holding.users:
            reminders.append(Reminder(user, brief, "holder"))
            told.add(user.id)
            for standing_in in delegation.in_force(session, principal_id=user.id, on=day):
                actor = next((a for a in delegation.acting_for(session, standing_in.delegate, on=day)
                              if a.principal.id == user.id), None)
                if actor is not None and standing_in.delegate_id not in told and held_moves(actor, brief):
                    reminders.append(Reminder(standing_in.delegate, brief, "delegate"))
                    told.add(standing_in.delegate_id)
        editor = session.get(User, brief.approved_by_id) if brief.approved_by_id else None
        if editor is not None and editor.active and editor.id not in told:
            reminders.append(Reminder(editor, brief, "editor"))
    return reminders


def pairs(session: Session, today: date | None = None) -> list[tuple[Any, Any]]:
    """(user id, brief id) for each reminder: what the periodic job iterates."""
    return [(r.user.id, r.brief.id) for r in overdue_reminders(session, today)]
