"""The rules themselves, without HTTP: the table, the policy, the diagram, no Flask."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from workflows.brief import LIFECYCLE, TRANSITIONS, State, mermaid_diagram
from workflows.policy import Refusal, available_actions, can

ROOT = Path(__file__).resolve().parent.parent


def person(uid, *roles):
    return SimpleNamespace(id=uid, display_name=f"p{uid}", role_set=frozenset(roles), is_authenticated=True)


def brief(state, author=1, approver=None, submitted=True, pending_by=None, copies_moved=False):
    pending = SimpleNamespace(requested_by_id=pending_by) if pending_by is not None else None
    return SimpleNamespace(state=state, author_id=author, approved_by_id=approver,
                           submitted_at=object() if submitted else None,
                           pending_correction=pending, copies_moved=copies_moved,
                           annulled_at=None, archived_at=object() if state == "archived" else None,
                           corrects_id=None, correction_kind=None, corrects_as_edition=False, open_correction=None)


def test_workflows_import_no_flask():
    code = "import sys, workflows.brief, workflows.policy, workflows.transitions, workflows.numbering, workflows.audit;" \
           "bad=[m for m in sys.modules if m.split('.')[0] in ('flask','flask_sqlalchemy','flask_login','flask_babel')];" \
           "print(bad); sys.exit(1 if bad else 0)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_table_matches_design():
    # A correction leaves the brief in its state (target None: published stays published).
    moves = {t.action: ({s.value for s in t.sources}, t.target and t.target.value, {r.value for r in t.roles},
                        t.reason_required)
             for t in LIFECYCLE}
    assert moves == {
        "submit": ({"draft"}, "in_review", {"drafter"}, False),
        "return": ({"in_review"}, "draft", {"editor"}, True),
        "approve": ({"in_review"}, "awaiting_signoff", {"editor"}, False),
        "send_back": ({"awaiting_signoff"}, "in_review", {"signer"}, True),
        "sign": ({"awaiting_signoff"}, "signed", {"signer"}, False),
        "sign_on_paper": ({"awaiting_signoff"}, "signed", {"secretary"}, False),
        "reopen": ({"signed"}, "in_review", {"editor", "signer"}, True),
        "publish": ({"signed"}, "published", {"editor"}, False),
        "archive": ({"published", "annulled"}, "archived", {"archivist"}, False),
        "withdraw": ({"draft", "in_review"}, "withdrawn", {"drafter"}, True),
        "delete": ({"draft"}, None, {"drafter"}, False),
        "request_correction": ({"published", "archived"}, None, {"editor"}, True),
        "confirm_correction": ({"published", "archived"}, None, {"signer"}, False),
        "withdraw_correction": ({"published", "archived"}, None, {"editor"}, False),
        "reject_correction": ({"published", "archived"}, None, {"signer"}, True),
        # 更正 and 作废 after publication (tests/test_afterlife.py walks them over HTTP).
        "correct": ({"published", "archived"}, None, {"editor"}, True),
        "reissue": ({"signed"}, "reissued", {"editor"}, False),
        "annul": ({"published", "archived"}, "annulled", {"signer"}, True),
    }


def test_refusal_kinds():
    editor_author = person(1, "drafter", "editor")
    assert can(editor_author, brief("in_review"), "approve").refusal is Refusal.OWNERSHIP
    assert can(person(2, "signer"), brief("in_review"), "approve").refusal is Refusal.ROLE
    assert can(person(2, "editor"), brief("awaiting_signoff"), "approve").refusal is Refusal.STATE
    assert can(person(3, "editor"), brief("draft", submitted=False), "read").refusal is Refusal.NOT_FOUND
    approver_signer = person(4, "editor", "signer")
    assert can(approver_signer, brief("awaiting_signoff", approver=4), "sign").refusal is Refusal.OWNERSHIP
    assert can(approver_signer, brief("awaiting_signoff", approver=5), "sign")


def test_correction_refusals():
    """Separation of duties is an ownership refusal (403); what the issue is like beyond its
    state — a request pending or not, a copy sent — refuses like the state (409)."""
    editor, signer, both = person(2, "editor"), person(3, "signer"), person(4, "editor", "signer")
    assert can(editor, brief("published"), "request_correction")
    assert can(editor, brief("archived"), "request_correction")
    assert can(editor, brief("published", pending_by=9), "request_correction").refusal is Refusal.STATE
    assert can(editor, brief("published", copies_moved=True), "request_correction").refusal is Refusal.STATE
    assert can(editor, brief("signed"), "request_correction").refusal is Refusal.STATE
    assert can(signer, brief("published", pending_by=2), "confirm_correction")
    assert can(signer, brief("published"), "confirm_correction").refusal is Refusal.STATE
    assert can(signer, brief("published", pending_by=2, copies_moved=True), "confirm_correction").refusal \
        is Refusal.STATE
    assert can(both, brief("published", pending_by=4), "confirm_correction").refusal is Refusal.OWNERSHIP
    assert can(both, brief("published", pending_by=4), "reject_correction").refusal is Refusal.OWNERSHIP
    assert can(both, brief("published", pending_by=4), "withdraw_correction")
    assert can(editor, brief("published", pending_by=4), "withdraw_correction").refusal is Refusal.OWNERSHIP
    assert can(editor, brief("published"), "withdraw_correction").refusal is Refusal.STATE
    assert [t.action for t in available_actions(both, brief("archived", pending_by=4))] == [
        "correct", "annul", "withdraw_correction"]


def test_available_actions_are_what_can_allows():
    signer = person(7, "signer")
    assert [t.action for t in available_actions(signer, brief("awaiting_signoff", approver=2))] == ["send_back", "sign"]
    assert available_actions(signer, brief("draft", submitted=False)) == []


def test_diagram_has_every_move():
    diagram = mermaid_diagram()
    for t in LIFECYCLE:
        for source in t.sources:
            assert f"{source.value} --> {t.target_for(source).value}" in diagram
    assert all(f"as {s.value}" in diagram for s in State)
    assert set(TRANSITIONS) == {t.action for t in LIFECYCLE}


def test_readme_embeds_the_generated_diagram(app):
    result = app.test_cli_runner().invoke(args=["workflow", "diagram"])
    assert result.exit_code == 0
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "```mermaid\n" + result.output + "```" in readme, "README diagram is stale: paste `flask --app app workflow diagram`"


def test_lists_show_exactly_what_can_read_allows(app, make_brief, people):
    """readable_clause (SQL, for lists) agrees with can_read for every person and state,
    including a brief withdrawn while in review."""
    from sqlalchemy import select

    from extensions import db
    from models import Brief, User
    from tests.conftest import PATHS
    from workflows.policy import can_read, readable_clause

    ids = [make_brief(state) for state in PATHS]
    ids.append(make_brief(State.IN_REVIEW))
    with app.app_context():
        reviewed = db.session.get(Brief, ids[-1])
        author = db.session.get(User, people["drafter"])
        from workflows.transitions import apply_transition

        apply_transition(db.session, reviewed, "withdraw", author, comment="另有安排")
        db.session.commit()
        briefs = db.session.scalars(select(Brief)).all()
        for name, user_id in people.items():
            user = db.session.get(User, user_id)
            listed = set(db.session.scalars(select(Brief.id).where(readable_clause(user, Brief))))
            allowed = {b.id for b in briefs if can_read(user, b)}
            assert listed == allowed, name
        editor = db.session.get(User, people["editor"])
        assert can_read(editor, db.session.get(Brief, ids[-1]))  # withdrawn after review: still visible
