"""三员分立: nobody holds two of the system administrator's, the security administrator's and the
auditor's roles — not through the model, the security administrator's form, the command line, or
the database itself — and an installation moves from one admin to three as the README says."""

from __future__ import annotations

import itertools
import re

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import User, UserRole
from securitylog.operations import event_detail, security_events
from tests.conftest import Client, log_in_form
from workflows.roles import SEPARATION_MESSAGE, RoleConflict

THREE = ["admin", "security_admin", "auditor"]
PAIRS = list(itertools.combinations(THREE, 2))


def zh(app, message: str) -> str:
    with app.test_request_context(), force_locale("zh_CN"):
        return str(escape(gettext(message)))


def roles_of(app, username: str) -> set[str]:
    with app.app_context():
        return set(db.session.scalar(select(User).where(User.username == username)).role_set)


@pytest.mark.parametrize("pair", PAIRS, ids=["+".join(p) for p in PAIRS])
def test_the_model_refuses_two_of_the_three(app, people, pair):
    with app.app_context():
        user = db.session.get(User, people["drafter"])
        with pytest.raises(RoleConflict):
            user.set_roles({"drafter", *pair})
        assert user.role_set == {"drafter"}  # nothing changed
        user.set_roles({"drafter", pair[0]})  # one of them, beside other roles, is fine
        db.session.commit()
        assert db.session.get(User, people["drafter"]).role_set == {"drafter", pair[0]}


@pytest.mark.parametrize("pair", PAIRS, ids=["+".join(p) for p in PAIRS])
def test_the_database_refuses_two_of_the_three(app, people, pair):
    """Below the model: a row written past it is refused by the partial unique index."""
    held = pair[0]
    with app.app_context():
        db.session.execute(insert(UserRole).values(user_id=people["editor"], role=held))
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.execute(insert(UserRole).values(user_id=people["editor"], role=pair[1]))
            db.session.flush()
        db.session.rollback()
        # Other roles beside it are fine.
        db.session.execute(insert(UserRole).values(user_id=people["editor"], role="archivist"))
        db.session.commit()
    assert roles_of(app, "editor") == {"editor", held, "archivist"}


@pytest.mark.parametrize("pair", PAIRS, ids=["+".join(p) for p in PAIRS])
def test_the_security_admins_form_refuses_two_of_the_three(app, people, login_as, pair):
    security = login_as("security_admin")
    response = security.post(f"/admin/users/{people['drafter2']}/roles", {"roles": ["drafter", *pair]})
    assert response.status_code == 422
    assert zh(app, SEPARATION_MESSAGE) in response.get_data(as_text=True)
    assert roles_of(app, "drafter2") == {"drafter"}
    with app.app_context():
        assert db.session.scalars(security_events(actions=["roles_changed"])).all() == []


def test_a_role_can_move_from_one_administrator_to_another(app, people, login_as):
    """Swapping (admin → auditor) is one change, not two roles held at once."""
    security = login_as("security_admin")
    assert security.post(f"/admin/users/{people['admin']}/roles", {"roles": ["auditor"]}).status_code == 302
    assert roles_of(app, "admin") == {"auditor"}


@pytest.mark.parametrize("pair", PAIRS, ids=["+".join(p) for p in PAIRS])
def test_the_command_line_refuses_two_of_the_three(app, people, pair):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create", "both", "--name", "两职", "--role", pair[0], "--role", pair[1]])
    assert result.exit_code != 0
    assert "three different people" in result.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "both")) is None
    result = runner.invoke(args=["user", "roles", "editor", "editor", *pair])
    assert result.exit_code != 0 and "three different people" in result.output
    assert roles_of(app, "editor") == {"editor"}


def test_an_installation_moves_to_three_people(app, people, make_brief, login_as):
    """The README's steps: from one admin who did everything to three people."""
    runner = app.test_cli_runner()
    # 1. The first security administrator and auditor, from the command line (the root of trust).
    created = {}
    for username, name, role in (("anquan", "黄安", "security_admin"), ("shenji", "林审", "auditor")):
        result = runner.invoke(args=["user", "create", username, "--name", name, "--role", role])
        assert result.exit_code == 0, result.output
        created[username] = re.search(r"password: (\S+)", result.output).group(1)
    # 2. The security administrator takes over role assignment: a new editor made by the admin
    # gets their role from them.
    admin = login_as("admin")
    assert admin.post("/admin/users/new", {"username": "xinbian", "display_name": "辛编", "locale": "zh_CN",
                                           "active": "y", "password": "long enough password"}).status_code == 302
    security_http = app.test_client()
    assert log_in_form(security_http, "anquan", created["anquan"]).status_code == 302
    with app.app_context():
        new_id = db.session.scalar(select(User.id).where(User.username == "xinbian"))
    security = Client(security_http)
    assert security.post(f"/admin/users/{new_id}/roles", {"roles": ["editor"]}).status_code == 302
    assert roles_of(app, "xinbian") == {"editor"}
    # 3. The old admin keeps only admin: an admin who also held archivist loses it, and cannot get
    # it back alone.
    assert security.post(f"/admin/users/{people['admin']}/roles", {"roles": ["admin", "archivist"]}).status_code == 302
    assert security.post(f"/admin/users/{people['admin']}/roles", {"roles": ["admin"]}).status_code == 302
    assert roles_of(app, "admin") == {"admin"}
    assert admin.post(f"/admin/users/{people['admin']}/roles", {"roles": ["admin", "archivist"]}).status_code == 403
    # 4. The auditor reads what they did.
    auditor_http = app.test_client()
    assert log_in_form(auditor_http, "shenji", created["shenji"]).status_code == 302
    page = auditor_http.get("/audit/security-log?kind=roles_changed").get_data(as_text=True)
    assert "xinbian" in page and "黄安" in page
    with app.app_context():
        events = db.session.scalars(security_events(actions=["roles_changed"])).all()
        by_cli = [e for e in events if e.actor_id is None]
        assert {event_detail(e)["username"] for e in by_cli} == {"anquan", "shenji"}
        assert all(e.actor_name.startswith("command line (") for e in by_cli)


def test_the_demo_has_the_three_administrators(app, monkeypatch, tmp_path):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))  # its credentials file goes there
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    for line in ("admin ", "security ", "auditor "):
        assert any(row.strip().startswith(line) for row in result.output.splitlines()), line
    assert "(security_admin)" in result.output and "(auditor)" in result.output
    assert "auditor" in (tmp_path / "demo-credentials.txt").read_text(encoding="utf-8")
    assert roles_of(app, "security") == {"security_admin"} and roles_of(app, "auditor") == {"auditor"}
    assert roles_of(app, "admin") == {"admin"}
