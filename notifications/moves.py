"""After each lifecycle move (workflows.transitions.MOVE_LISTENERS): notify the users who may
now make a forward move on the brief — the moves of the lifecycle table that are someone's
to-do (`Transition.todo`), asked of `workflows.policy.can` for the active users holding their
roles — and the author when their brief is published, returned or sent back. Never the actor.

The move is noted on the session, and the notifications are written just before its
transaction commits (still inside it: a commit that fails writes none), so that they see the
brief as the whole operation leaves it — a correction's request is the move plus its pending
correction, which is what makes the signers' 待办. Several moves of one brief in one
transaction (the demo, the tests' factories) make one to-do, for the last.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import AuditEvent, Brief, User, UserRole
from notifications.kinds import PUBLISHED, RETURNED, TODO
from notifications import reminders  # noqa: F401  the daily reminder, a periodic job
from notifications.operations import notify
from workflows.brief import LIFECYCLE, TRANSITIONS, State, Transition
from workflows.policy import can
from workflows.transitions import MOVE_LISTENERS

# Moves after which the author is told, and what kind of news it is.
AUTHOR_NEWS = {"publish": PUBLISHED, "return": RETURNED, "send_back": RETURNED}


def forward_moves(state: State, *, in_place: bool = False) -> list[Transition]:
    """The to-do moves from `state`; after a move that left the state as it was (a correction's
    request), only those that leave it too: what the others could do before, they still can."""
    return [t for t in LIFECYCLE if t.todo is not None and state in t.sources and (t.target is None or not in_place)]


def who_has_work(session: Session, brief: Brief, *, in_place: bool = False) -> dict[int, Transition]:
    """Active users who may make a forward move on `brief` now, each with the first such move."""
    moves = forward_moves(State(brief.state), in_place=in_place)
    if not moves:
        return {}
    roles = sorted({role.value for t in moves for role in t.roles})
    candidates = session.scalars(
        select(User).where(User.active.is_(True), or_(
            User.id == brief.author_id,
            User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(roles))),
        )).order_by(User.id)
    ).all()
    found: dict[int, Transition] = {}
    for user in candidates:
        for move in moves:
            if can(user, brief, move.action):
                found[user.id] = move
                break
    return found


PENDING = "canyue.notifications.moves"


def after_move(session: Session, brief: Brief, actor: Any, event: AuditEvent) -> None:
    session.info.setdefault(PENDING, []).append((brief, actor, event.action, event.reason or ""))


def notify_moves(session: Session) -> None:
    """Write the notifications of the moves noted on the session (before its commit)."""
    moves = session.info.pop(PENDING, None)
    if not moves:
        return
    last: dict[int, tuple[Brief, Any, str, str, bool]] = {}
    for brief, actor, action, reason in moves:
        news = AUTHOR_NEWS.get(action)
        told = news is not None and brief.author_id != getattr(actor, "id", None)
        if told:
            notify(session, [brief.author_id], news, brief, actor, event=action, reason=reason)
        last[id(brief)] = (brief, actor, action, reason, told)
    session.flush()
    for brief, actor, action, reason, author_told in last.values():
        session.expire(brief)  # as the operation leaves it (its pending correction, say)
        by_move: dict[str, list[int]] = {}
        for user_id, move in who_has_work(session, brief, in_place=TRANSITIONS[action].target is None).items():
            if not (author_told and user_id == brief.author_id):
                by_move.setdefault(move.action, []).append(user_id)
        for move_action, user_ids in by_move.items():
            notify(session, user_ids, TODO, brief, actor, event=action, move=move_action, reason=reason)


def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)


if after_move not in MOVE_LISTENERS:
    MOVE_LISTENERS.append(after_move)
    sa_event.listen(Session, "before_commit", notify_moves)
    sa_event.listen(Session, "after_rollback", _forget)
