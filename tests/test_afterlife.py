"""更正 and 作废 after publication (DESIGN.md, the `correct`, `reissue` and `annul` rows): the
permission matrix over HTTP (every role × new action × state, grants and refusals, refusals
leaving the brief as it was), numbering, superseded files kept and linked, and the audit rows.

The expectations are written from DESIGN.md's lifecycle table, not read from the code.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, select

from annulment.operations import annul_issue
from corrections.editions import open_correction, reissue
from extensions import db
from models import AuditEvent, Brief, Copy, Revision, Series, StoredFile, User
from publishing.pipeline import publish
from tests.conftest import fetch
from workflows.brief import State
from workflows.transitions import ActionRefused, InvalidAction, apply_transition

PERSONAS = ["drafter", "drafter2", "editor", "editor2", "signer", "signer2", "archivist", "admin", "clerk",
            "security_admin", "auditor", "drafter_editor", "editor_signer"]
ROLE = "Your role does not allow this action."
NOT_AUTHOR = "You wrote this brief, so someone else must review and sign it."
WRONG_STATE = "This action is not possible in the brief's current state."
ANNULLED = "This issue has been annulled."
OPEN = "A correction of this issue is already being prepared; finish or withdraw it first."

EDITORS = {"editor", "editor2", "drafter_editor", "editor_signer"}
SIGNERS = {"signer", "signer2", "editor_signer"}
# Who reads a brief of "drafter" in each state (DESIGN.md, who may read a brief).
REVIEWERS = EDITORS | SIGNERS


def user(name: str) -> User:
    found = db.session.scalar(select(User).where(User.username == name))
    assert found is not None
    return found


def zh(app, message: str) -> str:
    with app.test_request_context(), force_locale("zh_CN"):
        return str(escape(gettext(message)))


@pytest.fixture
def issue(app, make_brief):
    """issue(state) -> id of a brief by "drafter" in PUBLISHED, ARCHIVED, ANNULLED or SIGNED."""

    def factory(state: State, **kw) -> int:
        if state is State.ANNULLED:
            brief_id = make_brief(State.PUBLISHED, **kw)
            with app.app_context():
                annul_issue(db.session, brief_id, user("signer"), "数据有误，停止使用")
            return brief_id
        return make_brief(state, **kw)

    return factory


def can_see(persona: str, state: State) -> bool:
    if persona == "auditor":
        return False
    if persona == "drafter":
        return True
    if state in (State.PUBLISHED, State.ARCHIVED, State.ANNULLED):
        return True
    return persona in REVIEWERS


# action -> (holders of the role, source states, page)
RULES = {
    "correct": (EDITORS, {State.PUBLISHED, State.ARCHIVED}, "correct"),
    "annul": (SIGNERS, {State.PUBLISHED, State.ARCHIVED}, "annul"),
}
STATES = [State.SIGNED, State.PUBLISHED, State.ARCHIVED, State.ANNULLED]


def expected(persona: str, action: str, state: State) -> tuple[int, str | None]:
    if not can_see(persona, state):
        return 404, None
    holders, sources, _page = RULES[action]
    if persona not in holders:
        return 403, ROLE
    if state not in sources:
        return 409, WRONG_STATE
    return 302, None


@pytest.mark.parametrize("action", list(RULES))
@pytest.mark.parametrize("state", STATES, ids=[s.value for s in STATES])
def test_matrix(app, issue, login_as, action, state):
    """Every persona × (correct, annul) on a brief in each state: refusals with their reason and
    nothing changed, grants doing the move. One brief serves every refusal (they change nothing);
    each grant gets a fresh one."""
    shared = issue(state)
    for persona in PERSONAS:
        status, reason = expected(persona, action, state)
        brief_id = shared if status != 302 else issue(state)
        before = fetch(app, brief_id)
        client = login_as(persona)
        page_status = client.get(f"/briefs/{brief_id}/{RULES[action][2]}").status_code
        assert page_status == (200 if status == 302 else 409 if status == 409 else status), (persona, page_status)
        response = client.post(f"/briefs/{brief_id}/{RULES[action][2]}",
                               {"reason": "第三段数据有误", "version": str(before.version)})
        text = response.get_data(as_text=True)
        assert response.status_code == status, (persona, action, state, text[:300])
        after = fetch(app, brief_id)
        with app.app_context():
            drafts = db.session.scalar(select(func.count(Brief.id)).where(Brief.corrects_id == brief_id))
        if status == 302:
            if action == "annul":
                assert after.state == State.ANNULLED.value and after.annulled_at is not None
            else:
                assert after.state == before.state and drafts == 1
        else:
            assert (after.state, after.version, drafts) == (before.state, before.version, 0), persona
            if reason:
                assert zh(app, reason) in text, persona


@pytest.mark.parametrize("persona", PERSONAS)
def test_buttons_follow_the_table(app, issue, login_as, persona):
    """The issue page offers 更正 to editors and 作废 to signers (not the author), nothing else new."""
    brief_id = issue(State.PUBLISHED)
    page = login_as(persona).get(f"/briefs/{brief_id}").get_data(as_text=True)
    if persona == "auditor":
        return
    assert ('data-action="correct"' in page) == (persona in EDITORS)
    assert ('data-action="annul"' in page) == (persona in SIGNERS)


def test_the_author_may_not_annul_their_own_issue(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, author="drafter_signer", signer="signer")
    before = fetch(app, brief_id)
    response = login_as("drafter_signer").post(f"/briefs/{brief_id}/annul",
                                               {"reason": "作废", "version": str(before.version)})
    assert response.status_code == 403
    assert zh(app, NOT_AUTHOR) in response.get_data(as_text=True)
    assert fetch(app, brief_id).state == State.PUBLISHED.value


def test_a_reason_is_required_and_refusal_changes_nothing(app, issue, login_as):
    brief_id = issue(State.PUBLISHED)
    before = fetch(app, brief_id)
    for persona, page in (("editor", "correct"), ("signer", "annul")):
        response = login_as(persona).post(f"/briefs/{brief_id}/{page}", {"reason": " ", "version": str(before.version)})
        assert response.status_code == 422
        assert zh(app, "Please give a reason.") in response.get_data(as_text=True)
    after = fetch(app, brief_id)
    assert (after.state, after.version) == (before.state, before.version)
    with app.app_context():
        assert db.session.scalar(select(func.count(Brief.id)).where(Brief.corrects_id == brief_id)) == 0
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.brief_id == brief_id, AuditEvent.action.in_(["correct", "annul"]))) == 0


# --- the correction draft: written by the editor, reviewed by another, signed ---------------------

DRAFT_RULES = {
    # action -> who may, of the personas, on the correction draft by "editor" in the state before
    "submit": ({"editor"}, State.DRAFT),
    "approve": ({"editor2", "drafter_editor", "editor_signer"}, State.IN_REVIEW),
    "sign": ({"signer", "signer2", "editor_signer"}, State.AWAITING_SIGNOFF),
}


def walk_draft(app, brief_id: int, upto: State, *, approver: str = "editor2") -> int:
    """The correction draft of `brief_id` by "editor", walked to `upto`."""
    with app.app_context():
        draft = open_correction(db.session, brief_id, user("editor"), "第三段数据有误")
        steps = {State.IN_REVIEW: ["submit"], State.AWAITING_SIGNOFF: ["submit", "approve"],
                 State.SIGNED: ["submit", "approve", "sign"]}.get(upto, [])
        actors = {"submit": "editor", "approve": approver, "sign": "signer"}
        for action in steps:
            apply_transition(db.session, draft, action, user(actors[action]))
        db.session.commit()
        return draft.id


@pytest.mark.parametrize("action", list(DRAFT_RULES))
def test_the_correction_draft_follows_separation_of_duties(app, issue, login_as, action):
    """The editor who opened it submits it though not a drafter; nobody else does; another
    editor approves; a signer other than the approver signs."""
    allowed, state = DRAFT_RULES[action]
    brief_id = issue(State.PUBLISHED)
    shared = walk_draft(app, brief_id, state)
    assert fetch(app, shared).author_id is not None
    for persona in PERSONAS:
        if persona in allowed:
            # a fresh draft (of a fresh issue) for the grant
            draft_id = walk_draft(app, issue(State.PUBLISHED), state)
        else:
            draft_id = shared
        before = fetch(app, draft_id)
        response = login_as(persona).act(draft_id, action, "同意" if action == "sign" else None)
        after = fetch(app, draft_id)
        if persona in allowed:
            assert response.status_code == 302, (persona, response.get_data(as_text=True)[:300])
            assert after.state != before.state
        else:
            assert response.status_code in (403, 404, 409), persona
            assert (after.state, after.version) == (before.state, before.version), persona


def test_one_correction_at_a_time(app, issue, login_as):
    brief_id = issue(State.PUBLISHED)
    walk_draft(app, brief_id, State.DRAFT)
    before = fetch(app, brief_id)
    response = login_as("editor2").post(f"/briefs/{brief_id}/correct", {"reason": "再改", "version": str(before.version)})
    assert response.status_code == 409
    assert zh(app, OPEN) in response.get_data(as_text=True)


def set_mode(app, series_id: int, mode: str) -> None:
    with app.app_context():
        db.session.get(Series, series_id).correction_mode = mode
        db.session.commit()


def test_a_correction_notice_takes_the_next_number_and_names_the_issue(app, issue, series_id):
    first = issue(State.PUBLISHED)
    draft_id = walk_draft(app, first, State.SIGNED)
    with app.app_context():
        original = db.session.get(Brief, first)
        draft = db.session.get(Brief, draft_id)
        assert draft.correction_kind == "notice" and draft.author_id == user("editor").id
        assert f"本刊{original.issue_year}年第{original.issue_number}期（总第{original.total_number}期）" in draft.body
        with pytest.raises(ActionRefused):  # a notice is published, not reissued
            reissue(db.session, draft_id, user("editor"))
        notice = publish(db.session, draft_id, user("editor2"))
        assert (notice.issue_number, notice.total_number) == (original.issue_number + 1, original.total_number + 1)
        assert notice.corrects_id == first and original.state == State.PUBLISHED.value
        events = [e.action for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.brief_id == first).order_by(AuditEvent.seq))]
        assert events[-1] == "correct"


def test_a_corrected_edition_keeps_the_numbers_and_supersedes_the_files(app, issue, series_id, login_as):
    set_mode(app, series_id, "edition")
    first = issue(State.PUBLISHED)
    later = issue(State.PUBLISHED)
    with app.app_context():
        original = db.session.get(Brief, first)
        numbers = (original.number_sequence, original.issue_year, original.issue_number, original.total_number)
        old_files = {f.id: (f.kind, f.copy_id, f.path, f.sha256) for f in db.session.scalars(
            select(StoredFile).where(StoredFile.brief_id == first))}
        copies = db.session.scalar(select(func.count(Copy.id)).where(Copy.brief_id == first))
        old_revision = original.revision_number
    draft_id = walk_draft(app, first, State.DRAFT)
    editor = login_as("editor")
    version = fetch(app, draft_id).version
    response = editor.post(f"/briefs/{draft_id}/edit", {
        "title": "关于加快我市低空经济产业发展的几点建议", "body": "更正后的正文。第三段数据为 12%。",
        "version": str(version), "classification": "", "urgency": ""})
    assert response.status_code == 302
    with app.app_context():
        draft = db.session.get(Brief, draft_id)
        for action, who in (("submit", "editor"), ("approve", "editor2"), ("sign", "signer")):
            apply_transition(db.session, draft, action, user(who))
        db.session.commit()
        with pytest.raises(ActionRefused):  # an edition is not a second brief with its own numbers
            publish(db.session, draft_id, user("editor"))
    before = fetch(app, draft_id)
    page = editor.get(f"/briefs/{draft_id}/reissue")
    assert page.status_code == 200
    response = editor.post(f"/briefs/{draft_id}/reissue", {"version": str(before.version)})
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    with app.app_context():
        original = db.session.get(Brief, first)
        draft = db.session.get(Brief, draft_id)
        assert draft.state == State.REISSUED.value and draft.issue_number is None and draft.total_number is None
        assert original.state == State.PUBLISHED.value and original.edition == 1
        assert (original.number_sequence, original.issue_year, original.issue_number, original.total_number) == numbers
        assert original.body == "更正后的正文。第三段数据为 12%。"
        assert original.revision_number == old_revision + 1
        assert db.session.scalar(select(Revision.body).where(
            Revision.brief_id == first, Revision.number == old_revision)) != original.body
        files = db.session.scalars(select(StoredFile).where(StoredFile.brief_id == first)).all()
        by_id = {f.id: f for f in files}
        # every old file is kept, unchanged, pointing at its successor of the same kind and copy
        for file_id, (kind, copy_id, path, sha) in old_files.items():
            old = by_id[file_id]
            assert (old.path, old.sha256) == (path, sha)
            assert old.superseded_by_id is not None
            new = by_id[old.superseded_by_id]
            assert (new.kind, new.copy_id) == (kind, copy_id) and new.sha256 != sha and new.superseded_by_id is None
        current = [f for f in files if f.superseded_by_id is None]
        assert len(current) == len(old_files) == copies + 1
        assert db.session.scalar(select(func.count(Copy.id)).where(Copy.brief_id == first)) == copies
        # the new master carries the issue's head before the move that recorded it (audit verify's check)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.brief_id == first,
                                                             AuditEvent.action == "new_edition"))
        assert event is not None and original.master.event_seq == event.seq
        assert db.session.scalar(select(AuditEvent.action).where(
            AuditEvent.brief_id == draft_id).order_by(AuditEvent.seq.desc()).limit(1)) == "reissue"
        # numbers stay unique: no second brief holds the issue's numbers, and the next issue counts on
        held = db.session.scalar(select(func.count(Brief.id)).where(
            Brief.series_id == series_id, Brief.total_number == numbers[3]))
        assert held == 1
        assert db.session.get(Brief, later).total_number == numbers[3] + 1
    master = editor.get(f"/briefs/{first}")
    assert master.status_code == 200 and f'data-correction="{draft_id}"' in master.get_data(as_text=True)


# --- 作废 ------------------------------------------------------------------------------------------


def test_annulling_recalls_copies_keeps_numbers_and_frees_the_date(app, make_brief, series_id, login_as):
    today = date.today()
    late = make_brief(State.PUBLISHED, issue_date=today)
    with app.app_context():
        held = db.session.get(Brief, late)
        numbers = (held.issue_number, held.total_number)
        copies = db.session.scalar(select(func.count(Copy.id)).where(Copy.brief_id == late))
    # while the issue stands, a new issue may not be dated before it
    signed = make_brief(State.SIGNED)
    with app.app_context(), pytest.raises(InvalidAction):
        publish(db.session, signed, user("editor"), issue_date=today - timedelta(days=3))
    response = login_as("signer2").post(f"/briefs/{late}/annul",
                                        {"reason": "内容失实，停止使用", "version": str(fetch(app, late).version)})
    assert response.status_code == 302
    with app.app_context():
        annulled = db.session.get(Brief, late)
        assert annulled.state == State.ANNULLED.value and (annulled.issue_number, annulled.total_number) == numbers
        assert db.session.scalar(select(func.count(Copy.id)).where(Copy.brief_id == late, Copy.recalled)) == copies > 0
        actions = [e.action for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.brief_id == late).order_by(AuditEvent.seq))][-2:]
        assert actions == ["annul", "recall"]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.brief_id == late, AuditEvent.action == "annul"))
        assert (event.from_state, event.to_state, event.reason, event.actor_name) == (
            "published", "annulled", "内容失实，停止使用", "郑海")
        # its date no longer holds the next issue back; its numbers are never given again
        after = publish(db.session, signed, user("editor"), issue_date=today - timedelta(days=3))
        assert after.total_number == numbers[1] + 1
    # the archivist files it; it stays marked annulled and cannot be annulled or filed again
    archivist = login_as("archivist")
    response = archivist.post(f"/briefs/{late}/file", {"retention": "Y", "version": str(fetch(app, late).version)})
    assert response.status_code == 302
    filed = fetch(app, late)
    assert filed.state == State.ARCHIVED.value and filed.annulled_at is not None
    response = login_as("signer").post(f"/briefs/{late}/annul", {"reason": "再次", "version": str(filed.version)})
    assert response.status_code == 409 and zh(app, ANNULLED) in response.get_data(as_text=True)
    assert fetch(app, late).version == filed.version


def test_an_annulled_edition_cannot_be_reissued(app, issue, series_id):
    set_mode(app, series_id, "edition")
    first = issue(State.PUBLISHED)
    draft_id = walk_draft(app, first, State.SIGNED)
    with app.app_context():
        annul_issue(db.session, first, user("signer2"), "作废")
        before = db.session.get(Brief, draft_id).version
        with pytest.raises(ActionRefused, match="annulled"):  # the table's condition, before any render
            reissue(db.session, draft_id, user("editor"))
        assert db.session.get(Brief, draft_id).version == before
        assert db.session.scalar(select(func.count(StoredFile.id)).where(
            StoredFile.brief_id == first, StoredFile.superseded_by_id.is_not(None))) == 0


def test_a_correction_of_an_annulled_issue_is_not_published_and_is_withdrawn(app, issue, series_id, login_as):
    set_mode(app, series_id, "notice")
    first = issue(State.PUBLISHED)
    draft_id = walk_draft(app, first, State.SIGNED)
    with app.app_context():
        annul_issue(db.session, first, user("signer2"), "内容有误，停止使用")
    editor = login_as("editor")
    page = editor.get(f"/briefs/{draft_id}").get_data(as_text=True)
    assert 'data-action="publish"' not in page
    before = fetch(app, draft_id)
    response = editor.post(f"/briefs/{draft_id}/publish", {"issue_date": date.today().isoformat(),
                                                          "version": str(before.version)})
    assert response.status_code == 409
    assert zh(app, "The issue this correction is for has been annulled, so the correction is not issued: "
                   "withdraw it.") in response.get_data(as_text=True)
    after = fetch(app, draft_id)
    assert (after.state, after.version, after.issue_number) == (State.SIGNED.value, before.version, None)
    with app.app_context():  # no number was taken
        assert db.session.scalar(select(func.count(Brief.id)).where(Brief.issue_number.is_not(None))) == 1
    # What is left to do: a signer revokes the sign-off, and its author withdraws it.
    assert login_as("signer").act(draft_id, "reopen", "原期已作废").status_code == 302
    assert editor.act(draft_id, "withdraw", "原期已作废").status_code == 302
    assert fetch(app, draft_id).state == State.WITHDRAWN.value
