"""The auditor's screens: the security log filtered by time, kind and user, a page at a time and
as CSV; the briefs' audit trail across the installation; `audit verify` on a button; and the
command that exports the log for archiving."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from flask_babel import force_locale, gettext
from sqlalchemy import delete, select

from extensions import db
from models import AuditEvent, User
from securitylog.operations import SECURITY, log_security_event, security_events
from workflows.brief import State
from workflows.transitions import record_event


def add_events(app, people, *events: tuple[str, str | None, dict, datetime | None]) -> None:
    """(action, acting person or None, detail, when) as security events."""
    with app.app_context():
        for action, who, detail, when in events:
            actor = db.session.get(User, people[who]) if who else None
            record_event(db.session, None, action, actor, from_state=None, to_state=None,
                         reason=json.dumps(detail, ensure_ascii=False, sort_keys=True), subject_type=SECURITY,
                         subject_id=detail.get("subject", 0), now=when, actor_name=None if who else "unknown")
        db.session.commit()


def rows_of(page: str) -> list[str]:
    """The kinds of event the page's table lists, in order."""
    return re.findall(r'<tr data-event="([^"]+)"', page)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_the_log_filters_by_time_kind_and_user(app, people, login_as):
    add_events(app, people,
               ("login", "editor", {"subject": people["editor"]}, at(1)),
               ("login_failed", None, {"username": "ghost"}, at(2)),
               ("roles_changed", "security_admin", {"subject": people["editor"], "added": ["signer"]}, at(3)),
               ("csv_exported", "admin", {"what": "recipients"}, at(4)),
               # 23:30 UTC on the 4th is the 5th in Asia/Shanghai, the installation's time zone.
               ("login", "admin", {"subject": people["admin"]}, datetime(2026, 11, 4, 23, 30, tzinfo=UTC)))
    auditor = login_as("auditor")  # (signing in is logged too, today: the views below end in November)
    page = auditor.get("/audit/security-log?until=2026-11-30").get_data(as_text=True)
    assert rows_of(page) == ["login", "csv_exported", "roles_changed", "login_failed", "login"]  # newest first
    assert rows_of(auditor.get("/audit/security-log?kind=login&until=2026-11-30").get_data(as_text=True)) == ["login", "login"]
    span = auditor.get("/audit/security-log?since=2026-11-02&until=2026-11-04").get_data(as_text=True)
    assert rows_of(span) == ["csv_exported", "roles_changed", "login_failed"]
    assert rows_of(auditor.get("/audit/security-log?since=2026-11-05&until=2026-11-30").get_data(as_text=True)) == ["login"]
    # A user: what they did, and what was done to their account.
    editor = auditor.get(f"/audit/security-log?user={people['editor']}&until=2026-11-30").get_data(as_text=True)
    assert rows_of(editor) == ["roles_changed", "login"]
    admin = auditor.get(f"/audit/security-log?user={people['admin']}&until=2026-11-30").get_data(as_text=True)
    assert rows_of(admin) == ["login", "csv_exported"]
    # The filter shows the kinds held, and what was chosen stays chosen.
    assert 'value="roles_changed"' in page and 'value="csv_exported"' in page
    assert re.search(r'<option selected value="login">|<option value="login" selected>',
                     auditor.get("/audit/security-log?kind=login&until=2026-11-30").get_data(as_text=True))
    # A date that does not parse is ignored and said so; the rest still filters.
    broken = auditor.get("/audit/security-log?since=yesterday&kind=login&until=2026-11-30")
    assert broken.status_code == 200 and rows_of(broken.get_data(as_text=True)) == ["login", "login"]
    assert 'class="error"' in broken.get_data(as_text=True)


def test_the_log_is_paginated(app, people, login_as):
    add_events(app, people, *[("login", "editor", {"n": n}, at(1 + n // 10, n % 10)) for n in range(60)])
    auditor = login_as("auditor")
    first = auditor.get("/audit/security-log?kind=login&until=2026-11-30").get_data(as_text=True)
    assert len(rows_of(first)) == 50
    following = re.search(r'href="([^"]*page=2[^"]*)"', first)
    assert following and "kind=login" in following.group(1)  # the next page keeps the filters
    second = auditor.get("/audit/security-log?kind=login&until=2026-11-30&page=2").get_data(as_text=True)
    assert len(rows_of(second)) == 10 and "page=3" not in second and "page=1" in second


def test_the_log_exports_as_csv_with_formulas_neutralised(app, people, login_as):
    add_events(app, people,
               ("login_failed", None, {"username": "=HYPERLINK(\"http://evil\")"}, at(1)),
               ("roles_changed", "security_admin", {"subject": people["editor"], "added": ["signer"]}, at(2)))
    with app.app_context():  # a display name typed to look like a formula
        db.session.get(User, people["security_admin"]).display_name = "@SUM(1)"
        log_security_event(db.session, "login", db.session.get(User, people["security_admin"]))
        db.session.commit()
    response = login_as("auditor").get("/audit/security-log.csv?since=2026-11-01")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:6] == ["序号", "时间", "事件", "事件代码", "操作人", "操作人账号"]
    by_code = {r[3]: r for r in rows[1:]}
    assert set(by_code) == {"login_failed", "roles_changed", "login"}
    assert by_code["login"][4] == "'@SUM(1)" and by_code["login"][5] == "security_admin"
    assert by_code["roles_changed"][5] == "security_admin" and '"added": ["signer"]' in by_code["roles_changed"][7]
    assert by_code["login_failed"][7].startswith("{")  # JSON: not a formula
    assert by_code["roles_changed"][1].endswith("+08:00")  # the installation's time zone
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell


def test_the_audit_trail_across_the_installation(app, people, make_brief, login_as):
    first = make_brief(State.AWAITING_SIGNOFF)
    second = make_brief(State.IN_REVIEW)
    add_events(app, people, ("login", "editor", {}, None))
    auditor = login_as("auditor")
    page = auditor.get("/audit/trail").get_data(as_text=True)
    assert rows_of(page)[:1] == ["submit"] and "login" not in rows_of(page)  # the log has its own screen
    assert rows_of(auditor.get(f"/audit/trail?brief={first}").get_data(as_text=True)) == ["approve", "submit", "create"]
    approvals = auditor.get("/audit/trail?kind=approve").get_data(as_text=True)
    assert rows_of(approvals) == ["approve"]
    by_editor = auditor.get(f"/audit/trail?user={people['editor']}").get_data(as_text=True)
    assert rows_of(by_editor) == ["approve"]
    # The login added above, then the auditor's own real sign-in (logged too).
    assert rows_of(auditor.get("/audit/security-log").get_data(as_text=True)) == ["login", "login"]
    response = auditor.get(f"/audit/trail.csv?brief={second}")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [r[2] for r in rows[1:]] == ["brief", "brief"] and {r[3] for r in rows[1:]} == {str(second)}
    assert all(len(r[-1]) == 64 for r in rows[1:])  # each event's keyed hash, for checking elsewhere
    # Read only: no form on the page changes an event.
    assert 'action="/audit/verify"' in page
    # The verification, logging out, and the menu's language switch.
    assert len(re.findall(r'<form method="post"', page)) == 3


def test_verify_on_a_button(app, people, make_brief, login_as):
    make_brief(State.IN_REVIEW)
    auditor = login_as("auditor")
    response = auditor.post("/audit/verify", {})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-outcome="intact"' in page
    with app.app_context():
        (checked,) = db.session.scalars(security_events(actions=["audit_verified"])).all()
        assert checked.actor_id == people["auditor"]
        submit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "submit"))
        db.session.execute(delete(AuditEvent.__table__).where(AuditEvent.__table__.c.id == submit.id))
        db.session.commit()
    page = auditor.post("/audit/verify", {}).get_data(as_text=True)
    assert 'data-outcome="tampered"' in page and "missing" in page
    # A GET does nothing; others may not.
    assert auditor.get("/audit/verify").status_code == 405
    assert login_as("admin").post("/audit/verify", {}).status_code == 403


def test_the_command_exports_the_log_for_archiving(app, people, tmp_path: Path):
    add_events(app, people, ("login", "editor", {}, at(1)), ("login", "admin", {}, datetime(2027, 1, 2, tzinfo=UTC)))
    out = tmp_path / "security-log-2026.csv"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "security-log", "--until", "2026-12-31", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert [r[3] for r in rows[1:]] == ["login"] and rows[1][5] == "editor"
    with app.test_request_context(), force_locale("zh_CN"):
        assert rows[1][2] == gettext("Signed in")  # labelled in the installation's language
    # Exporting shortens nothing: the events are still in the trail, which still verifies.
    with app.app_context():
        held = [e.action for e in db.session.scalars(security_events())]
    assert held.count("login") == 2 and "csv_exported" in held
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    assert runner.invoke(args=["audit", "security-log", "--user", "nobody", "-o", str(out)]).exit_code != 0
