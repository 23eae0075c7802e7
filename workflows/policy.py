"""The one place that answers "may this user do this to this brief, or to this copy?".

`can(user, brief, action)` is asked by every view before it acts, by `apply_transition`
again inside the transaction, and by `available_actions`, which decides the buttons a
page shows. The same `can` answers for a numbered copy of an issue (`can(user, copy,
"dispatch")`, workflows/copy.py) and for an issue's distribution (`can(user, brief,
"view_distribution")`); `available_copy_actions` decides a copy's buttons. A refusal says
why, and its kind decides the HTTP answer:
NOT_FOUND (404: may not even see it), ROLE or OWNERSHIP (403), STATE (409).

It also answers for a user account (`can(admin, account, "reset_password")`, `_can_account`):
the three administrators (三员分立, workflows/roles.py) keep to their own work — the admin
manages accounts but grants no role and cannot touch the accounts of the two who watch them,
the security administrator grants roles but not to themselves, and none of the three reads a
brief by being an administrator.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, literal, or_, true

from workflows.brief import (
    EDITABLE_STATES,
    ISSUED_STATES,
    NUMBERED_STATES,
    SEPARATION_GUARDS,
    TRANSITIONS,
    Actor,
    State,
    Transition,
    not_author,
)
from workflows.copy import CLOSED_STATES, COPY_MOVERS, COPY_TRANSITIONS, CopyState, CopyTransition
from workflows.i18n import N_
from workflows.roles import ADMINISTRATOR_ROLES, Role


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
# Word files and images (wordfiles/, figures/): a .docx read in as a new revision and an
# uploaded image change the content, so they follow EDIT; the .docx export follows READ.
IMPORT_WORD = "import_word"
UPLOAD_IMAGE = "upload_image"
EXPORT_WORD = "export_word"

# 领导批示 (instructions/): registered on an issue, and their follow-up (批示落实) kept.
REGISTER_INSTRUCTION = "register_instruction"
FOLLOW_UP = "follow_up"
INSTRUCTION_ACTIONS = frozenset({REGISTER_INSTRUCTION, FOLLOW_UP})
INSTRUCTION_KEEPERS = frozenset({Role.EDITOR, Role.CLERK})

# The comment thread (comments/) and a brief's own deadline (inbox/due.py).
COMMENT = "comment"
SET_DEADLINE = "set_deadline"
COMMENTERS = frozenset({Role.EDITOR, Role.SIGNER})
OPEN_STATES = frozenset({State.DRAFT, State.IN_REVIEW, State.AWAITING_SIGNOFF, State.SIGNED})

REVIEW_STATES = frozenset(
    {State.IN_REVIEW, State.AWAITING_SIGNOFF, State.SIGNED, State.PUBLISHED, State.ARCHIVED, State.ANNULLED,
     State.REISSUED}
)


def _is_anonymous(user: Any) -> bool:
    return user is None or not getattr(user, "is_authenticated", False)


# Roles whose holders read no brief at all by holding them: an account with only these roles
# does not even read the published issues that every other account reads.
NO_CONTENT_ROLES = frozenset({Role.AUDITOR})


def reads_issues(roles: frozenset[str]) -> bool:
    """Does an account with `roles` read published issues (those its series leaves open)?
    Every account does — a leader's account with no role at all included — except one
    holding nothing but roles that read no content (the auditor's)."""
    return not roles or bool(roles - NO_CONTENT_ROLES)


def _classified_readers(roles: frozenset[str]) -> frozenset[str]:
    """The roles that may count as a series' classified readers: never an administrator's."""
    return roles - ADMINISTRATOR_ROLES


# A secretary linked to a signing leader reads the briefs awaiting sign-off (to record a
# sign-off made on paper) and, once signed, until they are published (what they recorded).
SECRETARY_STATES = frozenset({State.AWAITING_SIGNOFF, State.SIGNED})


def secretary_of_signer(user: Actor) -> bool:
    """A secretary linked to at least one signing leader reads the briefs of SECRETARY_STATES
    (a leader signs for every series), to record a sign-off made on paper."""
    return Role.SECRETARY in user.role_set and any(
        Role.SIGNER in leader.role_set for leader in getattr(user, "acting_for", ()))


def can_read(user: Actor, brief: Any) -> bool:
    if _is_anonymous(user):
        return False
    if getattr(brief, "deleted_at", None) is not None:  # a deleted draft is hidden from everyone
        return False
    roles = user.role_set
    state = State(brief.state)
    if brief.author_id == user.id:
        return True
    if state in SECRETARY_STATES and secretary_of_signer(user):
        return True
    if roles & {Role.EDITOR, Role.SIGNER}:
        if state in REVIEW_STATES:
            return True
        # A brief withdrawn while in review stays visible to those who were reviewing it.
        if state is State.WITHDRAWN and brief.submitted_at is not None:
            return True
    # An annulled issue is read as it was when issued (marked annulled), so that those who
    # hold its copies learn of it and return them.
    if state not in NUMBERED_STATES:
        return False
    # Archivists read every issue; no administrator's role reads any (三员分立).
    if Role.ARCHIVIST in roles:
        return True
    if not reads_issues(roles):
        return False
    # Published issues are read by every account, unless the series classifies their 密级.
    series = brief.series
    if brief.classification and brief.classification in series.classified_level_set:
        return bool(_classified_readers(roles) & series.classified_reader_set)
    return True


def readable_clause(user: Actor, brief_cls: Any) -> ColumnElement[bool]:
    """`can_read` as a SQL condition on the Brief model, for lists and counts.

    The two must agree; tests compare them for every role and state.
    """
    if _is_anonymous(user):
        return false()
    roles = user.role_set
    conditions = [brief_cls.author_id == user.id]
    if Role.ARCHIVIST in roles or reads_issues(roles):
        issued = brief_cls.state.in_([s.value for s in NUMBERED_STATES])
        if Role.ARCHIVIST not in roles:
            issued = and_(issued, ~_classified_for(user, brief_cls))
        conditions.append(issued)
    if secretary_of_signer(user):
        conditions.append(brief_cls.state.in_([s.value for s in SECRETARY_STATES]))
    if roles & {Role.EDITOR, Role.SIGNER}:
        conditions.append(brief_cls.state.in_([s.value for s in REVIEW_STATES]))
        conditions.append(and_(brief_cls.state == State.WITHDRAWN.value, brief_cls.submitted_at.is_not(None)))
    return and_(brief_cls.deleted_at.is_(None), or_(*conditions))


def _classified_for(user: Actor, brief_cls: Any) -> ColumnElement[bool]:
    """The brief's series classifies its 密级 and lets none of the user's roles read it."""
    from models.series import Series  # the SQL twin of can_read needs the series' settings

    def listed(column: Any, value: Any) -> ColumnElement[bool]:
        return (literal(",") + column + literal(",")).like(literal("%,") + value + literal(",%"))

    allowed = [listed(Series.classified_readers, literal(role)) for role in sorted(_classified_readers(user.role_set))]
    return exists().where(
        Series.id == brief_cls.series_id,
        brief_cls.classification != "",
        listed(Series.classified_levels, brief_cls.classification),
        ~or_(*allowed) if allowed else true(),
    )


def _check_transition(user: Actor, brief: Any, transition: Transition) -> Decision:
    correction_author = (transition.correction_author and getattr(brief, "corrects_id", None) is not None
                         and brief.author_id == user.id)
    if not (user.role_set & transition.roles or correction_author):
        return Decision(Refusal.ROLE, N_("Your role does not allow this action."))
    for guard in transition.guards:
        message = guard(user, brief)
        if message:
            return Decision(Refusal.OWNERSHIP, message)
    delegate = getattr(user, "delegate", None)
    if delegate is not None:  # 委托: separation of duties holds for the delegate too
        for guard in transition.guards:
            message = guard(delegate, brief) if guard in SEPARATION_GUARDS else None
            if message:
                return Decision(Refusal.OWNERSHIP, message)
    if State(brief.state) not in transition.sources:
        return Decision(Refusal.STATE, N_("This action is not possible in the brief's current state."))
    for condition in transition.conditions:
        message = condition(user, brief)
        if message:
            return Decision(Refusal.STATE, message)
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


def _check_thread(user: Actor, brief: Any, action: str) -> Decision:
    """The thread is between the author, the editors and the signers who read the brief; the
    editors set a deadline on a brief still on its way to publication."""
    if getattr(user, "delegate", None) is not None:
        return _ROLE_REFUSAL
    roles = user.role_set
    if action == COMMENT:
        if brief.author_id != user.id and not roles & COMMENTERS:
            return _ROLE_REFUSAL
        return ALLOWED
    if Role.EDITOR not in roles:
        return _ROLE_REFUSAL
    if State(brief.state) not in OPEN_STATES:
        return Decision(Refusal.STATE, N_("A deadline is set only on a brief not yet published."))
    return ALLOWED


@dataclass(frozen=True)
class OnBehalf:
    """委托: `delegate` acting for `principal` in `role` (an active delegation). Reads and moves
    as the principal, holding only that role; the separation-of-duty guards are judged for
    both (`_check_transition`). `inbox.delegation` builds them from the delegations in force."""

    principal: Any
    delegate: Any
    role: str
    until: Any = None  # the delegation's last day, for the pages
    is_authenticated: bool = True

    @property
    def id(self) -> int:
        return self.principal.id

    @property
    def display_name(self) -> str:
        return self.principal.display_name

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset({self.role}) & self.principal.role_set & self.delegate.role_set


def can(user: Actor, brief: Any, action: str) -> Decision:
    """May `user` take `action` ("read", "edit", a lifecycle action or a distribution action)
    on `brief` now? Given a copy instead of a brief, answers for the copy (`_can_copy`)."""
    kind = getattr(brief, "subject_type", "brief")
    if kind == "copy":
        return _can_copy(user, brief, action)
    if kind == "user":
        return _can_account(user, brief, action)
    if not can_read(user, brief):
        return Decision(Refusal.NOT_FOUND, N_("This brief does not exist or you may not see it."))
    if action in (READ, EXPORT_WORD):
        return ALLOWED
    if action in (COMMENT, SET_DEADLINE):
        return _check_thread(user, brief, action)
    if getattr(user, "delegate", None) is not None and action not in TRANSITIONS:
        return _ROLE_REFUSAL  # a delegate makes the colleague's moves, nothing else in their name
    if action in (EDIT, IMPORT_WORD, UPLOAD_IMAGE):
        return _check_edit(user, brief)
    if action in DISTRIBUTION_ACTIONS:
        return _check_distribution(user, brief, action)
    if action in INSTRUCTION_ACTIONS:
        return _check_instruction(user, brief)
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ValueError(f"unknown action {action!r}")
    return _check_transition(user, brief, transition)


# Actions that concern no single brief, and the roles that may take them.
GENERAL_ACTIONS: dict[str, frozenset[Role]] = {
    "create_brief": frozenset({Role.DRAFTER}),
    # Accounts: the admin makes and keeps them, the security administrator grants their roles.
    "view_users": frozenset({Role.ADMIN, Role.SECURITY_ADMIN}),
    "manage_users": frozenset({Role.ADMIN}),
    "assign_roles": frozenset({Role.SECURITY_ADMIN}),
    "unlock_accounts": frozenset({Role.SECURITY_ADMIN}),
    "set_security_policy": frozenset({Role.SECURITY_ADMIN}),  # e.g. who must use 2FA
    # Series: the admin sets them up; who reads their classified issues is security policy.
    "view_series": frozenset({Role.ADMIN, Role.SECURITY_ADMIN}),
    "manage_series": frozenset({Role.ADMIN}),
    "classify_series": frozenset({Role.SECURITY_ADMIN}),
    "manage_archive": frozenset({Role.ARCHIVIST}),
    "manage_recipients": frozenset({Role.EDITOR, Role.ADMIN}),
    "view_recipients": frozenset({Role.EDITOR, Role.CLERK, Role.ARCHIVIST, Role.ADMIN}),
    "distribution": frozenset({Role.EDITOR, Role.CLERK}),
    # 领导批示: the list of follow-ups (批示落实).
    "follow_ups": INSTRUCTION_KEEPERS,
    # 代签: which secretary acts for which leaders.
    "manage_secretaries": frozenset({Role.SECURITY_ADMIN}),
    # 成果统计: the year-end figures, for the editors and the series' leaders (stats/).
    "view_statistics": frozenset({Role.EDITOR, Role.SIGNER}),
    # 委托: name a colleague with the same role to act for you while you are away.
    "delegate": frozenset({Role.DRAFTER, Role.EDITOR, Role.SIGNER, Role.ARCHIVIST, Role.CLERK}),
    # Working days: the organisation's own days off (beyond the official holidays).
    "manage_days_off": frozenset({Role.ADMIN}),
    # The auditor's screens: the security log, the audit trail and its verification.
    "view_security_log": frozenset({Role.AUDITOR}),
    "view_audit_trail": frozenset({Role.AUDITOR}),
    "verify_audit": frozenset({Role.AUDITOR}),
    # The background jobs (jobs/): retry one that failed (a mail the server refused, say).
    "retry_jobs": frozenset({Role.ADMIN}),
    "run_maintenance": frozenset({Role.ADMIN}),  # backup, fixity verification, reindex, PDF backfill
}

# Reading briefs at all (their lists, the archive, search): every account but the auditor's.
BROWSE_BRIEFS = "browse_briefs"
# One's own notifications and their settings: every signed-in account, whatever its roles.
OWN_NOTIFICATIONS = "own_notifications"


def may(user: Actor, action: str) -> Decision:
    """May `user` take an action that concerns no single brief (create one, administer)?"""
    if _is_anonymous(user):
        return Decision(Refusal.ROLE, N_("Please log in."))
    if action == BROWSE_BRIEFS:
        allowed = reads_issues(user.role_set)
    elif action == OWN_NOTIFICATIONS:
        allowed = True
    else:
        allowed = bool(user.role_set & GENERAL_ACTIONS[action])
    if not allowed:
        return Decision(Refusal.ROLE, N_("Your role does not allow this action."))
    return ALLOWED


# ---------------------------------------------------------------------------------------------
# User accounts (三员分立)
# ---------------------------------------------------------------------------------------------

EDIT_ACCOUNT = "edit_account"  # username, name as printed, language
RESET_PASSWORD = "reset_password"
DEACTIVATE = "deactivate"
ACTIVATE = "activate"
ASSIGN_ROLES = "assign_roles"
ACCOUNT_ACTIONS = frozenset({EDIT_ACCOUNT, RESET_PASSWORD, DEACTIVATE, ACTIVATE, ASSIGN_ROLES})

# The admin's overseers: their accounts are changed from the command line, never by the admin.
OVERSEER_ROLES = frozenset({Role.SECURITY_ADMIN, Role.AUDITOR})


def _can_account(user: Actor, account: Any, action: str) -> Decision:
    """May `user` change `account` (its details, password, active flag, roles)?"""
    if action not in ACCOUNT_ACTIONS:
        raise ValueError(f"unknown account action {action!r}")
    if _is_anonymous(user):
        return Decision(Refusal.ROLE, N_("Please log in."))
    if action == ASSIGN_ROLES:
        if Role.SECURITY_ADMIN not in user.role_set:
            return _ROLE_REFUSAL
        if account.id == user.id:
            return Decision(Refusal.OWNERSHIP, N_(
                "Nobody grants roles to themselves: another security administrator, or the command line, "
                "changes your roles."))
        return ALLOWED
    if Role.ADMIN not in user.role_set:
        return _ROLE_REFUSAL
    if account.role_set & OVERSEER_ROLES and account.id != user.id:
        return Decision(Refusal.ROLE, N_(
            "The accounts of the security administrator and the auditor are not the system administrator's "
            "to change; use the command line (flask user …)."))
    if action == DEACTIVATE and account.id == user.id:
        return Decision(Refusal.OWNERSHIP, N_("You cannot deactivate yourself."))
    return ALLOWED


def available_actions(user: Actor, brief: Any) -> list[Transition]:
    """The lifecycle moves `user` may make on `brief` now: the buttons its page shows."""
    if not can_read(user, brief):
        return []
    return [t for t in TRANSITIONS.values() if can(user, brief, t.action)]


# ---------------------------------------------------------------------------------------------
# Distribution: an issue's list and board, and its numbered copies (workflows/copy.py)
# ---------------------------------------------------------------------------------------------

VIEW_LIST = "view_list"  # the brief's distribution list, before and after publication
EDIT_LIST = "edit_list"  # change it (until publication)
VIEW_DISTRIBUTION = "view_distribution"  # the board of an issue's copies
RECALL = "recall"  # 收回 an issue
BULK_MOVES = "bulk_moves"  # dispatch every copy, record a batch of receipts
DISTRIBUTION_ACTIONS = frozenset({VIEW_LIST, EDIT_LIST, VIEW_DISTRIBUTION, RECALL, BULK_MOVES})

# Copy actions that are not moves of its state machine.
DOWNLOAD = "download"  # fetch the copy's PDF
SHARE = "share"  # make or revoke a download link

# Who sees an issue's copies: their recipients, signatures and history.
DISTRIBUTION_READERS = frozenset({Role.EDITOR, Role.CLERK, Role.ARCHIVIST, Role.ADMIN})
LIST_STATES = frozenset({State.DRAFT, State.IN_REVIEW, State.AWAITING_SIGNOFF, State.SIGNED})

_ROLE_REFUSAL = Decision(Refusal.ROLE, N_("Your role does not allow this action."))


def _check_distribution(user: Actor, brief: Any, action: str) -> Decision:
    roles = user.role_set
    state = State(brief.state)
    if action == VIEW_LIST:
        return ALLOWED
    if action == EDIT_LIST:
        if Role.EDITOR not in roles:
            return _ROLE_REFUSAL
        if state not in LIST_STATES:
            return Decision(Refusal.STATE, N_("The distribution list is settled at publication; it can no longer be changed."))
        return ALLOWED
    wanted = {VIEW_DISTRIBUTION: DISTRIBUTION_READERS, RECALL: frozenset({Role.EDITOR}), BULK_MOVES: COPY_MOVERS}
    if not roles & wanted[action]:
        return _ROLE_REFUSAL
    # An annulled issue's copies are still tracked (they come back, recalled by the annulment).
    if state not in NUMBERED_STATES:
        return Decision(Refusal.STATE, N_("Copies are made when the issue is published."))
    return ALLOWED


def _check_instruction(user: Actor, brief: Any) -> Decision:
    if not user.role_set & INSTRUCTION_KEEPERS:
        return _ROLE_REFUSAL
    if State(brief.state) not in ISSUED_STATES:
        return Decision(Refusal.STATE, N_("Instructions are registered on an issue once it is published."))
    return ALLOWED


def _owns_copy(user: Actor, copy: Any) -> bool:
    recipient = copy.recipient
    return recipient is not None and recipient.user_id is not None and recipient.user_id == user.id


def _can_copy(user: Actor, copy: Any, action: str) -> Decision:
    """A copy is seen by those who see its issue's distribution, and by its own recipient."""
    hidden = Decision(Refusal.NOT_FOUND, N_("This copy does not exist or you may not see it."))
    if not can_read(user, copy.brief):
        return hidden
    roles = user.role_set
    own = _owns_copy(user, copy)
    if not (roles & DISTRIBUTION_READERS or own):
        return hidden
    if action == READ:
        return ALLOWED
    state = CopyState(copy.state)
    if action in (DOWNLOAD, SHARE):
        if not (roles & COPY_MOVERS or (own and action == DOWNLOAD)):
            return _ROLE_REFUSAL
        if copy.recalled or state in CLOSED_STATES or state is CopyState.LOST:
            return Decision(Refusal.STATE, N_("This copy has been recalled or is no longer out; it cannot be fetched."))
        return ALLOWED
    transition = COPY_TRANSITIONS.get(action)
    if transition is None:
        raise ValueError(f"unknown copy action {action!r}")
    return _check_copy_transition(user, copy, transition)


def _check_copy_transition(user: Actor, copy: Any, transition: CopyTransition) -> Decision:
    if not user.role_set & transition.roles:
        return _ROLE_REFUSAL
    if CopyState(copy.state) not in transition.sources:
        return Decision(Refusal.STATE, N_("This is not possible in the copy's current state."))
    for guard in transition.guards:
        message = guard(user, copy)
        if message:
            return Decision(Refusal.STATE, message)
    return ALLOWED


def available_copy_actions(user: Actor, copy: Any) -> list[CopyTransition]:
    """The moves `user` may make on `copy` now: the buttons its page shows."""
    if not can(user, copy, READ):
        return []
    return [t for t in COPY_TRANSITIONS.values() if can(user, copy, t.action)]
