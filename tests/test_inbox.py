"""Issue 12: the inbox (待办, 代办, 已办, 我发起的, copies), who holds a brief, progress, comments
and mentions, due dates in working days, overdue marks, delegation (委托)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from extensions import db
from inbox import delegation, queries
from inbox.due import set_deadline, today
from inbox.holders import HolderResolver
from inbox.reminders import overdue_reminders
from models import AuditEvent, Brief, Comment, Delegation, Notification, User
from tests.conftest import PATHS, PEOPLE, fetch
from workflows.brief import State
from workflows.holders import STEPS, held_moves, progress
from workflows.policy import COMMENT, SET_DEADLINE, OnBehalf, available_actions, can
from workflows.transitions import ActionRefused, apply_transition
from workflows.workdays import add_working_days, is_working_day, working_days_between


def text(response) -> str:
    return response.get_data(as_text=True)


def user(name: str) -> User:
    found = db.session.scalar(select(User).where(User.username == name))
    assert found is not None
    return found


def ids_in(page: str) -> list[int]:
    return [int(m) for m in re.findall(r'href="/briefs/(\d+)"', page)]


# --- working days -----------------------------------------------------------------------------

def test_working_days_follow_the_official_calendar_and_its_make_up_days():
    # 2026 National Day: 1–7 October off; Saturday 10 October is worked (调休); Mid-Autumn is Friday
    # 25 September, and Sunday 20 September is worked in its place.
    assert not is_working_day(date(2026, 10, 1)) and not is_working_day(date(2026, 10, 7))
    assert is_working_day(date(2026, 10, 10))  # a Saturday, worked
    assert not is_working_day(date(2026, 10, 11))
    assert is_working_day(date(2026, 9, 20))  # a Sunday, worked
    assert not is_working_day(date(2026, 9, 25))  # a Friday, Mid-Autumn
    # Review begun on Wednesday 30 September with 3 working days: 8, 9 and (Saturday) 10 October.
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    # Begun on Thursday 24 September: 25–27 are off, so 2 working days end on Tuesday 29.
    assert add_working_days(date(2026, 9, 24), 2) == date(2026, 9, 29)
    # The organisation's own day off on 8 October pushes it by one working day.
    assert add_working_days(date(2026, 9, 30), 3, {date(2026, 10, 8)}) == date(2026, 10, 12)
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert add_working_days(date(2026, 9, 30), 0) == date(2026, 9, 30)


def test_a_step_due_date_is_set_by_the_series_and_an_earlier_deadline(app, make_brief):
    brief_id = make_brief(State.IN_REVIEW)
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        assert brief.series.review_days == 3
        start = brief.state_since.astimezone().date()
        assert brief.due_on is not None and brief.due_on >= start
        # The editor's own deadline, if earlier, is the one that counts.
        set_deadline(db.session, brief, user("editor"), today() + timedelta(days=1))
        db.session.commit()
        assert brief.due_on == min(today() + timedelta(days=1), add_working_days(start, 3))
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.brief_id == brief_id)
                                   .order_by(AuditEvent.seq.desc())).first()
        assert event.action == "set_deadline" and event.actor_name == "李青"
        with pytest.raises(ActionRefused):
            set_deadline(db.session, brief, user("drafter"), None)  # not an editor


# --- the SQL twin of can() --------------------------------------------------------------------

def _briefs_everywhere(make_brief) -> list[int]:
    made = []
    # every state make_brief walks to (a 更正版 draft, `reissued`, is tests/test_afterlife.py's)
    for state in [*PATHS, State.ANNULLED]:
        made.append(make_brief(state))
        made.append(make_brief(state, author="drafter_editor", approver="editor_signer", signer="signer"))
        made.append(make_brief(state, author="drafter_signer", approver="editor"))
    return made


def test_the_todo_query_agrees_with_can_for_every_person_and_state(app, people, make_brief):
    made = _briefs_everywhere(make_brief)
    with app.app_context():
        briefs = db.session.scalars(select(Brief).where(Brief.id.in_(made))).all()
        actors = [db.session.get(User, people[name]) for name in PEOPLE]
        # And people standing in for others (委托): the principal's authority, both people's duties.
        by = {u.username: u for u in actors}
        actors += [OnBehalf(by["editor"], by["drafter_editor"], "editor"),
                   OnBehalf(by["signer"], by["editor_signer"], "signer"),
                   OnBehalf(by["drafter"], by["drafter_editor"], "drafter"),
                   OnBehalf(by["drafter_editor"], by["editor"], "editor")]
        for actor in actors:
            expected = {b.id for b in briefs if any(t.todo for t in available_actions(actor, b))}
            got = set(db.session.scalars(select(Brief.id).where(queries.todo_clause(actor))))
            assert got == expected, actor
            for b in briefs:  # the group is the first forward move open, as the page shows it
                if b.id in expected:
                    group = db.session.scalar(select(queries.todo_group(actor)).where(Brief.id == b.id))
                    assert group == held_moves(actor, b)[0].action


def test_holders_asked_once_per_role_set_agree_with_asking_everyone(app, people, make_brief):
    from workflows.holders import holders

    made = _briefs_everywhere(make_brief)
    with app.app_context():
        everyone = db.session.scalars(select(User)).all()
        for brief in db.session.scalars(select(Brief).where(Brief.id.in_(made))):
            assert holders(brief, everyone) == [u for u in everyone if held_moves(u, brief)], brief


def test_every_guard_of_a_forward_move_has_its_sql_twin():
    from workflows.holders import FORWARD_MOVES

    for move in FORWARD_MOVES:
        for guard in (*move.guards, *move.conditions):
            assert guard in queries.GUARD_SQL, (move.action, guard)


# --- the tabs ---------------------------------------------------------------------------------

def test_each_role_sees_its_own_todo_with_the_count_on_the_menu(app, people, make_brief, login_as):
    draft = make_brief(State.DRAFT)
    review = make_brief(State.IN_REVIEW)
    signoff = make_brief(State.AWAITING_SIGNOFF)
    signed = make_brief(State.SIGNED)
    expected = {"drafter": {draft}, "editor": {review, signed}, "signer": {signoff}, "drafter2": set()}
    for name, wanted in expected.items():
        page = text(login_as(name).get("/"))
        main = page.split('<main id="content">', 1)[1]
        assert set(ids_in(main)) == wanted, name
        count = re.search(r'data-inbox-count="(\d+)"', page)
        assert (int(count.group(1)) if count else 0) == len(wanted), name
    page = text(login_as("editor").get("/"))
    assert 'id="todo-approve"' in page and 'id="todo-publish"' in page


def test_the_todo_tab_is_paginated_urgent_first(app, people, make_brief, login_as):
    made = [make_brief(State.DRAFT, title=f"草稿{i}") for i in range(33)]
    urgent = make_brief(State.DRAFT, title="特急件", urgency="特急")
    client = login_as("drafter")
    first = text(client.get("/"))
    main = first.split('<main id="content">', 1)[1]
    listed = ids_in(main)
    assert len(listed) == 30 and listed[0] == urgent
    assert "1 / 2" in first and 'data-inbox-count="34"' in first
    second = ids_in(text(client.get("/?tab=todo&page=2")).split('<main id="content">', 1)[1])
    assert len(second) == 4 and not set(second) & set(listed)
    assert set(listed) | set(second) == set(made) | {urgent}
    assert 'class="badge urgency urgency-top"' in first


def test_handled_lists_what_i_acted_on_newest_first(app, people, make_brief, login_as):
    older = make_brief(State.IN_REVIEW)
    newer = make_brief(State.IN_REVIEW)
    editor = login_as("editor")
    assert editor.act(older, "approve").status_code == 302
    assert editor.act(newer, "return", "请补充数据").status_code == 302
    page = text(editor.get("/?tab=done")).split('<main id="content">', 1)[1]
    # The returned draft is no longer the editor's to read, so only the approved one is listed.
    assert ids_in(page) == [older]
    signer = login_as("signer")
    assert signer.act(older, "sign").status_code == 302
    assert signer.act(make_brief(State.AWAITING_SIGNOFF), "sign").status_code == 302
    listed = ids_in(text(signer.get("/?tab=done")).split('<main id="content">', 1)[1])
    assert len(listed) == 2 and listed[1] == older  # newest first


def test_started_by_me_shows_state_holder_and_since(app, people, make_brief, login_as):
    brief_id = make_brief(State.AWAITING_SIGNOFF, author="drafter_signer", approver="editor_signer")
    page = text(login_as("drafter_signer").get("/?tab=mine"))
    # The author and the approver may not sign: the two other signers hold it.
    assert "Waiting for 王志远、郑海 to sign off" in page or "待王志远、郑海签发" in page
    assert f'href="/briefs/{brief_id}"' in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", page)


def test_the_clerk_sees_the_copies_to_send_and_the_receipts_awaited(app, people, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED)
    with app.app_context():
        from models import Copy

        copies = db.session.scalar(select(db.func.count(Copy.id)).where(Copy.brief_id == brief_id))
    page = text(login_as("clerk").get("/?tab=copies"))
    if copies:
        assert f'data-to-send="{copies}"' in page and f"/briefs/{brief_id}/copies" in page
    else:
        assert "Nothing here." in page or "暂无" in page
    assert login_as("drafter").get("/?tab=copies").status_code == 200  # falls back to 待办
    assert 'data-tab="copies"' not in text(login_as("drafter").get("/"))


# --- holders and progress ---------------------------------------------------------------------

def test_holders_are_read_off_the_table_with_the_guards(app, people, make_brief):
    brief_id = make_brief(State.AWAITING_SIGNOFF, author="drafter", approver="editor_signer")
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        holding = HolderResolver(db.session).holding(brief)
        names = set(holding.names())
        assert names == {"王志远", "郑海", "何平"}  # every signer but the approver
        assert holding.step.key == "signoff"
        db.session.execute(update(User).where(User.username.in_(["signer2", "drafter_signer"])).values(active=False))
        holding = HolderResolver(db.session).holding(brief)
        assert holding.names() == ["王志远"]


def test_the_brief_page_shows_the_steps_and_who_it_waits_for(app, people, make_brief, login_as):
    brief_id = make_brief(State.AWAITING_SIGNOFF, author="drafter")
    with app.app_context():
        db.session.execute(update(User).where(User.username.in_(["signer2", "drafter_signer", "editor_signer"]))
                           .values(active=False))
        since = db.session.get(Brief, brief_id).state_since - timedelta(days=2, minutes=1)
        db.session.execute(update(Brief).where(Brief.id == brief_id).values(state_since=since))
        db.session.commit()
    page = text(login_as("editor").get(f"/briefs/{brief_id}"))
    assert re.search(r'data-step="draft" data-status="done"', page)
    assert re.search(r'data-step="review" data-status="done"', page)
    assert re.search(r'data-step="signoff" data-status="current"', page)
    assert re.search(r'data-step="archive" data-status="todo"', page)
    assert "Waiting for 王志远 to sign off, waiting for 2 days" in page or "待王志远签发，已等 2 天" in page
    assert "No action is open to you" not in page


def test_progress_rows():
    rows = progress("published", {"submit": "e1", "approve": "e2", "sign": "e3", "publish": "e4"})
    assert [status for _s, status, _e in rows] == ["done", "done", "done", "done", "current"]
    assert [s.key for s in STEPS] == ["draft", "review", "signoff", "publish", "archive"]
    assert [status for _s, status, _e in progress("withdrawn", {"submit": "e"})] == ["done"] + ["todo"] * 4


# --- comments ---------------------------------------------------------------------------------

def test_comments_mention_readers_and_are_audited_and_sanitised(app, people, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    editor = login_as("editor")
    body = "请 @signer 和 @周明 看第二段。<script>alert(1)</script> **加粗**"
    response = editor.post(f"/briefs/{brief_id}/comments", {"comment-body": body}, prefix="comment")
    assert response.status_code == 302
    with app.app_context():
        comment = db.session.scalar(select(Comment).where(Comment.brief_id == brief_id))
        assert set(comment.mentions) == {people["signer"], people["drafter"]}
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.brief_id == brief_id)
                                   .order_by(AuditEvent.seq.desc())).first()
        assert event.action == "comment" and event.reason == body and event.actor_id == people["editor"]
        # the two mentioned are told (the bell; mail if they chose it), the one who wrote is not
        told = db.session.scalars(select(Notification).where(Notification.kind == "mentioned")).all()
        assert sorted(n.user_id for n in told) == sorted([people["signer"], people["drafter"]])
        assert all(n.brief_id == brief_id for n in told)
    page = text(editor.get(f"/briefs/{brief_id}"))
    section = page.split('id="comments"', 1)[1].split("</section>", 1)[0]
    assert "<strong>加粗</strong>" in section and "<script>" not in section
    # The clerk may not read a brief in review: mentioning them is refused, nothing is posted.
    refused = editor.post(f"/briefs/{brief_id}/comments", {"comment-body": "@clerk 请准备分发"}, prefix="comment")
    assert refused.status_code == 422 and "机要员小刘" in text(refused)
    unknown = editor.post(f"/briefs/{brief_id}/comments", {"comment-body": "@nobody 你好"}, prefix="comment")
    assert unknown.status_code == 422 and "@nobody" in text(unknown)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Comment.id))) == 1


def test_who_may_comment_and_set_a_deadline(app, people, make_brief):
    review = make_brief(State.IN_REVIEW)
    published = make_brief(State.PUBLISHED)
    comment = {"drafter": True, "drafter2": False, "editor": True, "signer": True, "archivist": False,
               "clerk": False, "admin": False, "auditor": False}
    deadline = {"drafter": False, "editor": True, "signer": False, "archivist": False, "clerk": False,
                "admin": False, "auditor": False}
    with app.app_context():
        brief = db.session.get(Brief, review)
        issued = db.session.get(Brief, published)
        for name, allowed in comment.items():
            assert bool(can(user(name), brief, COMMENT)) == allowed, name
        for name, allowed in deadline.items():
            assert bool(can(user(name), brief, SET_DEADLINE)) == allowed, name
        assert not can(user("editor"), issued, SET_DEADLINE)  # published: no deadline any more
        assert can(user("editor"), issued, COMMENT)


def test_the_return_reason_heads_the_edit_form(app, people, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    assert login_as("editor").act(brief_id, "return", "第三部分数据需核实").status_code == 302
    page = text(login_as("drafter").get(f"/briefs/{brief_id}/edit"))
    head = page.split('<main id="content">', 1)[1].split("<form", 1)[0]
    assert "data-returned" in head and "第三部分数据需核实" in head and "李青" in head


# --- overdue ----------------------------------------------------------------------------------

def test_overdue_items_are_marked_and_reminded(app, people, make_brief, login_as):
    late = make_brief(State.AWAITING_SIGNOFF, author="drafter", approver="editor")
    on_time = make_brief(State.AWAITING_SIGNOFF, author="drafter", approver="editor")
    with app.app_context():
        db.session.execute(update(Brief).where(Brief.id == late).values(due_on=today() - timedelta(days=1)))
        db.session.commit()
        reminders = overdue_reminders(db.session)
        told = {(r.user.username, r.brief.id, r.why) for r in reminders}
        assert {b for _u, b, _w in told} == {late}
        assert ("signer", late, "holder") in told and ("editor", late, "editor") in told
        assert not any(u == "drafter" for u, _b, _w in told)
    page = text(login_as("signer").get("/"))
    rows = {int(m.group(2)): m.group(1) for m in re.finditer(r'<tr class="([^"]*)">\s*<td[^>]*>.*?href="/briefs/(\d+)"',
                                                              page, re.S)}
    assert "overdue-row" in rows[late] and "overdue-row" not in rows[on_time]


# --- delegation -------------------------------------------------------------------------------

def _delegate(app, principal: str, delegate: str, role: str) -> None:
    with app.app_context():
        delegation.create(db.session, user(principal), user(delegate), role, today(), today() + timedelta(days=3))
        db.session.commit()


def test_the_delegate_sees_and_acts_and_the_trail_says_on_whose_behalf(app, people, make_brief, login_as):
    draft = make_brief(State.DRAFT)  # 周明's
    _delegate(app, "drafter", "drafter2", "drafter")
    client = login_as("drafter2")
    home = text(client.get("/"))
    assert 'data-tab="delegated"' in home and 'data-inbox-count="1"' in home
    assert ids_in(text(client.get("/?tab=delegated")).split('<main id="content">', 1)[1]) == [draft]
    page = text(client.get(f"/briefs/{draft}"))  # the principal's draft, read through the delegation
    assert 'name="for"' in page and 'data-action="submit"' in page
    version = fetch(app, draft).version
    response = client.post(f"/briefs/{draft}", {"do": "submit", "submit-version": str(version),
                                                "for": str(people["drafter"])}, prefix="submit")
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.brief_id == draft)
                                   .order_by(AuditEvent.seq.desc())).first()
        assert event.action == "submit" and event.actor_id == people["drafter2"]
        assert event.actor_name == "孙丽（代周明办理）"
    assert fetch(app, draft).state == State.IN_REVIEW.value
    # Without a delegation in force, the same form is refused.
    other = make_brief(State.DRAFT, author="drafter_editor")
    response = client.post(f"/briefs/{other}", {"do": "submit", "submit-version": str(fetch(app, other).version),
                                                "for": str(people["drafter_editor"])}, prefix="submit")
    assert response.status_code in (403, 404)
    assert fetch(app, other).state == State.DRAFT.value


def test_separation_of_duties_holds_for_both_people(app, people, make_brief, login_as):
    written_by_delegate = make_brief(State.IN_REVIEW, author="drafter_editor")
    written_by_other = make_brief(State.IN_REVIEW, author="drafter")
    _delegate(app, "editor", "drafter_editor", "editor")
    with app.app_context():
        actor = delegation.acting_for(db.session, user("drafter_editor"))[0]
        mine, theirs = db.session.get(Brief, written_by_delegate), db.session.get(Brief, written_by_other)
        assert not can(actor, mine, "approve")  # the delegate wrote it
        assert can(actor, theirs, "approve")
        assert not can(actor, theirs, "edit")  # a delegate makes moves, nothing else
    # And the other way round: acting for the author is no way round not_author.
    _delegate(app, "drafter_editor", "editor2", "editor")
    with app.app_context():
        actor = delegation.acting_for(db.session, user("editor2"))[0]
        assert not can(actor, db.session.get(Brief, written_by_delegate), "approve")
    client = login_as("drafter_editor")
    version = fetch(app, written_by_delegate).version
    response = client.post(f"/briefs/{written_by_delegate}", {"do": "approve", "approve-version": str(version),
                                                              "for": str(people["editor"])}, prefix="approve")
    assert response.status_code == 403
    assert fetch(app, written_by_delegate).state == State.IN_REVIEW.value


def test_a_delegation_needs_the_same_role_and_a_period(app, people, login_as):
    client = login_as("drafter")
    start = today().isoformat()
    end = (today() + timedelta(days=5)).isoformat()
    # The editor does not hold the drafter's role: refused, nothing saved.
    response = client.post("/account/delegations", {"delegation-delegate_id": str(people["editor"]),
                                                    "delegation-role": "drafter", "delegation-starts_on": start,
                                                    "delegation-ends_on": end}, prefix="delegation")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Delegation.id))) == 0
    response = client.post("/account/delegations", {"delegation-delegate_id": str(people["drafter2"]),
                                                    "delegation-role": "drafter", "delegation-starts_on": end,
                                                    "delegation-ends_on": start}, prefix="delegation")
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Delegation.id))) == 0
    response = client.post("/account/delegations", {"delegation-delegate_id": str(people["drafter2"]),
                                                    "delegation-role": "drafter", "delegation-starts_on": start,
                                                    "delegation-ends_on": end}, prefix="delegation")
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(Delegation))
        assert row.delegate_id == people["drafter2"] and row.principal_id == people["drafter"]
    account = text(client.get("/account"))
    assert f'data-given="{row.id}"' in account
    assert 'data-received' in text(login_as("drafter2").get("/account"))
    assert client.post(f"/account/delegations/{row.id}/end").status_code == 302
    with app.app_context():
        assert delegation.acting_for(db.session, user("drafter2")) == []
