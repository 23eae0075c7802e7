"""After each lifecycle move (workflows.transitions.MOVE_LISTENERS): notify the users who may
now make a forward move on the brief — the moves of the lifecycle table that are someone's
to-do (`Transition.todo`), asked of `workflows.policy.can` for the active users holding their
roles — and the author when their brief is published, returned or sent back. Never the actor.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import AuditEvent, Brief, User, UserRole
from notifications.kinds import PUBLISHED, RETURNED, TODO
from notifications.operations import notify
from workflows.brief import LIFECYCLE, State, Transition
from workflows.policy import can
from workflows.transitions import MOVE_LISTENERS

# Moves after which the author is told, and what kind of news it is.
AUTHOR_NEWS = {"publish": PUBLISHED, "return": RETURNED, "send_back": RETURNED}


def forward_moves(state: State) -> list[Transition]:
    return [t for t in LIFECYCLE if t.todo is not None and state in t.sources]


def who_has_work(session: Session, brief: Brief) -> dict[int, Transition]:
    """Active users who may make a forward move on `brief` now, each with the first such move."""
    moves = forward_moves(State(brief.state))
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


def after_move(session: Session, brief: Brief, actor: Any, event: AuditEvent) -> None:
    action = event.action
    told: set[int] = set()
    news = AUTHOR_NEWS.get(action)
    if news is not None and brief.author_id != getattr(actor, "id", None):
        notify(session, [brief.author_id], news, brief, actor, event=action, reason=event.reason or "")
        told.add(brief.author_id)
    by_move: dict[str, list[int]] = {}
    for user_id, move in who_has_work(session, brief).items():
        if user_id not in told:
            by_move.setdefault(move.action, []).append(user_id)
    for move_action, user_ids in by_move.items():
        notify(session, user_ids, TODO, brief, actor, event=action, move=move_action, reason=event.reason or "")


if after_move not in MOVE_LISTENERS:
    MOVE_LISTENERS.append(after_move)
