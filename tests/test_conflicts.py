"""Two people at once, reasons that must be given, a revoked sign-off, and separation of duties
for people who hold two roles."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from extensions import db
from models import AuditEvent, Brief, Revision, User
from tests.conftest import fetch
from workflows.brief import State
from workflows.transitions import apply_transition

STALE = ("Someone else changed this brief after you opened it. Nothing was saved; "
         "your text is kept below. Compare it with the current version, then try again.")
NEED_REASON = "Please give a reason."
NOT_AUTHOR = "You wrote this brief, so someone else must review and sign it."
APPROVER = "You approved this brief, so another leader must sign it."


def zh(app, message: str) -> str:
    with app.test_request_context(), force_locale("zh_CN"):
        return str(escape(gettext(message)))


def events(app, brief_id: int) -> list[tuple[str, str | None, str | None, str]]:
    """The brief's audit trail as (action, to_state, reason, actor_name)."""
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.brief_id == brief_id).order_by(AuditEvent.seq)
        ).all()
        return [(e.action, e.to_state, e.reason, e.actor_name) for e in rows]


def revision_count(app, brief_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Revision.id)).where(Revision.brief_id == brief_id))


def version_on(page: str) -> str:
    match = re.search(r'<input[^>]*name="version"[^>]*value="(\d+)"', page)
    assert match, "no version field on the edit page"
    return match.group(1)


def edit_form(version: str, title: str, body: str) -> dict:
    return {"title": title, "author_line": "苏州太湖智库", "special_report": "王建国书记\n李明代市长",
            "keywords": "", "body": body, "classification": "", "urgency": "", "version": version}


# --- two editors, one brief --------------------------------------------------------------------


def test_second_save_on_a_stale_page_is_refused_and_keeps_the_text(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    first, second = login_as("editor"), login_as("editor2")
    first_page = first.get(f"/briefs/{brief_id}/edit")
    second_page = second.get(f"/briefs/{brief_id}/edit")
    assert first_page.status_code == second_page.status_code == 200
    first_version = version_on(first_page.get_data(as_text=True))
    second_version = version_on(second_page.get_data(as_text=True))
    assert first_version == second_version
    revisions_before = revision_count(app, brief_id)

    response = first.post(f"/briefs/{brief_id}/edit",
                          edit_form(first_version, "李青改定的标题", "李青改定的正文。"))
    assert response.status_code == 302

    typed_title, typed_body = "吴刚想要的标题<b>", "吴刚辛苦写的一大段正文，不能丢。"
    response = second.post(f"/briefs/{brief_id}/edit", edit_form(second_version, typed_title, typed_body))
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert zh(app, STALE) in page
    assert str(escape(typed_title)) in page and typed_body in page  # nothing typed is lost
    assert 'name="title"' in page and 'name="body"' in page  # still an editable form

    stored = fetch(app, brief_id)
    assert stored.title == "李青改定的标题" and stored.body == "李青改定的正文。"
    assert stored.state == State.IN_REVIEW.value
    assert revision_count(app, brief_id) == revisions_before + 1
    assert [e[0] for e in events(app, brief_id)].count("edit") == 1

    # Reloading gives the current text and version; saving from there works.
    fresh = second.get(f"/briefs/{brief_id}/edit").get_data(as_text=True)
    assert "李青改定的标题" in fresh
    response = second.post(f"/briefs/{brief_id}/edit", edit_form(version_on(fresh), typed_title, typed_body))
    assert response.status_code == 302
    assert fetch(app, brief_id).title == typed_title
    assert revision_count(app, brief_id) == revisions_before + 2


def test_edit_without_a_version_is_not_saved_blindly(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    before = fetch(app, brief_id)
    form = edit_form("", "没有版本号的保存", "正文")
    response = login_as("editor").post(f"/briefs/{brief_id}/edit", form)
    # Either refused or saved against the current version, but never a silent overwrite of
    # someone else's newer text: here nobody else changed it, so the outcome must be consistent.
    after = fetch(app, brief_id)
    if response.status_code == 302:
        assert after.version > before.version and after.title == "没有版本号的保存"
    else:
        assert response.status_code in (400, 409, 422)
        assert after.version == before.version


def test_action_on_a_stale_page_is_refused(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    approver, other = login_as("editor"), login_as("editor2")
    seen_version = fetch(app, brief_id).version
    page = other.get(f"/briefs/{brief_id}/edit").get_data(as_text=True)
    assert other.post(f"/briefs/{brief_id}/edit",
                      edit_form(version_on(page), "吴刚刚改过", "新的正文。")).status_code == 302
    trail_before = events(app, brief_id)

    response = approver.act(brief_id, "approve", version=seen_version)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert zh(app, STALE) in page
    assert 'data-action="approve"' in page  # the buttons are offered again, on the current version
    after = fetch(app, brief_id)
    assert after.state == State.IN_REVIEW.value and after.approved_by_id is None
    assert events(app, brief_id) == trail_before
    # With the current version the same approval goes through.
    assert approver.act(brief_id, "approve").status_code == 302
    assert fetch(app, brief_id).state == State.AWAITING_SIGNOFF.value


def test_return_with_a_stale_version_keeps_the_reason_typed(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    seen_version = fetch(app, brief_id).version
    other = login_as("editor2")
    page = other.get(f"/briefs/{brief_id}/edit").get_data(as_text=True)
    assert other.post(f"/briefs/{brief_id}/edit", edit_form(version_on(page), "新标题", "新正文。")).status_code == 302
    response = login_as("editor").act(brief_id, "return", "第三部分的数据需要注明来源", version=seen_version)
    assert response.status_code == 409
    assert "第三部分的数据需要注明来源" in response.get_data(as_text=True)
    assert fetch(app, brief_id).state == State.IN_REVIEW.value


def test_simultaneous_moves_over_the_orm_one_wins(app, make_brief, people):
    """Two sessions load the same brief; the second to write finds it changed (StaleDataError)."""
    brief_id = make_brief(State.IN_REVIEW)
    with app.app_context():
        with Session(db.engine) as first, Session(db.engine) as second:
            brief_1 = first.get(Brief, brief_id)
            brief_2 = second.get(Brief, brief_id)
            assert brief_1.version == brief_2.version
            apply_transition(first, brief_1, "approve", first.get(User, people["editor"]))
            first.commit()
            with pytest.raises(StaleDataError):
                apply_transition(second, brief_2, "return", second.get(User, people["editor2"]),
                                 comment="同时退回")
                second.commit()
            second.rollback()
    stored = fetch(app, brief_id)
    assert stored.state == State.AWAITING_SIGNOFF.value
    assert stored.editor_name == "李青"
    trail = events(app, brief_id)
    assert [e[0] for e in trail] == ["create", "submit", "approve"]


# --- reasons that must be given ----------------------------------------------------------------

REASONED = [
    # action, state the brief is in, who acts
    ("return", State.IN_REVIEW, "editor"),
    ("send_back", State.AWAITING_SIGNOFF, "signer"),
    ("reopen", State.SIGNED, "signer2"),
    ("withdraw", State.DRAFT, "drafter"),
    ("withdraw", State.IN_REVIEW, "drafter"),
]
TARGET = {"return": State.DRAFT, "send_back": State.IN_REVIEW, "reopen": State.IN_REVIEW,
          "withdraw": State.WITHDRAWN}


@pytest.mark.parametrize("action,state,actor", REASONED, ids=[f"{a}-{s.value}" for a, s, _ in REASONED])
@pytest.mark.parametrize("blank", ["", "   ", " \n\t　"], ids=["empty", "spaces", "whitespace"])
def test_reason_is_required(app, make_brief, login_as, action, state, actor, blank):
    brief_id = make_brief(state)
    before = fetch(app, brief_id)
    trail_before = events(app, brief_id)
    client = login_as(actor)
    response = client.act(brief_id, action, blank)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert zh(app, NEED_REASON) in page
    assert f'data-action="{action}"' in page  # the form is there to try again
    after = fetch(app, brief_id)
    assert (after.state, after.version) == (before.state, before.version)
    assert events(app, brief_id) == trail_before
    # No comment field at all is the same as an empty one.
    assert client.act(brief_id, action).status_code == 422
    assert fetch(app, brief_id).state == before.state


@pytest.mark.parametrize("action,state,actor", REASONED, ids=[f"{a}-{s.value}" for a, s, _ in REASONED])
def test_reason_is_recorded(app, make_brief, login_as, action, state, actor):
    brief_id = make_brief(state)
    reason = "  请补充第二部分的数据来源。\n并核对口径。  "
    response = login_as(actor).act(brief_id, action, reason)
    assert response.status_code == 302
    assert fetch(app, brief_id).state == TARGET[action].value
    last = events(app, brief_id)[-1]
    assert last[0] == action and last[1] == TARGET[action].value
    assert last[2] == reason.strip()


def test_returned_reason_is_shown_to_the_author(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    assert login_as("editor").act(brief_id, "return", "请补充数据来源<script>").status_code == 302
    author = login_as("drafter")
    for url in ("/", f"/briefs/{brief_id}"):
        page = author.get(url).get_data(as_text=True)
        assert str(escape("请补充数据来源<script>")) in page, url


# --- revoking a sign-off -----------------------------------------------------------------------


def test_reopen_voids_the_signature_and_needs_a_new_one(app, make_brief, login_as):
    brief_id = make_brief(State.SIGNED)
    signed = fetch(app, brief_id)
    assert signed.signer_name == "王志远" and signed.signed_at is not None and signed.editor_name == "李青"

    editor = login_as("editor")
    assert editor.act(brief_id, "reopen", "领导要求补充最新数据").status_code == 302
    reopened = fetch(app, brief_id)
    assert reopened.state == State.IN_REVIEW.value
    assert reopened.signer_name is None and reopened.signed_at is None and reopened.signed_by_id is None
    assert reopened.sign_opinion is None
    assert reopened.approved_by_id is None and reopened.approved_at is None and reopened.editor_name is None

    # It cannot be published now, nor signed without a new approval.
    assert editor.get(f"/briefs/{brief_id}/publish").status_code == 409
    response = editor.post(f"/briefs/{brief_id}/publish", {"issue_date": "2026-11-20",
                                                           "version": str(reopened.version)})
    assert response.status_code == 409
    signer = login_as("signer")
    assert signer.act(brief_id, "sign").status_code == 409
    assert fetch(app, brief_id).state == State.IN_REVIEW.value

    # The text may change again, then a new approval and a new signature.
    page = login_as("editor2").get(f"/briefs/{brief_id}/edit").get_data(as_text=True)
    assert login_as("editor2").post(
        f"/briefs/{brief_id}/edit", edit_form(version_on(page), "补充最新数据后的标题", "补充了最新数据。")
    ).status_code == 302
    assert editor.act(brief_id, "approve").status_code == 302
    assert signer.act(brief_id, "sign", "同意印发").status_code == 302
    resigned = fetch(app, brief_id)
    assert resigned.signer_name == "王志远" and resigned.signed_at > signed.signed_at
    assert resigned.sign_opinion == "同意印发"
    assert resigned.title == "补充最新数据后的标题"
    response = editor.post(f"/briefs/{brief_id}/publish", {"issue_date": "2026-11-20",
                                                           "version": str(resigned.version)})
    assert response.status_code == 302
    assert fetch(app, brief_id).state == State.PUBLISHED.value

    trail = events(app, brief_id)
    assert [e[0] for e in trail] == ["create", "submit", "approve", "sign", "reopen", "edit", "approve",
                                     "sign", "publish"]
    reopen = trail[4]
    assert reopen == ("reopen", State.IN_REVIEW.value, "领导要求补充最新数据", "李青")
    page = editor.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert "领导要求补充最新数据" in page  # the history shows the reason


def test_sign_off_cannot_be_revoked_after_publication(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED)
    before = fetch(app, brief_id)
    assert login_as("editor").act(brief_id, "reopen", "想撤回").status_code == 409
    after = fetch(app, brief_id)
    assert after.state == State.PUBLISHED.value and after.signer_name == before.signer_name


# --- separation of duties for people with two roles --------------------------------------------


def test_drafter_editor_cannot_review_own_brief(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW, author="drafter_editor")
    before = fetch(app, brief_id)
    self_reviewer = login_as("drafter_editor")
    page = self_reviewer.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert 'data-action="approve"' not in page and 'data-action="return"' not in page
    assert 'data-action="withdraw"' in page  # as the author they may still withdraw it
    for response in (
        self_reviewer.act(brief_id, "approve"),
        self_reviewer.act(brief_id, "return", "自己退回自己"),
        self_reviewer.get(f"/briefs/{brief_id}/edit"),
        self_reviewer.post(f"/briefs/{brief_id}/edit", edit_form(str(before.version), "自己改", "自己改的正文")),
    ):
        assert response.status_code == 403
        assert zh(app, NOT_AUTHOR) in response.get_data(as_text=True)
    unchanged = fetch(app, brief_id)
    assert (unchanged.state, unchanged.version, unchanged.title) == (before.state, before.version, before.title)

    other = login_as("editor")
    assert 'data-action="approve"' in other.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert other.get(f"/briefs/{brief_id}/edit").status_code == 200
    assert other.act(brief_id, "approve").status_code == 302
    approved = fetch(app, brief_id)
    assert approved.state == State.AWAITING_SIGNOFF.value and approved.editor_name == "李青"


def test_drafter_editor_reviews_other_peoples_briefs(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW, author="drafter")
    assert login_as("drafter_editor").act(brief_id, "return", "请补充").status_code == 302
    assert fetch(app, brief_id).state == State.DRAFT.value


def test_editor_signer_cannot_sign_what_they_approved(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    both = login_as("editor_signer")
    assert both.act(brief_id, "approve").status_code == 302
    approved = fetch(app, brief_id)
    assert approved.state == State.AWAITING_SIGNOFF.value and approved.editor_name == "冯远"
    page = both.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert 'data-action="sign"' not in page
    response = both.act(brief_id, "sign", "我同意")
    assert response.status_code == 403
    assert zh(app, APPROVER) in response.get_data(as_text=True)
    after = fetch(app, brief_id)
    assert after.state == State.AWAITING_SIGNOFF.value and after.signer_name is None
    assert login_as("signer").act(brief_id, "sign").status_code == 302
    signed = fetch(app, brief_id)
    assert signed.state == State.SIGNED.value and signed.signer_name == "王志远"


def test_editor_signer_signs_what_someone_else_approved(app, make_brief, login_as):
    brief_id = make_brief(State.AWAITING_SIGNOFF, approver="editor")
    assert login_as("editor_signer").act(brief_id, "sign").status_code == 302
    assert fetch(app, brief_id).signer_name == "冯远"


def test_drafter_signer_cannot_sign_own_brief(app, make_brief, login_as):
    brief_id = make_brief(State.AWAITING_SIGNOFF, author="drafter_signer")
    self_signer = login_as("drafter_signer")
    for action, comment in (("sign", None), ("send_back", "自己打回")):
        response = self_signer.act(brief_id, action, comment)
        assert response.status_code == 403, action
        assert zh(app, NOT_AUTHOR) in response.get_data(as_text=True)
    after = fetch(app, brief_id)
    assert after.state == State.AWAITING_SIGNOFF.value and after.signer_name is None
    assert login_as("signer").act(brief_id, "sign").status_code == 302
    assert fetch(app, brief_id).state == State.SIGNED.value


def test_a_signer_cannot_revoke_sign_off_on_own_brief(app, make_brief, login_as):
    brief_id = make_brief(State.SIGNED, author="drafter_signer")
    response = login_as("drafter_signer").act(brief_id, "reopen", "自己撤销")
    assert response.status_code == 403
    assert fetch(app, brief_id).state == State.SIGNED.value
