"""`flask --app app security …`: the two-factor policy, resetting a user's second factor,
lifting the failed-sign-in throttle of an account. Each change goes to the security log."""

from __future__ import annotations

from typing import Any

import secrets

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from extensions import db
from models import User
from securitylog.operations import log_security_event
from signin import twofactor
from workflows.audit import NoKeyring

CLI_ACTOR = "command line"


def _log(action: str, subject_id: int = 0, **detail: Any) -> None:
    try:
        log_security_event(db.session, action, None, detail={"by": CLI_ACTOR, **detail}, subject_id=subject_id,
                           actor_name=CLI_ACTOR)
    except NoKeyring as error:
        raise click.ClickException(f"{error}: the security log needs the audit key") from error


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


@click.group("security", help="Two-factor policy, second factors, sign-in throttling.", cls=AppGroup)
def cli() -> None:
    pass


@cli.command("2fa-policy")
@click.argument("role", required=False, type=click.Choice(twofactor.POLICY_ROLES))
@click.argument("value", required=False, type=click.Choice([twofactor.REQUIRED, twofactor.OFFERED]))
def policy(role: str | None, value: str | None) -> None:
    """Show the two-factor policy, or set ROLE's to required or offered."""
    defaults = twofactor.default_required_roles(current_app.config["CANYUE_2FA_REQUIRED_ROLES"])
    if role is not None and value is None:
        raise click.UsageError("give the policy too: required or offered")
    if role is not None and value is not None:
        before = twofactor.policy(db.session, defaults)[role]
        twofactor.set_policy(db.session, role, value, None)
        _log("2fa_policy_changed", **twofactor.policy_detail(before, value, role))
        db.session.commit()
    for name, setting in twofactor.policy(db.session, defaults).items():
        default = twofactor.REQUIRED if name in defaults else twofactor.OFFERED
        click.echo(f"{name:<16} {setting}" + ("" if setting == default else f"   (default: {default})"))


def set_demo_policy(value: str = twofactor.OFFERED) -> list[str]:
    """Every role's policy set to `value` (the demo signs in with a password alone)."""
    defaults = twofactor.default_required_roles(current_app.config["CANYUE_2FA_REQUIRED_ROLES"])
    changed = []
    for role, setting in twofactor.policy(db.session, defaults).items():
        if setting != value:
            twofactor.set_policy(db.session, role, value, None)
            _log("2fa_policy_changed", **twofactor.policy_detail(setting, value, role), why="demo")
            changed.append(role)
    return changed


@cli.command("2fa-reset")
@click.argument("username")
def reset(username: str) -> None:
    """Turn USERNAME's two-factor sign-in off (a lost phone); where their role requires it,
    they set it up again at their next sign-in. Their sessions end."""
    user = _user(username)
    twofactor.disable(db.session, user)
    user.session_token = secrets.token_hex(16)
    _log("2fa_reset", user.id, username=user.username)
    db.session.commit()
    click.echo(f"two-factor sign-in of {username} reset; their sessions were ended")


@cli.command("unlock")
@click.argument("username")
def unlock(username: str) -> None:
    """Forget USERNAME's failed sign-ins (every address): the limits and delays start afresh."""
    removed = current_app.extensions["canyue_throttle"].store.clear_account(username.strip().lower())
    _log("login_unlocked", 0, username=username, keys=removed)
    db.session.commit()
    click.echo(f"failed sign-ins of {username} forgotten ({removed} counters)")
