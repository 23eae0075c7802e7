"""The one place that answers "may this user do this to this brief?".

`can(user, brief, action)` is asked by every view before it acts, by `apply_transition`
again inside the transaction, and by `available_actions`, which decides the buttons a
page shows. A refusal says why, and its kind decides the HTTP answer:
NOT_FOUND (404: may not even see it), ROLE or OWNERSHIP (403), STATE (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from workflows.brief import EDITABLE_STATES, TRANSITIONS, Actor, State, Transition, not_author
from workflows.i18n import N_
from workflows.roles import Role


class Refusal(StrEnum):
    NOT_FOUND = "not_found"
    ROLE = "role"
    OWNERSHIP = "ownership"
    STATE = "state"


@dataclass(frozen=True)
class Decision:
    refusal: Refusal | None = None
    message: str = ""

    def __bool__(self) -> bool:
        return self.refusal is None


ALLOWED = Decision()

# Actions that are not moves of the state machine.
READ = "read"
EDIT = "edit"

REVIEW_STATES = frozenset(
    {State.IN_REVIEW, State.AWAITING_SIGNOFF, State.SIGNED, State.PUBLISHED, State.ARCHIVED}
)
ISSUED_STATES = frozenset({State.PUBLISHED, State.ARCHIVED})


def _is_anonymous(user: Any) -> bool:
    return user is None or not getattr(user, "is_authenticated", False)


def can_read(user: Actor, brief: Any) -> bool:
    if _is_anonymous(user):
        return False
    roles = user.role_set
    state = State(brief.state)
    if brief.author_id == user.id:
        return True
    if roles & {Role.EDITOR, Role.SIGNER}:
        if state in REVIEW_STATES:
            return True
        # A brief withdrawn while in review stays visible to those who were reviewing it.
        if state is State.WITHDRAWN and brief.submitted_at is not None:
            return True
    # Published issues are read by every account (archive and classification rules: issue 5).
    return state in ISSUED_STATES


def readable_clause(user: Actor, brief_cls: Any) -> ColumnElement[bool]:
    """`can_read` as a SQL condition on the Brief model, for lists and counts.

    The two must agree; tests compare them for every role and state.
    """
    if _is_anonymous(user):
        return false()
    conditions = [brief_cls.author_id == user.id, brief_cls.state.in_([s.value for s in ISSUED_STATES])]
    if user.role_set & {Role.EDITOR, Role.SIGNER}:
        conditions.append(brief_cls.state.in_([s.value for s in REVIEW_STATES]))
        conditions.append(and_(brief_cls.state == State.WITHDRAWN.value, brief_cls.submitted_at.is_not(None)))
    return or_(*conditions)


def _check_transition(user: Actor, brief: Any, transition: Transition) -> Decision:
    if not user.role_set & transition.roles:
        return Decision(Refusal.ROLE, N_("Your role does not allow this action."))
    for guard in transition.guards:
        message = guard(user, brief)
        if message:
            return Decision(Refusal.OWNERSHIP, message)
    if State(brief.state) not in transition.sources:
        return Decision(Refusal.STATE, N_("This action is not possible in the brief's current state."))
    return ALLOWED


def _check_edit(user: Actor, brief: Any) -> Decision:
    """The author edits a draft; an editor other than the author edits it in review."""
    state = State(brief.state)
    is_author = brief.author_id == user.id
    is_editor = Role.EDITOR in user.role_set
    if not (is_author or is_editor):
        return Decision(Refusal.ROLE, N_("Your role does not allow this action."))
    if state not in EDITABLE_STATES:
        return Decision(Refusal.STATE, N_("The text is frozen once approved; it can no longer be edited."))
    if state is State.DRAFT and not is_author:
        return Decision(Refusal.OWNERSHIP, N_("Only the author may edit a draft."))
    if state is State.IN_REVIEW and is_author:
        if is_editor:
            return Decision(Refusal.OWNERSHIP, not_author(user, brief) or "")
        return Decision(
            Refusal.STATE, N_("The brief is in review; you can edit it again if it is returned.")
        )
    return ALLOWED


def can(user: Actor, brief: Any, action: str) -> Decision:
    """May `user` take `action` ("read", "edit" or a lifecycle action) on `brief` now?"""
    if not can_read(user, brief):
        return Decision(Refusal.NOT_FOUND, N_("This brief does not exist or you may not see it."))
    if action == READ:
        return ALLOWED
    if action == EDIT:
        return _check_edit(user, brief)
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ValueError(f"unknown action {action!r}")
    return _check_transition(user, brief, transition)


# Actions that concern no single brief, and the roles that may take them.
GENERAL_ACTIONS: dict[str, frozenset[Role]] = {
    "create_brief": frozenset({Role.DRAFTER}),
    "manage_users": frozenset({Role.ADMIN}),
    "manage_series": frozenset({Role.ADMIN}),
    "manage_archive": frozenset({Role.ARCHIVIST}),
}


def may(user: Actor, action: str) -> Decision:
    """May `user` take an action that concerns no single brief (create one, administer)?"""
    if _is_anonymous(user):
        return Decision(Refusal.ROLE, N_("Please log in."))
    if not user.role_set & GENERAL_ACTIONS[action]:
        return Decision(Refusal.ROLE, N_("Your role does not allow this action."))
    return ALLOWED


def available_actions(user: Actor, brief: Any) -> list[Transition]:
    """The lifecycle moves `user` may make on `brief` now: the buttons its page shows."""
    if not can_read(user, brief):
        return []
    return [t for t in TRANSITIONS.values() if can(user, brief, t.action)]
