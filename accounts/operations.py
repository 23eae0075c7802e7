"""Creating and changing accounts, and granting roles. Each operation asks the policy
(workflows.policy.can / may), applies the change, writes it to the security log, flushes and
never commits.

`actor` is the user acting through the web, or None for the command line: `flask --app app
user …` is the installation's root of trust (whoever runs it holds the server), so it is not
asked the policy — it is how the first security administrator and auditor get their roles —
but it is logged like everyone else, under `command_line_name()`, and it too cannot give one
person two of the three administrators' roles (workflows.roles.check_separation)."""

from __future__ import annotations

import getpass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import User
from securitylog.operations import log_security_event
from workflows.i18n import N_
from workflows.policy import ACTIVATE, ASSIGN_ROLES, DEACTIVATE, EDIT_ACCOUNT, RESET_PASSWORD, can, may
from workflows.roles import Role, check_separation
from workflows.transitions import ActionRefused


class AccountProblem(Exception):
    """The input cannot be saved (a taken username); `field` names the form field concerned.
    The message is marked for translation."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def command_line_name() -> str:
    """How the security log names the command line: with the system account that ran it."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "?"
    return f"command line ({who})"


def _log(session: Session, action: str, actor: Any, account: User, **detail: Any) -> None:
    log_security_event(session, action, actor, subject_id=account.id, detail={"username": account.username, **detail},
                       actor_name=None if actor is not None else command_line_name())


def _check(actor: Any, account: User, action: str) -> None:
    if actor is None:
        return
    decision = can(actor, account, action)
    if not decision:
        raise ActionRefused(decision)


def _username_free(session: Session, username: str, account: User | None) -> None:
    clash = session.scalar(select(User).where(User.username == username))
    if clash is not None and clash is not account:
        raise AccountProblem("username", N_("This username is taken."))


def create_account(
    session: Session, actor: Any, *, username: str, display_name: str, password: str, locale: str = "zh_CN",
    roles: set[str] | frozenset[str] = frozenset(), email: str | None = None, **request_detail: Any,
) -> User:
    """A new active account. The admin gives it no role (the security administrator does,
    `assign_roles`); the command line may give roles at once."""
    if actor is not None:
        decision = may(actor, "manage_users")
        if not decision:
            raise ActionRefused(decision)
    _username_free(session, username, None)
    account = User(username=username, display_name=display_name.strip(), locale=locale,
                   email=(email or "").strip() or None)
    account.set_password(password)
    session.add(account)
    session.flush()
    _log(session, "user_created", actor, account, display_name=account.display_name, **request_detail)
    if roles:
        assign_roles(session, actor, account, roles, **request_detail)
    session.flush()
    return account


def update_account(
    session: Session, actor: Any, account: User, *, username: str | None = None, display_name: str | None = None,
    locale: str | None = None, password: str | None = None, active: bool | None = None, email: str | None = None,
    **request_detail: Any,
) -> list[str]:
    """Change what is given (None: leave it; an empty e-mail address removes it); every change
    is checked first, so a refused one changes nothing. Returns the security events written."""
    changes = {
        field: (getattr(account, field), value)
        for field, value in (("username", username), ("display_name", display_name), ("locale", locale))
        if value is not None and getattr(account, field) != value
    }
    if email is not None and (email.strip() or None) != account.email:
        changes["email"] = (account.email, email.strip() or None)
    wanted: list[str] = []
    if changes:
        wanted.append(EDIT_ACCOUNT)
    if password:
        wanted.append(RESET_PASSWORD)
    if active is not None and active != account.active:
        wanted.append(ACTIVATE if active else DEACTIVATE)
    for action in wanted:
        _check(actor, account, action)
    if "username" in changes:
        _username_free(session, changes["username"][1], account)
    written = []
    for field, (_old, new) in changes.items():
        setattr(account, field, new)
    if changes:
        _log(session, "user_changed", actor, account, changes={k: list(v) for k, v in changes.items()},
             **request_detail)
        written.append("user_changed")
    if password:
        account.set_password(password)
        _log(session, "password_reset", actor, account, **request_detail)
        written.append("password_reset")
    if ACTIVATE in wanted:
        account.active = True
        _log(session, "user_activated", actor, account, **request_detail)
        written.append("user_activated")
    if DEACTIVATE in wanted:
        account.deactivate()
        _log(session, "user_deactivated", actor, account, **request_detail)
        written.append("user_deactivated")
    session.flush()
    return written


def assign_roles(
    session: Session, actor: Any, account: User, roles: set[str] | frozenset[str] | list[str], **request_detail: Any,
) -> bool:
    """Give `account` exactly `roles`; True if that changed anything. RoleConflict (from the
    model) when they hold two of the three administrators' roles; ActionRefused when `actor`
    may not grant roles to this account."""
    _check(actor, account, ASSIGN_ROLES)
    wanted = {Role(r).value for r in roles}
    check_separation(wanted)
    before = account.role_set
    if before - wanted:
        # Drop roles first: the database's index must never see a swap (admin → auditor) as two held.
        account.set_roles(before & wanted)
        session.flush()
    account.set_roles(wanted)
    after = account.role_set
    if after == before:
        return False
    _log(session, "roles_changed", actor, account, added=sorted(after - before), removed=sorted(before - after),
         roles=sorted(after), **request_detail)
    session.flush()
    return True
