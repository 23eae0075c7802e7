"""Every role × action × state cell over HTTP: each allowed move succeeds, each refused one
is refused with the right status and reason, and nothing changes when it is refused.

The expectations below are written from DESIGN.md's lifecycle table, not read from the code.
"""

from __future__ import annotations

import re

import io
from datetime import date

import pytest
from PIL import Image
from flask_babel import force_locale, gettext
from markupsafe import escape

from sqlalchemy import func, select

from corrections.operations import request_correction
from extensions import db
from models import Correction, FollowUp, Instruction, User
from tests.conftest import PATHS, fetch
from workflows.brief import State

# The brief is written by "drafter", approved by "editor", signed by "signer".
PERSONAS = ["drafter", "drafter2", "editor", "editor2", "signer", "signer2", "archivist", "admin", "clerk",
            "security_admin", "auditor", "secretary"]
STATES = list(PATHS)  # every state a brief can be walked to

REVIEWERS = {"editor", "editor2", "signer", "signer2"}
# 三员分立: the admin and the security administrator read what every account reads (published
# issues their series leaves open), nothing more; the auditor reads no brief at all.
READS_NOTHING = {"auditor"}


def can_see(persona: str, state: State) -> bool:
    if persona in READS_NOTHING:
        return False
    if persona == "drafter":
        return True
    if state in (State.PUBLISHED, State.ARCHIVED):
        return True
    if persona in REVIEWERS:
        return state in (State.IN_REVIEW, State.AWAITING_SIGNOFF, State.SIGNED)
    if persona == "secretary":  # linked to "signer": reads what awaits a leader's sign-off, and once signed
        return state in (State.AWAITING_SIGNOFF, State.SIGNED)
    return False


ROLE = "Your role does not allow this action."
NOT_AUTHOR = "You wrote this brief, so someone else must review and sign it."
ONLY_AUTHOR = "Only the author of this brief may do this."
APPROVER = "You approved this brief, so another leader must sign it."
WRONG_STATE = "This action is not possible in the brief's current state."

# action -> (personas holding the role, {persona: ownership refusal}, source states)
RULES: dict[str, tuple[set[str], dict[str, str], set[State]]] = {
    "submit": ({"drafter", "drafter2"}, {"drafter2": ONLY_AUTHOR}, {State.DRAFT}),
    "withdraw": ({"drafter", "drafter2"}, {"drafter2": ONLY_AUTHOR}, {State.DRAFT, State.IN_REVIEW}),
    "return": ({"editor", "editor2"}, {}, {State.IN_REVIEW}),
    "approve": ({"editor", "editor2"}, {}, {State.IN_REVIEW}),
    "send_back": ({"signer", "signer2"}, {}, {State.AWAITING_SIGNOFF}),
    "sign": ({"signer", "signer2"}, {}, {State.AWAITING_SIGNOFF}),
    "reopen": ({"editor", "editor2", "signer", "signer2"}, {}, {State.SIGNED}),
    "publish": ({"editor", "editor2"}, {}, {State.SIGNED}),
    "archive": ({"archivist"}, {}, {State.PUBLISHED}),
    # 代签: the secretary, for the leader linked to them ("signer", who neither wrote nor approved it).
    "sign_on_paper": ({"secretary"}, {}, {State.AWAITING_SIGNOFF}),
}
TARGETS = {
    "submit": State.IN_REVIEW, "withdraw": State.WITHDRAWN, "return": State.DRAFT,
    "approve": State.AWAITING_SIGNOFF, "send_back": State.IN_REVIEW, "sign": State.SIGNED,
    "reopen": State.IN_REVIEW, "publish": State.PUBLISHED, "archive": State.ARCHIVED,
    "sign_on_paper": State.SIGNED,
}


def expected(persona: str, action: str, state: State) -> tuple[int, str | None]:
    """(HTTP status, reason shown) for `persona` taking `action` on a brief in `state`."""
    if not can_see(persona, state):
        return 404, None
    holders, ownership, sources = RULES[action]
    if persona not in holders:
        return 403, ROLE
    if persona in ownership:
        return 403, ownership[persona]
    if state not in sources:
        return 409, WRONG_STATE
    return 302, None


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 30), (255, 255, 255)).save(out, format="PNG")
    return out.getvalue()


def client_people(app) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(select(User.username, User.id)).all())


def zh(app, message: str) -> str:
    """The message as a Chinese page shows it (translated, HTML-escaped)."""
    with app.test_request_context(), force_locale("zh_CN"):
        return str(escape(gettext(message)))


CELLS = [(p, a, s) for p in PERSONAS for a in RULES for s in STATES]  # every cell, checked below
PERSONA_STATES = [(p, s) for p in PERSONAS for s in STATES]


def take(app, client, brief_id: int, action: str, version: int):
    comment = "请补充数据来源" if action in ("return", "send_back", "reopen", "withdraw") else None
    if action == "publish":
        return client.post(f"/briefs/{brief_id}/publish", {"issue_date": "2026-11-20", "version": str(version)})
    if action == "archive":
        return client.post(f"/briefs/{brief_id}/file", {"retention": "Y", "version": str(version)})
    if action == "sign_on_paper":
        return client.post(f"/briefs/{brief_id}/signoff/paper", {
            "leader_id": str(client_people(app)["signer"]), "signed_on": date.today().isoformat(),
            "opinion": "同意印发", "version": str(version), "scan": (io.BytesIO(png()), "签发单.png")},
            content_type="multipart/form-data")
    return client.act(brief_id, action, comment)


@pytest.mark.parametrize("persona,state", PERSONA_STATES, ids=[f"{p}-{s.value}" for p, s in PERSONA_STATES])
def test_action_cells(app, make_brief, login_as, persona, state):
    """Every action of the table by `persona` on a brief in `state`. The refusals are tried one
    after another on one brief, which each must leave as it was; each allowed move gets a
    brief of its own."""
    client = login_as(persona)
    shared = make_brief(state)
    for action in RULES:
        cell = f"{persona} × {action} × {state.value}"
        status, reason = expected(persona, action, state)
        brief_id = make_brief(state) if status == 302 else shared
        before = fetch(app, brief_id)
        response = take(app, client, brief_id, action, before.version)
        page = response.get_data(as_text=True)
        assert response.status_code == status, (cell, page[:500])
        after = fetch(app, brief_id)
        if status == 302:
            assert after.state == TARGETS[action].value, cell
        else:
            assert after.state == before.state and after.version == before.version, cell
            if reason:
                assert zh(app, reason) in page, cell


def test_the_action_cells_cover_every_role_action_and_state():
    covered = {(p, a, s) for p, s in PERSONA_STATES for a in RULES}
    assert covered == set(CELLS) and len(CELLS) == len(PERSONAS) * len(RULES) * len(STATES)


READ_CELLS = [(p, s) for p in PERSONAS for s in STATES]


@pytest.mark.parametrize("persona,state", READ_CELLS, ids=[f"{p}-{s.value}" for p, s in READ_CELLS])
def test_read_cell(app, make_brief, login_as, persona, state):
    brief_id = make_brief(state)
    client = login_as(persona)
    visible = can_see(persona, state)
    for url in (f"/briefs/{brief_id}", f"/briefs/{brief_id}/preview", f"/briefs/{brief_id}/changes"):
        assert client.get(url).status_code == (200 if visible else 404), url
    listing = client.get(f"/briefs?state={state.value}")
    if persona in READS_NOTHING:
        assert listing.status_code == 403  # no list of briefs at all
    else:
        assert (f"/briefs/{brief_id}\"" in listing.get_data(as_text=True)) == visible


EDIT_CELLS = [(p, s) for p in PERSONAS for s in STATES]


def expected_edit(persona: str, state: State) -> int:
    if not can_see(persona, state):
        return 404
    if persona not in {"drafter", "editor", "editor2"}:
        return 403
    if state not in (State.DRAFT, State.IN_REVIEW):
        return 409
    if state is State.IN_REVIEW and persona == "drafter":
        return 409  # the author waits while the brief is in review
    return 200


@pytest.mark.parametrize("persona,state", EDIT_CELLS, ids=[f"{p}-{s.value}" for p, s in EDIT_CELLS])
def test_edit_cell(app, make_brief, login_as, persona, state):
    brief_id = make_brief(state)
    before = fetch(app, brief_id)
    client = login_as(persona)
    status = expected_edit(persona, state)
    assert client.get(f"/briefs/{brief_id}/edit").status_code == status
    response = client.post(
        f"/briefs/{brief_id}/edit",
        {"title": "改过的标题", "body": "改过的正文。", "version": str(before.version), "classification": "内部", "urgency": ""},
    )
    assert response.status_code == (302 if status == 200 else status)
    after = fetch(app, brief_id)
    if status == 200:
        assert after.title == "改过的标题" and after.revision_number == before.revision_number + 1
    else:
        assert after.title == before.title and after.revision_number == before.revision_number


def test_buttons_match_the_policy(app, make_brief, login_as):
    """A brief page shows exactly the moves the viewer may make."""
    brief_id = make_brief(State.AWAITING_SIGNOFF)
    signer_page = login_as("signer").get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert 'data-action="sign"' in signer_page and 'data-action="send_back"' in signer_page
    assert 'data-action="approve"' not in signer_page
    editor_page = login_as("editor").get(f"/briefs/{brief_id}").get_data(as_text=True)
    # no move of the lifecycle; only the brief's own deadline (the inbox's set_deadline)
    assert re.findall(r'data-action="(\w+)"', editor_page) == ["deadline"]


# --- Corrections of an issued brief: every role × correction move × state -----------------------

ISSUED = {State.PUBLISHED, State.ARCHIVED}
ONLY_REQUESTER = "Only the editor who asked for this correction may withdraw it."
ALREADY_PENDING = "A correction of this issue is already waiting for confirmation."
NONE_PENDING = "No correction of this issue is waiting for confirmation."

# action -> (personas holding the role, {persona: ownership refusal while a request by "editor" waits})
CORRECTION_RULES: dict[str, tuple[set[str], dict[str, str]]] = {
    "request_correction": ({"editor", "editor2"}, {}),
    "confirm_correction": ({"signer", "signer2"}, {}),
    "withdraw_correction": ({"editor", "editor2"}, {"editor2": ONLY_REQUESTER}),
    "reject_correction": ({"signer", "signer2"}, {}),
}


def correction_expected(persona: str, action: str, state: State, pending: bool) -> tuple[int, str | None]:
    """(HTTP status, reason shown); `pending`: a request by "editor" is waiting."""
    if not can_see(persona, state):
        return 404, None
    holders, ownership = CORRECTION_RULES[action]
    if persona not in holders:
        return 403, ROLE
    if pending and persona in ownership:
        return 403, ownership[persona]
    if state not in ISSUED:
        return 409, WRONG_STATE
    if action == "request_correction" and pending:
        return 409, ALREADY_PENDING
    if action != "request_correction" and not pending:
        return 409, NONE_PENDING
    return 302, None


def asked_number(brief_id: int) -> int:
    """The 期号 a request by "editor" gives the brief: free whatever other briefs the test made
    (they count up from 1, and on from the highest, a corrected 期号 included)."""
    return 90 - brief_id


def ask_as_editor(app, brief_id: int) -> None:
    """A request by "editor": the brief's 期号 becomes asked_number(brief_id)."""
    with app.app_context():
        brief = fetch(app, brief_id)
        editor = db.session.scalar(select(User).where(User.username == "editor"))
        request_correction(db.session, brief_id, editor, issue_date=brief.issue_date,
                           issue_number=asked_number(brief_id), total_number=brief.total_number, reason="期号录错")


def corrections(app, brief_id: int) -> list[tuple[str, int]]:
    with app.app_context():
        return db.session.execute(select(Correction.state, Correction.new_issue_number)
                                  .where(Correction.brief_id == brief_id).order_by(Correction.id)).all()


def correction_move(app, client, brief_id: int, action: str, version: int):
    if action == "request_correction":
        brief = fetch(app, brief_id)
        return client.post(f"/briefs/{brief_id}/correction", {
            "issue_date": (brief.issue_date or date(2026, 11, 20)).isoformat(), "issue_number": "3",
            "total_number": str(brief.total_number or 31), "reason": "期号录错", "version": str(version)})
    if action == "confirm_correction":
        return client.post(f"/briefs/{brief_id}/correction/confirm", {"comment": "", "version": str(version)})
    return client.act(brief_id, action, "理由", version=version)


def correction_cells() -> list[tuple[str, str, State, bool]]:
    # The usual case: a request waits for every move but the request itself ...
    cells = [(p, a, s, a != "request_correction" and s in ISSUED) for p in PERSONAS for a in CORRECTION_RULES
             for s in STATES]
    # ... and the other case on an issued brief, for the roles that may make the move.
    cells += [(p, a, s, a == "request_correction") for a, (holders, _) in CORRECTION_RULES.items()
              for p in sorted(holders) for s in sorted(ISSUED)]
    return cells


CORRECTION_CELLS = correction_cells()
AFTER = {"request_correction": "pending", "confirm_correction": "applied", "withdraw_correction": "withdrawn",
         "reject_correction": "rejected"}


def correction_groups() -> dict[tuple[str, State, bool], list[str]]:
    """The correction cells by (persona, state, whether a request waits): their actions."""
    groups: dict[tuple[str, State, bool], list[str]] = {}
    for persona, action, state, pending in CORRECTION_CELLS:
        groups.setdefault((persona, state, pending), []).append(action)
    return groups


CORRECTION_GROUPS = correction_groups()


@pytest.mark.parametrize("persona,state,pending", list(CORRECTION_GROUPS),
                         ids=[f"{p}-{s.value}-{'pending' if w else 'none'}" for p, s, w in CORRECTION_GROUPS])
def test_correction_cells(app, make_brief, login_as, persona, state, pending):
    """The correction moves by `persona` on a brief in `state`: refusals on one brief, which
    they must leave as it was; each allowed move on a brief of its own."""
    client = login_as(persona)

    def made() -> int:
        brief_id = make_brief(state)
        if pending:
            ask_as_editor(app, brief_id)
        return brief_id

    shared = made()
    for action in CORRECTION_GROUPS[(persona, state, pending)]:
        cell = f"{persona} × {action} × {state.value} ({'pending' if pending else 'none'})"
        status, reason = correction_expected(persona, action, state, pending)
        brief_id = made() if status == 302 else shared
        before = fetch(app, brief_id)
        asked = corrections(app, brief_id)
        response = correction_move(app, client, brief_id, action, before.version)
        page = response.get_data(as_text=True)
        assert response.status_code == status, (cell, page[:500])
        after = fetch(app, brief_id)
        assert after.state == before.state, cell  # a correction never moves the brief to another state
        if status == 302:
            assert corrections(app, brief_id)[-1][0] == AFTER[action], cell
            assert after.version > before.version, cell
            assert after.issue_number == (asked_number(brief_id) if action == "confirm_correction"
                                          else before.issue_number), cell
        else:
            assert after.version == before.version and after.issue_number == before.issue_number, cell
            assert corrections(app, brief_id) == asked, cell
            if reason:
                assert zh(app, reason) in page, cell


# --- 领导批示: every role × registering one × state, and × updating a follow-up -----------------

KEEPERS = {"editor", "editor2", "clerk"}
NOT_ISSUED = "Instructions are registered on an issue once it is published."


def instruction_expected(persona: str, state: State) -> tuple[int, str | None]:
    if not can_see(persona, state):
        return 404, None
    if persona not in KEEPERS:
        return 403, ROLE
    if state not in ISSUED:
        return 409, NOT_ISSUED
    return 302, None


INSTRUCTION_CELLS = [(p, s) for p in PERSONAS for s in STATES]


def instruction_form(people: dict[str, int], **extra) -> dict:
    return {"recipient_id": "0", "leader_name": "王建国", "level": "市委书记/市长", "given_on": date.today().isoformat(),
            "kind": "act", "text": "请研究落实。", "responsible_name": "市发改委", "owner_id": str(people["editor"]),
            "due_on": date.today().isoformat(), **extra}


@pytest.mark.parametrize("persona,state", INSTRUCTION_CELLS, ids=[f"{p}-{s.value}" for p, s in INSTRUCTION_CELLS])
def test_register_instruction_cell(app, people, make_brief, login_as, persona, state):
    brief_id = make_brief(state, issue_date=date(2026, 11, 20))
    before = fetch(app, brief_id)
    status, reason = instruction_expected(persona, state)
    response = login_as(persona).post(f"/briefs/{brief_id}/instructions/new", instruction_form(people))
    page = response.get_data(as_text=True)
    assert response.status_code == status, page[:500]
    with app.app_context():
        count = db.session.scalar(select(func.count(Instruction.id)).where(Instruction.brief_id == brief_id))
    assert count == (1 if status == 302 else 0)
    if status != 302:
        assert fetch(app, brief_id).version == before.version
        if reason:
            assert zh(app, reason) in page


FOLLOW_UP_CELLS = [(p, s) for p in PERSONAS for s in sorted(ISSUED)]


@pytest.mark.parametrize("persona,state", FOLLOW_UP_CELLS, ids=[f"{p}-{s.value}" for p, s in FOLLOW_UP_CELLS])
def test_follow_up_cell(app, people, make_brief, login_as, persona, state):
    brief_id = make_brief(state, issue_date=date(2026, 11, 20))
    assert login_as("clerk").post(f"/briefs/{brief_id}/instructions/new",
                                  instruction_form(people)).status_code == 302
    with app.app_context():
        follow_up_id = db.session.scalar(select(FollowUp.id))
    status, reason = instruction_expected(persona, state)
    response = login_as(persona).post(f"/follow-ups/{follow_up_id}", {"note": "进展", "done": "done"})
    assert response.status_code == status
    with app.app_context():
        row = db.session.get(FollowUp, follow_up_id)
        assert row.done == (status == 302) and len(row.notes) == (1 if status == 302 else 0)
