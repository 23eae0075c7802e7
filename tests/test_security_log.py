"""The security log lives in the keyed audit trail: its events are chained and anchored with
the rest, so removing one is detected. And what goes into it: account and role changes (who did
what to whom), series and settings changes, exports, downloads of classified issues — from the
web and from the command line."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from extensions import db
from models import AuditEvent, Copy, Series, User
from securitylog.operations import event_detail, log_security_event, security_events
from tests.test_archive import export_over_http
from workflows.brief import State


def test_security_events_are_part_of_the_verified_trail(app, people):
    with app.app_context():
        admin = db.session.get(User, people["admin"])
        log_security_event(db.session, "roles_changed", admin, subject_id=people["editor"],
                           detail={"added": ["signer"], "ip": "127.0.0.1"})
        log_security_event(db.session, "login_failed", None, actor_name="nobody", detail={"username": "nobody"})
        db.session.commit()
        rows = db.session.scalars(security_events()).all()
        assert [r.action for r in rows] == ["login_failed", "roles_changed"]
        assert event_detail(rows[1]) == {"added": ["signer"], "ip": "127.0.0.1"}
        assert rows[0].actor_name == "nobody" and rows[0].brief_id is None
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
    with app.app_context():
        first = db.session.scalars(security_events(actions=["roles_changed"])).one()
        db.session.execute(delete(AuditEvent.__table__).where(AuditEvent.__table__.c.id == first.id))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "missing" in result.output


# --- What is logged ----------------------------------------------------------------------------


SIGN_IN_EVENTS = {"login", "login_failed", "login_throttled", "logout"}


def logged(app, *actions: str) -> list[tuple[str, int | None, str, int, dict]]:
    """(action, actor id, actor name, subject id, detail) of the security events, oldest first."""
    with app.app_context():
        rows = db.session.scalars(security_events(actions=list(actions) or None)).all()
        # Sign-ins are logged too; these tests look at what was done once signed in.
        return [(r.action, r.actor_id, r.actor_name, r.subject_id, event_detail(r)) for r in reversed(rows)
                if actions or r.action not in SIGN_IN_EVENTS]


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_account_changes_say_who_did_what_to_whom(app, people, login_as):
    admin = login_as("admin")
    form = {"username": "lichang", "display_name": "李长青", "locale": "zh_CN", "active": "y",
            "password": "first password 1"}
    assert admin.post("/admin/users/new", form).status_code == 302
    new = user_id(app, "lichang")
    assert admin.post(f"/admin/users/{new}", {**form, "display_name": "李长清", "password": ""}).status_code == 302
    assert admin.post(f"/admin/users/{new}", {**form, "display_name": "李长清", "password": "reset password 2"}
                      ).status_code == 302
    assert admin.post(f"/admin/users/{new}", {k: v for k, v in form.items() if k not in ("active", "password")}
                      | {"display_name": "李长清", "password": ""}).status_code == 302
    assert admin.post(f"/admin/users/{new}", {**form, "display_name": "李长清", "password": ""}).status_code == 302
    security = login_as("security_admin")
    assert security.post(f"/admin/users/{new}/roles", {"roles": ["editor", "signer"]}).status_code == 302
    assert security.post(f"/admin/users/{new}/roles", {"roles": ["editor"]}).status_code == 302
    assert security.post(f"/admin/users/{new}/roles", {"roles": ["editor"]}).status_code == 302  # no change: no line

    events = logged(app)
    assert [e[0] for e in events] == ["user_created", "user_changed", "password_reset", "user_deactivated",
                                      "user_activated", "roles_changed", "roles_changed"]
    assert all(e[3] == new and e[4]["username"] == "lichang" and e[4]["ip"] == "127.0.0.1" for e in events)
    assert {e[1] for e in events[:5]} == {people["admin"]} and {e[1] for e in events[5:]} == {people["security_admin"]}
    assert events[1][4]["changes"] == {"display_name": ["李长青", "李长清"]}
    assert "reset password 2" not in str(events) and "first password 1" not in str(events)
    granted, revoked = events[5][4], events[6][4]
    assert (granted["added"], granted["removed"], granted["roles"]) == (["editor", "signer"], [], ["editor", "signer"])
    assert (revoked["added"], revoked["removed"], revoked["roles"]) == ([], ["signer"], ["editor"])
    assert events[5][2] == "黄磊"  # the security administrator's name, as the log shows it


def test_the_command_line_is_logged_as_itself(app, people):
    runner = app.test_cli_runner()
    for args in (["user", "create", "anquan", "--name", "黄安", "--role", "security_admin"],
                 ["user", "roles", "editor", "editor", "archivist"], ["user", "password", "editor"],
                 ["user", "deactivate", "editor"], ["user", "activate", "editor"]):
        assert runner.invoke(args=args).exit_code == 0, args
    events = logged(app)
    assert [e[0] for e in events] == ["user_created", "roles_changed", "roles_changed", "password_reset",
                                      "user_deactivated", "user_activated"]
    assert all(e[1] is None and re.fullmatch(r"command line \(.+\)", e[2]) for e in events)
    assert events[1][4]["roles"] == ["security_admin"] and events[2][4]["added"] == ["archivist"]


def test_series_and_settings_changes_are_logged(app, people, series_id, login_as):
    admin = login_as("admin")
    with app.app_context():
        version = db.session.get(Series, series_id).version
    data = {"name": "领导参阅", "hosts": "苏州太湖书院\n苏州太湖智库", "contact_phone": "0512-66881234",
            "address": "苏州市吴中区示例路 100 号", "default_print_run": "45", "timezone": "Asia/Shanghai",
            "first_total_number": "31", "supplement_numbering": "shared", "active": "y", "version": str(version),
            # the step allowances as the form shows them (the series' own: 3, 2, 2, none)
            "review_days": "3", "signoff_days": "2", "publish_days": "2", "archive_days": ""}
    assert admin.post(f"/admin/series/{series_id}", data).status_code == 302
    new = {**data, "name": "决策参考"}
    del new["version"]
    assert admin.post("/admin/series/new", new).status_code == 302
    assert admin.post(f"/series/{series_id}/distribution", {}).status_code == 302
    security = login_as("security_admin")
    assert security.post(f"/admin/series/{series_id}/classification", {
        "classified_levels": "秘密", "classified_readers": ["editor"], "version": str(version + 1)}).status_code == 302
    events = logged(app)
    assert [e[0] for e in events] == ["series_changed", "series_created", "series_changed", "classification_changed"]
    assert events[0][3] == series_id and events[0][4]["fields"] == ["default_print_run"]
    assert events[2][4]["fields"] == ["default_distribution"]
    change = events[3]
    assert change[1] == people["security_admin"]
    assert change[4]["before"] == {"levels": "", "readers": ""}
    assert change[4]["after"] == {"levels": "秘密", "readers": "editor"}


def test_exports_are_logged(app, people, make_brief, login_as, tmp_path: Path):
    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5), classification="内部")
    assert export_over_http(app, login_as("archivist"), {"year": "2026"}).status_code == 200
    assert login_as("admin").get("/recipients/export.csv").status_code == 200
    assert login_as("editor").get(f"/briefs/{brief_id}/copies/distribution.csv").status_code == 200
    result = app.test_cli_runner().invoke(args=["archive", "export", "--year", "2026", "-o", str(tmp_path / "b.zip")])
    assert result.exit_code == 0, result.output
    events = logged(app)
    # the web's export is a job: started, made by the worker, downloaded by its starter
    assert [(e[0], e[4].get("what")) for e in events] == [
        ("job_started", None), ("bag_exported", None), ("bag_downloaded", None), ("csv_exported", "recipients"),
        ("csv_exported", "distribution"), ("bag_exported", None)]
    web_bag, cli_bag = events[1], events[5]
    assert web_bag[1] == people["archivist"] and web_bag[4]["year"] == 2026 and web_bag[4]["issues"] == 1
    assert web_bag[4]["classified"] == [brief_id]
    assert cli_bag[1] is None and cli_bag[2].startswith("command line") and cli_bag[4]["file"].endswith("b.zip")
    assert events[4][3] == brief_id


def test_downloads_of_classified_issues_are_logged(app, people, make_brief, login_as):
    secret = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5), classification="内部")
    open_issue = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 6), classification="")
    reader = login_as("drafter2")  # the series leaves 内部 open: every account may read it
    assert reader.get(f"/briefs/{secret}/issue.pdf").status_code == 200
    assert reader.get(f"/briefs/{open_issue}/issue.pdf").status_code == 200
    with app.app_context():
        copy = db.session.scalar(select(Copy).where(Copy.brief_id == secret).order_by(Copy.number))
        open_copy = db.session.scalar(select(Copy).where(Copy.brief_id == open_issue).order_by(Copy.number))
        copy_id, serial, open_copy_id = copy.id, copy.serial, open_copy.id
    editor = login_as("editor")
    assert editor.get(f"/copies/{copy_id}/pdf").status_code == 200
    assert editor.get(f"/copies/{open_copy_id}/pdf").status_code == 200
    page = editor.post(f"/copies/{copy_id}/links", {"days": "3"}).get_data(as_text=True)
    link = re.search(r'value="(https?://[^"]+/d/[^"]+)"', page).group(1).replace("http://canyue.test", "")
    assert app.test_client().get(link, environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    events = logged(app, "classified_download")
    assert len(events) == 3  # the open issue's downloads are not security events
    master, by_account, by_link = events
    assert (master[1], master[3], master[4]["classification"]) == (people["drafter2"], secret, "内部")
    assert master[4]["file"].endswith(".pdf")
    assert (by_account[1], by_account[4]["copy"]) == (people["editor"], serial)
    assert by_link[1] is None and by_link[2].startswith("download link ") and by_link[4]["ip"] == "10.1.2.3"


@pytest.mark.parametrize("path", ["/audit/security-log.csv", "/audit/trail.csv"])
def test_the_auditors_own_exports_are_logged(app, people, login_as, path):
    assert login_as("auditor").get(path + "?kind=x").status_code == 200
    (event,) = logged(app, "csv_exported")
    assert event[1] == people["auditor"]
    assert event[4]["what"] == ("security_log" if "security" in path else "audit_trail")
    assert event[4]["filters"] == {"kind": "x"}
