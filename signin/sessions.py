"""Server-side sessions: a row of user_session per signed-in browser. The (signed) session
cookie carries only a random id, of which the database keeps the SHA-256. Every request looks
the row up: logging out deletes it, a password change deletes the user's others, deactivation
and password resets rotate the user's session token; a cookie captured earlier is then worth
nothing, even though its signature is still good. Idle and absolute lifetimes are checked on the
server against the row. Operations flush, never commit, except `touch` (its own transaction)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from models import UserSession
from models.types import utcnow


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(session: Session, user_id: int, *, address: str, user_agent: str, method: str) -> str:
    """A new session for `user_id`: returns the id for the cookie (never stored as it is)."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(UserSession(id=_digest(session_id), user_id=user_id, created_at=now, last_seen_at=now,
                            address=address[:64], user_agent=user_agent[:200], method=method))
    session.flush()
    return session_id


def find_session(session: Session, session_id: str | None, user_id: int, *, idle: timedelta,
                 lifetime: timedelta, now: datetime | None = None) -> UserSession | None:
    """The live session of `user_id` with this id: None if it ended, idled out or is too old."""
    if not session_id:
        return None
    row = session.get(UserSession, _digest(session_id))
    now = now or utcnow()
    if row is None or row.user_id != user_id:
        return None
    if now - row.last_seen_at >= idle or now - row.created_at >= lifetime:
        return None
    return row


def touch(engine: Engine, row_id: str, last_seen: datetime, *, idle: timedelta, now: datetime | None = None) -> None:
    """Record activity on the session `row_id` (last seen at `last_seen`), at most every few
    seconds, in its own transaction: GET requests, which commit nothing, keep their session
    alive too. Called at the end of the request (the idle time counts from there)."""
    now = now or utcnow()
    if now - last_seen < min(timedelta(seconds=30), idle / 10):
        return
    table = UserSession.__table__
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # Never wait long: should the request's own session hold SQLite's write lock,
                # this activity is recorded at the next request instead.
                conn.exec_driver_sql("PRAGMA busy_timeout=1000")
            conn.execute(update(table).where(table.c.id == row_id).values(last_seen_at=now))
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA busy_timeout=30000")
    except OperationalError:
        return


def end_session(session: Session, session_id: str | None) -> None:
    if session_id:
        session.execute(delete(UserSession).where(UserSession.id == _digest(session_id)))


def end_user_sessions(session: Session, user_id: int, *, keep: str | None = None) -> int:
    """End every session of the user (but `keep`, the one making the change)."""
    query = delete(UserSession).where(UserSession.user_id == user_id)
    if keep:
        query = query.where(UserSession.id != _digest(keep))
    return session.execute(query).rowcount or 0


def purge_expired(session: Session, *, idle: timedelta, lifetime: timedelta) -> None:
    now = utcnow()
    session.execute(delete(UserSession).where(or_(UserSession.last_seen_at < now - idle,
                                                   UserSession.created_at < now - lifetime)))


def user_sessions(session: Session, user_id: int) -> list[UserSession]:
    return list(session.scalars(select(UserSession).where(UserSession.user_id == user_id)
                                .order_by(UserSession.last_seen_at.desc())))
