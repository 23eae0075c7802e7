"""Every role × copy move × copy state over HTTP: each allowed move succeeds, each refused one is
refused with the right status and reason, and nothing changes when it is refused.

The expectations are written from the issue (distribution) and DESIGN.md, not read from the
code: editors and the clerk (机要员) record moves; archivists and the system administrator see
copies but move none; drafters, signers, the security administrator and the auditor do not see
them. The issue is classified (内部) here, so
copies may be taken back or destroyed; the guard for unclassified issues is tested at the end.
"""

from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import select

from extensions import db
from models import Copy, User
from tests.conftest import fetch
from workflows.brief import State
from workflows.copy import CopyState
from workflows.dispatch import apply_copy_transition

PERSONAS = ["drafter", "editor", "signer", "archivist", "admin", "clerk", "security_admin", "auditor"]
ACTIONS = ["dispatch", "receive", "return_copy", "destroy", "lose"]
STATES = list(CopyState)

SEES = {"editor", "clerk", "archivist", "admin"}
MOVES = {"editor", "clerk"}
READS_NO_BRIEF = {"auditor"}  # not even the issue: 404 where others get 403
SOURCES = {
    "dispatch": {CopyState.PRINTED},
    "receive": {CopyState.DISPATCHED},
    "return_copy": {CopyState.DISPATCHED, CopyState.RECEIVED},
    "destroy": {CopyState.PRINTED, CopyState.RECEIVED, CopyState.RETURNED},
    "lose": {CopyState.PRINTED, CopyState.DISPATCHED, CopyState.RECEIVED, CopyState.RETURNED},
}
TARGETS = {"dispatch": CopyState.DISPATCHED, "receive": CopyState.RECEIVED, "return_copy": CopyState.RETURNED,
           "destroy": CopyState.DESTROYED, "lose": CopyState.LOST}
FIELDS = {
    "dispatch": {"route": "courier", "person": "张师傅"},
    "receive": {"person": "王建国"},
    "return_copy": {"person": "王建国", "witness": "李四"},
    "destroy": {"person": "小刘", "witness": "监销人老张"},
    "lose": {"comment": "途中遗失"},
}
# How each state is reached from printed, by the editor.
WALKS: dict[CopyState, list[tuple[str, dict]]] = {
    CopyState.PRINTED: [],
    CopyState.DISPATCHED: [("dispatch", {"route": "hand"})],
    CopyState.RECEIVED: [("dispatch", {"route": "hand"}), ("receive", {"person": "王建国"})],
    CopyState.RETURNED: [("dispatch", {"route": "hand"}), ("return_copy", {"person": "王建国"})],
    CopyState.DESTROYED: [("destroy", {"witness": "老张"})],
    CopyState.LOST: [("lose", {"comment": "遗失"})],
}

ROLE = "Your role does not allow this action."
WRONG_STATE = "This is not possible in the copy's current state."
NOT_RESTRICTED = "Copies are taken back or destroyed only when the issue is classified or has been recalled."


def expected(persona: str, action: str, state: CopyState) -> tuple[int, str | None]:
    if persona not in SEES:
        return 404, None
    if persona not in MOVES:
        return 403, ROLE
    if state not in SOURCES[action]:
        return 409, WRONG_STATE
    return 302, None


def zh(app, message: str) -> str:
    with app.test_request_context(), force_locale("zh_CN"):
        return str(escape(gettext(message)))


_master_cache: dict[str, object] = {}


@pytest.fixture
def fast_render(monkeypatch):
    """Render the master once per test run: the matrix is about moves, not typesetting."""
    from rendering.pdf import PdfRenderer

    real = PdfRenderer.render

    def cached(self, issue, **kwargs):
        if "pdf" not in _master_cache:
            _master_cache["pdf"] = real(self, issue, **kwargs)
        return _master_cache["pdf"]

    monkeypatch.setattr(PdfRenderer, "render", cached)


def published_copies(app, make_brief, **content) -> tuple[int, list[int]]:
    brief_id = make_brief(State.PUBLISHED, **content)
    with app.app_context():
        ids = list(db.session.scalars(select(Copy.id).where(Copy.brief_id == brief_id).order_by(Copy.number)))
    return brief_id, ids


def walk(app, copy_id: int, state: CopyState) -> None:
    with app.app_context():
        editor = db.session.scalar(select(User).where(User.username == "editor"))
        for action, fields in WALKS[state]:
            apply_copy_transition(db.session, db.session.get(Copy, copy_id), action, editor, **fields)
        db.session.commit()


def copy_row(app, copy_id: int) -> Copy:
    with app.app_context():
        row = db.session.get(Copy, copy_id)
        db.session.expunge(row)
        return row


CELLS = [(p, a) for p in PERSONAS for a in ACTIONS]


@pytest.mark.parametrize("persona,action", CELLS, ids=[f"{p}-{a}" for p, a in CELLS])
def test_move_cells(app, make_brief, login_as, clerk, fast_render, persona, action):
    """One issue per persona and move; one copy per state."""
    _brief_id, ids = published_copies(app, make_brief, classification="内部")
    client = login_as(persona)
    problems = []
    for state, copy_id in zip(STATES, ids):
        walk(app, copy_id, state)
        before = copy_row(app, copy_id)
        assert before.state == state.value
        data = {f"{action}-{k}": v for k, v in FIELDS[action].items()}
        data[f"{action}-version"] = str(before.version)
        response = client.post(f"/copies/{copy_id}/act/{action}", data, prefix=action)
        status, reason = expected(persona, action, state)
        after = copy_row(app, copy_id)
        page = response.get_data(as_text=True)
        if response.status_code != status:
            problems.append(f"{state.value}: {response.status_code} != {status}")
        elif status == 302:
            if after.state != TARGETS[action].value:
                problems.append(f"{state.value}: moved to {after.state}")
        else:
            if (after.state, after.version) != (before.state, before.version):
                problems.append(f"{state.value}: refused, yet changed")
            if reason and zh(app, reason) not in page:
                problems.append(f"{state.value}: the reason is not shown")
    assert not problems, problems


READ_CELLS = PERSONAS


@pytest.mark.parametrize("persona", READ_CELLS)
def test_read_cells(app, make_brief, login_as, clerk, fast_render, persona):
    brief_id, ids = published_copies(app, make_brief)
    client = login_as(persona)
    sees = persona in SEES
    assert client.get(f"/copies/{ids[0]}").status_code == (200 if sees else 404)
    # The issue itself is public to every account (the auditor's aside); its board is not.
    hidden = 404 if persona in READS_NO_BRIEF else 403
    board = 200 if sees else hidden
    for url in (f"/briefs/{brief_id}/copies", f"/briefs/{brief_id}/copies/distribution.csv"):
        assert client.get(url).status_code == board, url
    assert client.get(f"/copies/{ids[0]}/pdf").status_code == (200 if persona in MOVES else 403 if sees else 404)
    bulk = 302 if persona in MOVES else hidden
    response = client.post(f"/briefs/{brief_id}/copies/dispatch",
                           {"route": "courier", "version": str(fetch(app, brief_id).version)})
    assert response.status_code == bulk
    response = client.post(f"/copies/{ids[1]}/links", {"days": "3"})
    assert response.status_code == (200 if persona in MOVES else 403 if sees else 404)
    recall = 302 if persona == "editor" else hidden
    response = client.post(f"/briefs/{brief_id}/copies/recall",
                           {"reason": "收回", "version": str(fetch(app, brief_id).version)})
    assert response.status_code == recall


def test_before_publication_there_is_no_board(app, make_brief, login_as, clerk):
    signed = make_brief(State.SIGNED)
    assert login_as("editor").get(f"/briefs/{signed}/copies").status_code == 409
    assert login_as("clerk").get(f"/briefs/{signed}/copies").status_code == 404  # may not see it at all


@pytest.mark.parametrize("action", ["return_copy", "destroy"])
def test_taking_back_needs_a_classified_or_recalled_issue(app, make_brief, login_as, fast_render, action):
    brief_id, ids = published_copies(app, make_brief, classification="")
    walk(app, ids[0], CopyState.RECEIVED)
    editor = login_as("editor")

    def attempt():
        data = {f"{action}-{k}": v for k, v in FIELDS[action].items()}
        data[f"{action}-version"] = str(copy_row(app, ids[0]).version)
        return editor.post(f"/copies/{ids[0]}/act/{action}", data, prefix=action)

    response = attempt()
    assert response.status_code == 409 and zh(app, NOT_RESTRICTED) in response.get_data(as_text=True)
    assert copy_row(app, ids[0]).state == "received"
    assert editor.post(f"/briefs/{brief_id}/copies/recall",
                       {"reason": "收回", "version": str(fetch(app, brief_id).version)}).status_code == 302
    assert attempt().status_code == 302
    assert copy_row(app, ids[0]).state == TARGETS[action].value


def test_buttons_match_the_policy(app, make_brief, login_as, clerk, fast_render):
    _brief_id, ids = published_copies(app, make_brief, classification="内部")
    walk(app, ids[0], CopyState.RECEIVED)
    for persona, shown in (("clerk", {"return_copy", "destroy", "lose"}), ("archivist", set())):
        page = login_as(persona).get(f"/copies/{ids[0]}").get_data(as_text=True)
        found = {a for a in ACTIONS if f'data-action="{a}"' in page}
        assert found == shown, persona
