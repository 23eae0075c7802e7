"""`flask --app app user …`: manage accounts from the command line.

The command line is the installation's root of trust (whoever runs it holds the server): it is
how the first security administrator and auditor get their roles, and it may change any account.
It still gives nobody two of the three administrators' roles, and every change is written to
the security log under "command line (<system user>)"."""

from __future__ import annotations

import secrets

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from accounts.operations import AccountProblem, assign_roles, create_account, update_account
from extensions import db
from models import User
from signin.passwords import password_problems
from workflows.roles import Role, RoleConflict

ROLE_CHOICE = click.Choice([r.value for r in Role])


def _acceptable(password: str, username: str) -> str:
    """The password, if the password policy accepts it for `username`; else why not."""
    problems = password_problems(password, username, min_length=int(current_app.config["CANYUE_PASSWORD_MIN_LENGTH"]))
    if problems:
        raise click.ClickException("password refused: " + " ".join(p.english() for p in problems))
    return password


def _get(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


def _conflict(error: RoleConflict) -> click.ClickException:
    return click.ClickException(
        f"{', '.join(sorted(error.roles))}: the system administrator (admin), the security administrator "
        "(security_admin) and the auditor (auditor) must be three different people; give each account one of them"
    )


@click.group("user", help="Create and manage user accounts.", cls=AppGroup)
def cli() -> None:
    pass


@cli.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Name as printed, e.g. 李长青.")
@click.option("--role", "roles", multiple=True, type=ROLE_CHOICE,
              help="Repeat for several roles (at most one of admin, security_admin, auditor).")
@click.option("--password", help="Default: a random one, printed once.")
@click.option("--locale", default="zh_CN", type=click.Choice(["zh_CN", "en"]))
def create(username: str, display_name: str, roles: tuple[str, ...], password: str | None, locale: str) -> None:
    generated = password is None
    password = _acceptable(password or secrets.token_urlsafe(9), username)
    try:
        create_account(db.session, None, username=username, display_name=display_name, password=password,
                       locale=locale, roles=set(roles))
    except AccountProblem as problem:
        db.session.rollback()
        raise click.ClickException(f"user {username!r} exists") from problem
    except RoleConflict as conflict:
        db.session.rollback()
        raise _conflict(conflict) from conflict
    db.session.commit()
    click.echo(f"created {username} ({', '.join(sorted(roles)) or 'no roles'})")
    if generated:
        click.echo(f"password: {password}")


@cli.command("list")
def list_users() -> None:
    for user in db.session.scalars(select(User).order_by(User.username)):
        status = "active" if user.active else "deactivated"
        click.echo(f"{user.username}\t{user.display_name}\t{','.join(sorted(user.role_set))}\t{status}")


@cli.command("roles")
@click.argument("username")
@click.argument("roles", nargs=-1, type=ROLE_CHOICE)
def set_roles(username: str, roles: tuple[str, ...]) -> None:
    """Set USERNAME's roles to exactly ROLES."""
    user = _get(username)
    try:
        assign_roles(db.session, None, user, set(roles))
    except RoleConflict as conflict:
        db.session.rollback()
        raise _conflict(conflict) from conflict
    db.session.commit()
    click.echo(f"{username}: {', '.join(sorted(roles)) or 'no roles'}")


@cli.command("password")
@click.argument("username")
@click.option("--password", help="Default: a random one, printed once.")
def reset_password(username: str, password: str | None) -> None:
    user = _get(username)
    new = _acceptable(password or secrets.token_urlsafe(9), username)
    update_account(db.session, None, user, password=new)
    db.session.commit()
    click.echo(f"password of {username} reset" + ("" if password else f": {new}"))


@cli.command("deactivate")
@click.argument("username")
def deactivate(username: str) -> None:
    user = _get(username)
    update_account(db.session, None, user, active=False)
    db.session.commit()
    click.echo(f"{username} deactivated")


@cli.command("activate")
@click.argument("username")
def activate(username: str) -> None:
    user = _get(username)
    update_account(db.session, None, user, active=True)
    db.session.commit()
    click.echo(f"{username} activated")
