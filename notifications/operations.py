"""Writes of notifications: set, flush, never commit (the caller commits once).

`notify(session, user_ids, kind, brief, actor=None, **params)` is the one way to tell users
something: comments' @mentions, reminders and follow-ups call it too. The params (JSON) are
kept with the notification and given to its texts (e.g. `event` = the move, `reason`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from jobs.operations import enqueue
from models import Brief, Notification, NotificationPreference, User
from models.types import utcnow
from notifications.kinds import KINDS
from notifications.mail import MAIL_JOB  # registers the mail job kind


def mail_configured() -> bool:
    return has_app_context() and bool(current_app.config.get("CANYUE_MAIL_HOST"))


def notify(session: Session, user_ids: Iterable[int], kind: str, brief: Brief | None, actor: Any = None,
           **params: Any) -> list[Notification]:
    """A notification of `kind` about `brief` for each active user of `user_ids` but the actor,
    and for those who chose mail for this kind and have an address, a mail job (sent by the
    worker after this transaction commits; none if it is rolled back)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    wanted = set(user_ids) - ({actor.id} if actor is not None else set())
    if not wanted:
        return []
    if brief is not None and brief.id is None:
        session.flush()
    users = session.scalars(select(User).where(User.id.in_(wanted), User.active.is_(True)).order_by(User.id)).all()
    now = utcnow()
    text = json.dumps(params, ensure_ascii=False, sort_keys=True, default=str)
    made = [Notification(user_id=u.id, kind=kind, brief_id=brief.id if brief is not None else None,
                         actor_id=actor.id if actor is not None else None,
                         actor_name=actor.display_name if actor is not None else "", params=text, created_at=now)
            for u in users]
    session.add_all(made)
    session.flush()
    if mail_configured():
        by_mail = mail_choices(session, [u.id for u in users if u.email], kind)
        for user, notification in zip(users, made, strict=True):
            if user.email and by_mail.get(user.id, True):
                enqueue(session, MAIL_JOB, {"notification_id": notification.id})
    return made


def mail_choices(session: Session, user_ids: list[int], kind: str) -> dict[int, bool]:
    """Each user's choice for `kind` (absent: the default, also by mail)."""
    if not user_ids:
        return {}
    rows = session.execute(select(NotificationPreference.user_id, NotificationPreference.by_mail).where(
        NotificationPreference.user_id.in_(user_ids), NotificationPreference.kind == kind))
    return {user_id: by_mail for user_id, by_mail in rows}


def preferences(session: Session, user_id: int) -> dict[str, bool]:
    """kind -> also by mail, for every kind."""
    rows = dict(session.execute(select(NotificationPreference.kind, NotificationPreference.by_mail)
                                .where(NotificationPreference.user_id == user_id)).all())
    return {kind: rows.get(kind, True) for kind in KINDS}


def set_preferences(session: Session, user: User, email: str | None, by_mail: Mapping[str, bool]) -> None:
    user.email = (email or "").strip() or None
    for kind in KINDS:
        row = session.get(NotificationPreference, (user.id, kind))
        if row is None:
            session.add(NotificationPreference(user_id=user.id, kind=kind, by_mail=bool(by_mail.get(kind))))
        else:
            row.by_mail = bool(by_mail.get(kind))
    session.flush()


def unread_count(session: Session, user_id: int) -> int:
    return int(session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0)


def mark_read(session: Session, user_id: int, notification_id: int) -> bool:
    """Mark the user's own notification read; False if it is not theirs (or does not exist)."""
    found = session.scalar(select(Notification.id).where(Notification.id == notification_id,
                                                         Notification.user_id == user_id))
    if found is None:
        return False
    session.execute(update(Notification).where(Notification.id == notification_id, Notification.read_at.is_(None))
                    .values(read_at=utcnow()).execution_options(synchronize_session=False))
    return True


def mark_all_read(session: Session, user_id: int) -> int:
    return session.execute(update(Notification).where(Notification.user_id == user_id,
                                                      Notification.read_at.is_(None))
                           .values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount
