"""Texts from outside: a NUL (which PostgreSQL cannot store: it was a 500 there) or another
control character in a form, a query string or any POSTed field is refused — 422 with the form
kept where a form is involved, 400 otherwise — and nothing is written, on both engines."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Brief, Copy, Recipient, Revision
from tests.conftest import fetch
from tests.test_inputs_numbers import every_csrf_name, url_of
from workflows.brief import TRANSITIONS, State

ROOT = Path(__file__).resolve().parent.parent
NUL = "\x00"
CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\u0085"]


@pytest.fixture(autouse=True)
def as_served(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield
    app.config["PROPAGATE_EXCEPTIONS"] = None


def chinese(app, msgid: str, **params) -> str:
    """The text as a Chinese user reads it; every refusal's text has its translation."""
    with app.test_request_context(), force_locale("zh_CN"):
        assert gettext(msgid) != msgid, f"no Chinese for {msgid!r}"
        text = gettext(msgid, **params)
    return text


def counts(app) -> tuple[int, ...]:
    with app.app_context():
        # (Sign-ins are logged: the security log's events are not what a refusal must leave alone.)
        events = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.subject_type != "security"))
        return (*(db.session.scalar(select(func.count(m.id))) for m in (Brief, Revision)), events,
                db.session.scalar(select(func.count(Recipient.id))))


CONTROL_MESSAGE = ("It contained control characters (%(codes)s), which cannot be stored. They were removed "
                   "from the text below: check it and save again.")


@pytest.mark.parametrize("bad", CONTROLS)
def test_a_new_brief_with_a_control_character_is_refused_and_kept(app, series_id, login_as, bad):
    before = counts(app)
    response = login_as("drafter").post("/briefs/new", {
        "series_id": str(series_id), "title": f"关于低空{bad}经济", "body": "正文第一段。", "classification": "",
        "urgency": "", "keywords": "低空经济"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '关于低空经济</textarea>' in page  # kept, without the character
    assert chinese(app, CONTROL_MESSAGE, codes=f"U+{ord(bad):04X}") in page
    assert counts(app) == before


def test_an_edit_with_a_nul_in_the_body_saves_nothing_and_keeps_the_text(app, make_brief, login_as):
    brief_id = make_brief(State.DRAFT)
    before = fetch(app, brief_id)
    body = "第一段。\n\n第二段" + NUL + "有一个空字符。"
    response = login_as("drafter").post(f"/briefs/{brief_id}/edit", {
        "title": before.title, "body": body, "classification": "", "urgency": "", "version": str(before.version)})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "第二段有一个空字符。" in page and "U+0000" in page
    after = fetch(app, brief_id)
    assert (after.version, after.revision_number, after.body) == (before.version, before.revision_number, before.body)


def test_tab_and_newline_are_text(app, make_brief, login_as):
    brief_id = make_brief(State.DRAFT)
    before = fetch(app, brief_id)
    response = login_as("drafter").post(f"/briefs/{brief_id}/edit", {
        "title": before.title, "body": "第一段\t有制表符。\r\n\r\n第二段。", "classification": "", "urgency": "",
        "version": str(before.version)})
    assert response.status_code == 302
    assert fetch(app, brief_id).body == "第一段\t有制表符。\n\n第二段。"


def test_a_recipient_with_a_nul_is_refused_and_kept(app, series_id, people, login_as):
    before = counts(app)
    response = login_as("admin").post("/recipients/new", {"name": "王" + NUL + "建国", "title": "书记",
                                                          "category": "专报", "default_copies": "1", "active": "y"})
    assert response.status_code == 422
    assert 'value="王建国"' in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_reason_with_a_nul_is_refused_and_kept(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    before = fetch(app, brief_id)
    response = login_as("editor").act(brief_id, "return", "请补充数据" + NUL + "来源")
    assert response.status_code == 422
    assert "请补充数据来源" in response.get_data(as_text=True)
    after = fetch(app, brief_id)
    assert (after.state, after.version) == (before.state, before.version)


def test_a_copy_move_with_a_nul_is_refused(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5))
    with app.app_context():
        copy = db.session.scalar(select(Copy).where(Copy.brief_id == brief_id).order_by(Copy.number))
        copy_id, version = copy.id, copy.version
    response = login_as("editor").post(f"/copies/{copy_id}/act/dispatch", {
        "dispatch-route": "courier", "dispatch-person": "张师傅" + NUL, "dispatch-version": str(version)},
        prefix="dispatch")
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Copy, copy_id).state == "printed"


def test_a_receipt_signed_with_a_nul_is_refused(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5))
    editor = login_as("editor")
    with app.app_context():
        copy = db.session.scalar(select(Copy).where(Copy.brief_id == brief_id).order_by(Copy.number))
        copy_id = copy.id
    version = fetch(app, brief_id).version
    assert editor.post(f"/briefs/{brief_id}/copies/dispatch", {"route": "courier", "person": "张师傅",
                                                               "version": str(version)}).status_code == 302
    version = fetch(app, brief_id).version
    response = editor.post(f"/briefs/{brief_id}/copies/receipts", {
        "copy": str(copy_id), f"signed-{copy_id}": "王" + NUL + "建国", "version": str(version)})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Copy, copy_id).state == "dispatched"


@pytest.mark.parametrize("url", ["/briefs?q={}", "/archive/search?q={}", "/recipients?q={}", "/briefs?state={}"])
def test_a_query_string_with_a_nul_is_a_400(app, people, login_as, url):
    response = login_as("editor").get(url.format(quote("低空" + NUL)))
    assert response.status_code == 400
    assert "U+0000" in response.get_data(as_text=True)


TEXT_FIELDS = ["title", "body", "author_line", "special_report", "keywords", "comment", "name", "organisation",
               "username", "display_name", "hosts", "contact_phone", "address", "timezone", "person", "witness",
               "reason", "q", "password", "signed-1", "classified_levels"]


def test_a_nul_in_any_field_of_any_form_is_never_a_500(app, make_brief, login_as, people, series_id):
    """Every POST route, every text field it might read, a NUL in each: refused, nothing written."""
    draft = make_brief(State.DRAFT)
    published = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5))
    with app.app_context():
        copy_id = db.session.scalar(select(Copy.id).where(Copy.brief_id == published))
    values = {"brief_id": draft, "series_id": series_id, "user_id": people["drafter2"], "copy_id": copy_id,
              "entry_id": 1, "link_id": 1, "recipient_id": 1, "delegation_id": 1, "file_id": 1, "follow_up_id": 1,
              "job_id": 1, "notification_id": 1, "leader_id": people["signer"], "secretary_id": 1}
    failures = []
    clients = {name: login_as(name) for name in ("admin", "editor", "drafter", "archivist")}
    before = counts(app)
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint in ("auth.logout",):
            continue
        url = url_of(rule, values)
        for name, client in clients.items():
            data = {field: f"文本{NUL}" for field in TEXT_FIELDS}
            data |= {f"{a}-comment": f"理由{NUL}" for a in TRANSITIONS}
            data |= {f"{a}-version": "1" for a in TRANSITIONS} | {"version": "1", "category": "送",
                                                                    "default_copies": "1", "series_id": str(series_id)}
            data |= {n: client.token() for n in every_csrf_name()}
            response = client.http.post(url, data=data)
            if response.status_code >= 500:
                failures.append((name, rule.rule, response.status_code))
    assert failures == []
    # The login page may log someone in (not a write of ours); nothing else changed.
    assert counts(app)[:2] == before[:2] and counts(app)[3] == before[3]


def test_a_nul_reaching_the_database_is_refused_there_too(app, make_brief):
    """The net behind every form: on both engines, a NUL in a statement's parameters is refused
    before it runs (PostgreSQL's driver would fail; SQLite would store it)."""
    from workflows.limits import InputRefused

    brief_id = make_brief(State.DRAFT)
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        brief.sign_opinion = "意见" + NUL
        with pytest.raises(InputRefused):
            db.session.commit()
        db.session.rollback()
    assert fetch(app, brief_id).sign_opinion is None
