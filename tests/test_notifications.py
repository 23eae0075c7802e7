"""Notifications of lifecycle moves: who is told (the people who may now make a forward move,
the author when published or returned; never the actor), in the app and by mail — received by
a real SMTP server, sent only by the worker, none for a rolled-back move, nothing of a
classified series' brief in the mail, each user's choice per kind respected — and who may see
and mark which notifications."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from extensions import db
from jobs.queue import queue
from jobs.worker import drain
from models import Brief, Job, Notification, Series, User
from publishing.pipeline import publish
from tests.conftest import PEOPLE, SAMPLE_BODY, brief_version
from tests.mailserver import MailServer, body_of
from workflows.brief import State
from workflows.transitions import apply_transition

TITLE = "关于加快我市低空经济产业发展的几点建议"
EDITORS = {"editor", "editor2", "drafter_editor", "editor_signer"}


@pytest.fixture
def mail(app, people, monkeypatch):
    """A real SMTP server, the app configured to send through it, every person with an address."""
    with MailServer() as server:
        for key, value in server.config().items():
            monkeypatch.setitem(app.config, key, value)
        with app.app_context():
            for name, user_id in people.items():
                db.session.get(User, user_id).email = f"{name}@example.org"
            db.session.commit()
        queue(app).huey.flush()
        yield server.handler
        queue(app).huey.flush()


def fresh(app, handler=None) -> None:
    """Forget the notifications, jobs and mail of the moves that made the test's briefs."""
    with app.app_context():
        db.session.execute(delete(Notification))
        db.session.execute(delete(Job))
        db.session.commit()
    queue(app).huey.flush()
    if handler is not None:
        handler.received.clear()


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def notified(app, brief_id: int) -> dict[str, str]:
    """username -> kind of the notifications about the brief."""
    with app.app_context():
        rows = db.session.execute(select(User.username, Notification.kind).join(User, User.id == Notification.user_id)
                                  .where(Notification.brief_id == brief_id)).all()
        return {name: kind for name, kind in rows}


def mails_to(handler) -> dict[str, Any]:
    return {m["To"].split("@")[0]: m for m in handler.received}


def test_a_submitted_brief_tells_the_editors_and_the_worker_mails_them(app, mail, make_brief, login_as):
    brief_id = make_brief(State.DRAFT)
    assert login_as("drafter").act(brief_id, "submit").status_code == 302
    assert notified(app, brief_id) == {name: "todo" for name in EDITORS}  # not the drafter, no signer
    assert mail.received == []  # the request sent nothing: the mail is the worker's
    ran = drain(app)
    assert sorted(outcome for _, outcome in ran) == ["done"] * len(EDITORS)
    received = mails_to(mail)
    assert set(received) == EDITORS
    message = received["editor"]
    assert message["Subject"] == f"待办：{TITLE}"
    assert message["X-Envelope-To"] == "editor@example.org"
    body = body_of(message)
    assert f"https://canyue.example.org/briefs/{brief_id}" in body
    assert TITLE in body and "周明" in body and "李青" in body  # the actor, the recipient's name
    with app.app_context():
        assert set(db.session.scalars(select(Job.state))) == {"done"}


def test_a_rolled_back_move_leaves_no_notification_no_job_and_sends_nothing(app, mail, make_brief, login_as):
    brief_id = make_brief(State.DRAFT)
    fresh(app, mail)
    written = {}

    def commit_fails(session):  # runs after the notifications were written, inside the commit
        written["notifications"] = session.scalar(select(func.count(Notification.id)))
        written["jobs"] = session.scalar(select(func.count(Job.id)))
        raise RuntimeError("the database refused the commit")

    sa_event.listen(Session, "before_commit", commit_fails)
    try:
        with app.app_context():
            apply_transition(db.session, db.session.get(Brief, brief_id), "submit", _user("drafter"))
            with pytest.raises(RuntimeError):
                db.session.commit()
            db.session.rollback()
    finally:
        sa_event.remove(Session, "before_commit", commit_fails)
    # Written in the move's transaction...
    assert written == {"notifications": len(EDITORS), "jobs": len(EDITORS)}
    # ...and gone with it: nothing handed to the queue, nothing to run, nothing sent.
    with app.app_context():
        assert db.session.scalar(select(func.count(Job.id))) == 0
        assert db.session.scalar(select(func.count(Notification.id))) == 0
        assert db.session.get(Brief, brief_id).state == State.DRAFT.value
    assert queue(app).huey.pending_count() == 0
    # A plain rollback of the move, the same.
    with app.app_context():
        apply_transition(db.session, db.session.get(Brief, brief_id), "submit", _user("drafter"))
        db.session.rollback()
        db.session.commit()
        assert db.session.scalar(select(func.count(Notification.id))) == 0
    # A move refused in the request (a stale version) does not notify either.
    response = login_as("drafter").act(brief_id, "submit", version=brief_version(app, brief_id) + 7)
    assert response.status_code == 409
    assert drain(app) == []
    assert mail.received == [] and mail.attempts == 0


def test_a_committed_move_hands_its_jobs_to_the_queue_only_after_the_commit(app, mail, make_brief):
    brief_id = make_brief(State.DRAFT)
    huey = queue(app).huey
    huey.flush()
    with app.app_context():
        apply_transition(db.session, db.session.get(Brief, brief_id), "submit", _user("drafter"))
        assert huey.pending_count() == 0
        db.session.commit()
        assert huey.pending_count() == len(EDITORS)
    huey.flush()


def test_the_author_is_told_when_returned_and_when_published(app, mail, make_brief, login_as):
    returned = make_brief(State.IN_REVIEW)
    fresh(app, mail)
    assert login_as("editor").act(returned, "return", comment="请补充第二部分的数据").status_code == 302
    assert notified(app, returned) == {"drafter": "returned"}  # the author's news, not also a to-do
    drain(app)
    message = mails_to(mail)["drafter"]
    assert message["Subject"] == f"您的稿件已退回：{TITLE}"
    assert "请补充第二部分的数据" in body_of(message)

    signed = make_brief(State.SIGNED)
    fresh(app, mail)
    with app.app_context():
        publish(db.session, signed, _user("editor"))
    assert notified(app, signed) == {"drafter": "published", "archivist": "todo"}
    drain(app)
    received = mails_to(mail)
    assert received["drafter"]["Subject"] == f"您的稿件已印发：{TITLE}"
    assert received["archivist"]["Subject"] == f"待办：{TITLE}"
    assert f"/briefs/{signed}" in body_of(received["archivist"])


def test_a_correction_request_tells_the_signers_who_may_confirm_it(app, mail, make_brief):
    from corrections.operations import request_correction

    brief_id = make_brief(State.PUBLISHED)
    fresh(app, mail)
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        request_correction(db.session, brief_id, _user("editor"), issue_date=brief.issue_date,
                           issue_number=brief.issue_number, total_number=brief.total_number + 5, reason="总期号有误")
    assert notified(app, brief_id) == dict.fromkeys(["signer", "signer2", "editor_signer", "drafter_signer"], "todo")


def test_a_classified_series_brief_mails_neither_title_nor_content(app, mail, make_brief, login_as):
    with app.app_context():
        series = Series(name="内部参阅", hosts="苏州太湖智库", contact_phone="0512-66881234", address="苏州市",
                        default_print_run=10, first_total_number=1, classified_levels="内部",
                        classified_readers="editor,signer")
        db.session.add(series)
        db.session.commit()
        series_id = series.id
    brief_id = make_brief(State.IN_REVIEW, series=series_id, title="绝密的标题文字")
    fresh(app, mail)
    assert login_as("editor").act(brief_id, "return", comment="退回的理由文字").status_code == 302
    mail.received.clear()
    assert login_as("drafter").act(brief_id, "submit").status_code == 302
    drain(app)
    assert len(mail.received) == len(EDITORS) + 1  # the return's mail to the author too
    for message in mail.received:
        assert message["Subject"] == "您有一份待办稿件"
        body = body_of(message)
        assert body.strip().splitlines() == ["您有一份待办稿件", "", f"https://canyue.example.org/briefs/{brief_id}"]
        for secret in ("绝密的标题文字", "退回的理由文字", "苏州太湖智库", SAMPLE_BODY[:8], "周明"):
            assert secret not in message.as_string() and secret not in body


def test_each_user_chooses_per_kind_whether_mail_comes_too(app, mail, make_brief, login_as):
    editor = login_as("editor")
    choices = {"notify-email": "li.qing@example.org", "notify-mail_published": "y", "notify-mail_returned": "y"}
    assert editor.post("/account/notifications", choices, prefix="notify").status_code == 302
    page = editor.get("/account").get_data(as_text=True)
    assert 'value="li.qing@example.org"' in page
    # A typing error is refused with a message, and nothing changes.
    response = editor.post("/account/notifications", {**choices, "notify-email": "li.qing at example"}, prefix="notify")
    assert response.status_code == 422 and "不是电子邮件地址" in response.get_data(as_text=True)

    brief_id = make_brief(State.DRAFT)
    assert login_as("drafter").act(brief_id, "submit").status_code == 302
    assert notified(app, brief_id)["editor"] == "todo"  # in the app, as for everyone
    drain(app)
    received = mails_to(mail)
    assert "editor" not in received and "li.qing" not in received  # no mail for a to-do: their choice
    assert set(received) == EDITORS - {"editor"}  # the others kept the default: also by mail

    # Mail for what they did choose, at the address they gave: a brief they approved is sent
    # back by the signer — a to-do again (no mail), so make it theirs: their own draft returned.
    with app.app_context():
        db.session.get(User, _user("editor").id).set_roles({"editor", "drafter"})
        db.session.commit()
    mine = make_brief(State.IN_REVIEW, author="editor", approver="editor2")
    fresh(app, mail)
    assert login_as("editor2").act(mine, "return", comment="再改改").status_code == 302
    drain(app)
    assert [m["To"] for m in mail.received] == ["li.qing@example.org"]


def test_the_bell_counts_unread_and_the_page_marks_read(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    fresh(app)
    assert login_as("editor").act(brief_id, "return", comment="请补充").status_code == 302
    drafter = login_as("drafter")
    home = drafter.get("/").get_data(as_text=True)
    assert 'data-unread="1"' in home
    page = drafter.get("/notifications").get_data(as_text=True)
    assert f'href="/briefs/{brief_id}"' in page and "请补充" in page
    with app.app_context():
        note = db.session.scalar(select(Notification.id).where(Notification.brief_id == brief_id))
    assert drafter.post(f"/notifications/{note}/read").status_code == 302
    assert 'data-unread="0"' in drafter.get("/").get_data(as_text=True)
    assert drafter.post(f"/notifications/{note}/read", csrf=False).status_code == 400  # CSRF refused


@pytest.mark.parametrize("name", sorted(PEOPLE))
def test_every_signed_in_user_has_a_notifications_page_of_their_own(app, make_brief, login_as, name):
    brief_id = make_brief(State.DRAFT)
    with app.app_context():
        apply_transition(db.session, db.session.get(Brief, brief_id), "submit", _user("drafter"))
        db.session.commit()
        editors_note = db.session.scalar(select(Notification.id).join(User, User.id == Notification.user_id)
                                         .where(User.username == "editor"))
    client = login_as(name)
    page = client.get("/notifications")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert (f'data-notification="{editors_note}"' in text) == (name == "editor")
    if name != "editor":
        assert client.post(f"/notifications/{editors_note}/read").status_code == 404
        client.post("/notifications/read-all")
        with app.app_context():
            assert db.session.get(Notification, editors_note).read_at is None


def test_signed_out_visitors_see_no_notifications(app, make_brief):
    http = app.test_client()
    assert http.get("/notifications").status_code == 302
    assert "/login" in http.get("/notifications").headers["Location"]
    assert http.post("/notifications/read-all").status_code in (302, 400)


def test_the_daily_reminder_tells_whoever_holds_an_overdue_brief(app, mail, make_brief):
    from datetime import timedelta

    from sqlalchemy import update

    from inbox.due import today
    from jobs.registry import PERIODIC
    from jobs.worker import enqueue_periodic
    from notifications.reminders import DAILY_REMINDER

    late = make_brief(State.AWAITING_SIGNOFF)
    with app.app_context():
        db.session.execute(update(Brief).where(Brief.id == late).values(due_on=today() - timedelta(days=1)))
        db.session.commit()
    fresh(app, mail)
    [entry] = [p for p in PERIODIC if p.kind == DAILY_REMINDER]
    enqueue_periodic(app, entry)  # what the worker's scheduler does each morning
    drain(app)
    told = {name for name, kind in notified(app, late).items() if kind == "reminder"}
    assert {"signer", "editor"} <= told and "drafter" not in told
    received = mails_to(mail)
    assert received["signer"]["Subject"] == f"逾期提醒：{TITLE}"
