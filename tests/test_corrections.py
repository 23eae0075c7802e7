"""Correcting a wrong issue date or wrong numbers after publication (workflows/correction.py,
corrections/operations.py): the mistakes that used to brick a series, the files made again
with the old ones kept, the form over HTTP, separation of duties, copies already sent, a race
and a failure that change nothing."""

from __future__ import annotations

import io
import json
import re
import threading
from datetime import date, timedelta

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import func, select

from archive.bag import catalogue_csv
from archive.search import search
from corrections import operations
from corrections.operations import ORIGINAL_KEPT, confirm_correction, request_correction
from extensions import db
from models import AuditEvent, Brief, Copy, Correction, StoredFile, User
from models.types import utcnow
from publishing.pipeline import PublishError
from rendering.printing import chinese_date
from tests.conftest import FILES_DIR, fetch
from tests.test_archive import PAST_ISSUE
from workflows.brief import EVENT_LABELS, State
from workflows.dispatch import apply_copy_transition
from workflows.numbering import local_date
from workflows.transitions import ActionRefused, StaleBrief

BACKDATED = "The issue date is earlier than the series' latest published issue."
TOTAL_DOMAIN = "总期号 must be between 1 and 999999."
STALE = ("Someone else changed this issue after you opened the page, so nothing was changed. What you "
         "entered is kept below; check the issue as it is now, then send it again.")
COPY_MOVED = ("A copy of this issue is no longer in the office (it has been dispatched, or recorded "
              "otherwise), so its date and numbers can no longer be corrected.")
NOT_REQUESTER = "You asked for this correction, so someone else must confirm or reject it."
ONLY_REQUESTER = "Only the editor who asked for this correction may withdraw it."


def today() -> date:
    """Today in the series' time zone, as the horizon counts it."""
    return local_date(utcnow(), "Asia/Shanghai")


def zh(app, message: str, **params) -> str:
    with app.test_request_context(), force_locale("zh_CN"):
        return str(escape(gettext(message, **params)))


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def numbers(app, brief_id):
    brief = fetch(app, brief_id)
    return brief.issue_year, brief.issue_number, brief.total_number


def ask(app, brief_id, editor="editor", *, issue_date=None, issue=None, total=None, reason="录入有误") -> int:
    """A correction requested through the operation (the HTTP form is tested on its own)."""
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        correction = request_correction(
            db.session, brief_id, _user(editor), issue_date=issue_date or brief.issue_date,
            issue_number=issue or brief.issue_number, total_number=total or brief.total_number, reason=reason,
        )
        return correction.id


def confirm(app, brief_id, signer="signer"):
    with app.app_context():
        confirm_correction(db.session, brief_id, _user(signer))


def request_over_http(app, client, brief_id, *, version=None, **typed):
    brief = fetch(app, brief_id)
    data = {
        "issue_date": brief.issue_date.isoformat(), "issue_number": str(brief.issue_number),
        "total_number": str(brief.total_number), "reason": "录入有误", "version": str(version or brief.version),
    }
    data.update({k: v.isoformat() if isinstance(v, date) else str(v) for k, v in typed.items()})
    return client.post(f"/briefs/{brief_id}/correction", data)


def confirm_over_http(app, client, brief_id, opinion="", version=None):
    return client.post(f"/briefs/{brief_id}/correction/confirm",
                       {"comment": opinion, "version": str(version or fetch(app, brief_id).version)})


def publish_over_http(app, client, brief_id, day: date):
    return client.post(f"/briefs/{brief_id}/publish",
                       {"issue_date": day.isoformat(), "version": str(fetch(app, brief_id).version)})


def import_past(app, folder, *, issue, total, day, pdf: bytes | None = None) -> int:
    source = folder / f"past-{total}.md"
    source.write_text(PAST_ISSUE.format(issue=issue, total=total, date=day.isoformat()), encoding="utf-8")
    if pdf is not None:
        source.with_suffix(".pdf").write_bytes(pdf)
    result = app.test_cli_runner().invoke(args=["archive", "import", str(source), "--as", "archivist"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        return db.session.scalar(select(Brief.id).where(Brief.total_number == total))


def stored_files(app, brief_id) -> list[StoredFile]:
    with app.app_context():
        rows = db.session.scalars(select(StoredFile).where(StoredFile.brief_id == brief_id).order_by(StoredFile.id))
        rows = rows.all()
        for row in rows:
            db.session.expunge(row)
        return rows


def file_rows(app, brief_id):
    return [(f.id, f.kind, f.copy_id, f.path, f.superseded_by_id) for f in stored_files(app, brief_id)]


def copies(app, brief_id):
    with app.app_context():
        return db.session.execute(
            select(Copy.id, Copy.number, Copy.state, Copy.recipient_id, Copy.recipient_label,
                   Copy.recipient_organisation).where(Copy.brief_id == brief_id).order_by(Copy.number)).all()


def corrections_of(app, brief_id):
    with app.app_context():
        return db.session.execute(select(Correction.state, Correction.new_issue_number)
                                  .where(Correction.brief_id == brief_id).order_by(Correction.id)).all()


def events(app, brief_id):
    with app.app_context():
        return db.session.execute(select(AuditEvent.action, AuditEvent.from_state, AuditEvent.to_state,
                                         AuditEvent.reason).where(AuditEvent.brief_id == brief_id,
                                                                  AuditEvent.subject_type == "brief")
                                  .order_by(AuditEvent.seq)).all()


def text_of(data: bytes) -> str:
    return "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def verified(app) -> None:
    """`audit verify` and `archive verify` both pass."""
    runner = app.test_cli_runner()
    for command in (["audit", "verify"], ["archive", "verify"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output


# --- the mistakes that used to brick a series ---------------------------------------------------


def test_an_issue_dated_ahead_no_longer_blocks_the_series(app, make_brief, login_as):
    right, wrong = today(), today() + timedelta(days=20)  # within the 31-day horizon, so accepted
    first = make_brief(State.PUBLISHED, issue_date=wrong)
    second = make_brief(State.SIGNED)
    editor = login_as("editor")
    blocked = publish_over_http(app, editor, second, right)
    assert blocked.status_code == 422 and zh(app, BACKDATED) in blocked.get_data(as_text=True)

    assert request_over_http(app, editor, first, issue_date=right, reason="印发日期误录为二十天后").status_code == 302
    assert confirm_over_http(app, login_as("signer"), first, "同意更正").status_code == 302
    assert fetch(app, first).issue_date == right and fetch(app, first).state == State.PUBLISHED.value

    assert publish_over_http(app, editor, second, right).status_code == 302
    assert numbers(app, first) == (right.year, 1, 31)
    assert numbers(app, second) == (right.year, 2, 32)
    verified(app)


def test_a_past_issue_imported_with_a_far_date_no_longer_blocks_the_series(app, make_brief, login_as, tmp_path):
    wrong, real = today() + timedelta(days=25), date(today().year - 1, 12, 20)
    past = import_past(app, tmp_path, issue=24, total=35, day=wrong)
    code = fetch(app, past).archive_code
    assert code == f"Z001-WS·{wrong.year}-Y-0001"
    signed = make_brief(State.SIGNED)
    editor = login_as("editor")
    assert publish_over_http(app, editor, signed, today()).status_code == 422

    assert request_over_http(app, editor, past, issue_date=real, reason="导入时日期录错").status_code == 302
    assert confirm_over_http(app, login_as("signer"), past).status_code == 302
    corrected = fetch(app, past)
    assert (corrected.issue_date, corrected.issue_year, corrected.state) == (real, real.year, State.ARCHIVED.value)
    # The 档号 stays (README: it is the archive's identifier) and the discrepancy is written down.
    assert corrected.archive_code == code
    confirmation = events(app, past)[-1]
    assert confirmation.action == "confirm_correction" and f"档号 {code} 保留不变" in confirmation.reason
    assert 'data-note="archive-year"' in login_as("archivist").get(f"/briefs/{past}").get_data(as_text=True)

    assert publish_over_http(app, editor, signed, today()).status_code == 302
    assert numbers(app, signed) == (today().year, 1, 36)
    with app.app_context():
        assert f"档号年度{wrong.year}为归档时的印发年度" in catalogue_csv([db.session.get(Brief, past)])
        archivist = _user("archivist")
        found = search(db.session, archivist, "文旅融合", year_from=real.year, year_to=real.year)
        assert [hit.brief.id for hit in found.hits] == [past]
        assert search(db.session, archivist, "文旅融合", year_from=wrong.year, year_to=wrong.year).hits == []
    verified(app)


def test_a_number_at_the_top_of_its_domain_no_longer_blocks_the_series(app, make_brief, login_as, tmp_path):
    past = import_past(app, tmp_path, issue=24, total=999_999, day=date(today().year - 1, 12, 20))
    signed = make_brief(State.SIGNED)
    editor = login_as("editor")
    blocked = publish_over_http(app, editor, signed, today())
    assert blocked.status_code == 422 and zh(app, TOTAL_DOMAIN) in blocked.get_data(as_text=True)

    ask(app, past, total=35, reason="总期号多打了几个 9")
    confirm(app, past)
    assert publish_over_http(app, editor, signed, today()).status_code == 302
    assert numbers(app, signed) == (today().year, 1, 36)


# --- the files -----------------------------------------------------------------------------------


def test_the_files_are_made_again_and_the_old_ones_stay_superseded(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, issue_date=today() - timedelta(days=3))
    before = stored_files(app, brief_id)
    copies_before = copies(app, brief_id)
    assert len(before) == 1 + len(copies_before) == 31
    old_master = next(f for f in before if f.kind == "master")
    assert "第1期（总第31期）" in text_of((FILES_DIR / old_master.path).read_bytes())

    ask(app, brief_id, issue_date=today(), issue=3, total=40, reason="期号与总期号录错")
    assert confirm_over_http(app, login_as("signer"), brief_id).status_code == 302

    after = stored_files(app, brief_id)
    assert len(after) == 2 * len(before)
    by_id = {f.id: f for f in after}
    for old in before:
        kept = by_id[old.id]
        # Never overwritten: the row and the file are as they were, and point at a successor.
        assert (kept.path, kept.sha256, kept.name) == (old.path, old.sha256, old.name)
        assert (FILES_DIR / kept.path).is_file()
        successor = by_id[kept.superseded_by_id]
        assert successor.superseded_by_id is None and successor.path != kept.path
        assert (successor.kind, successor.copy_id) == (kept.kind, kept.copy_id)
    new_master = by_id[by_id[old_master.id].superseded_by_id]
    assert new_master.name.endswith("regular-003-0040.pdf")

    confirmation = next(e for e in events(app, brief_id) if e.action == "confirm_correction")
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.brief_id == brief_id,
                                                           AuditEvent.action == "confirm_correction"))
        brief = db.session.get(Brief, brief_id)
        assert brief.master.id == new_master.id
        assert all(c.stored_file.superseded_by_id is None and c.stored_file.event_seq == event.seq
                   for c in db.session.scalars(select(Copy).where(Copy.brief_id == brief_id)))
    assert new_master.event_seq == event.seq
    reader = PdfReader(FILES_DIR / new_master.path)
    assert reader.metadata.get("/canyue-audit-head") == event.prev_hash  # the head before the move
    record = json.loads(reader.attachments["record.json"][0])
    assert (record["issue"], record["total"], record["issue_date"]) == (3, 40, today().isoformat())
    text = text_of((FILES_DIR / new_master.path).read_bytes())
    assert "第3期（总第40期）" in text and chinese_date(today()) in text
    assert "第1期（总第31期）" in text_of((FILES_DIR / old_master.path).read_bytes())  # the old one unchanged
    assert "印发日期" in confirmation.reason and "总第31期 → 总第40期" in confirmation.reason

    # The copies keep their 份号 and recipients; each one's new PDF carries its number and the new numbers.
    assert copies(app, brief_id) == copies_before
    first_copy = next(f for f in after if f.kind == "copy" and f.superseded_by_id is None
                      and f.copy_id == copies_before[0].id)
    copy_text = text_of((FILES_DIR / first_copy.path).read_bytes())
    assert "000001" in copy_text and "第3期（总第40期）" in copy_text and copies_before[0].recipient_label in copy_text

    download = login_as("editor").get(f"/briefs/{brief_id}/issue.pdf")
    assert download.status_code == 200 and download.data == (FILES_DIR / new_master.path).read_bytes()
    page = login_as("editor").get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert f'data-superseded="{len(before)}"' in page
    verified(app)


def test_an_imported_original_pdf_stays_the_master(app, make_brief, tmp_path):
    from publishing.services import pdf_renderer
    from rendering.printing import printed_issue_from_brief

    donor = make_brief(State.PUBLISHED, issue_date=date(2021, 5, 1))
    with app.app_context():  # a plain render: an archival master's attachments are refused in an original
        original = pdf_renderer().render(printed_issue_from_brief(db.session.get(Brief, donor), specimen=False)).data
    past = import_past(app, tmp_path, issue=9, total=20, day=date(2020, 6, 2), pdf=original)
    before = file_rows(app, past)
    ask(app, past, issue_date=date(2020, 6, 1), reason="日期差一天")
    confirm(app, past)
    assert fetch(app, past).issue_date == date(2020, 6, 1)
    assert file_rows(app, past) == before  # nothing rendered, nothing superseded
    with app.app_context():
        assert (FILES_DIR / db.session.get(Brief, past).master.path).read_bytes() == original
    assert ORIGINAL_KEPT in events(app, past)[-1].reason
    verified(app)


# --- the form ------------------------------------------------------------------------------------

Y = date.today().year - 1  # two issues published last year, in order: 第1期（总第31期）, 第2期（总第32期）


@pytest.fixture
def two_issues(make_brief):
    return make_brief(State.PUBLISHED, issue_date=date(Y, 3, 1)), make_brief(State.PUBLISHED, issue_date=date(Y, 3, 8))


BAD_INPUT = {
    "no reason": ({"reason": "  "}, "Please give a reason.", {}),
    "not a number": ({"issue_number": "三"}, None, {}),
    "期号 zero": ({"issue_number": "0"}, "期号 must be between 1 and 9999.", {}),
    "总期号 too large": ({"total_number": "1000000"}, TOTAL_DOMAIN, {}),
    "not a date": ({"issue_date": "2026-13-40"}, None, {}),
    "no date": ({"issue_date": ""}, "Please give the issue date.", {}),
    "nothing changes": ({}, "The correction changes nothing: give another date or other numbers.", {}),
    "too far ahead": ({"issue_date": "FAR"}, "The issue date is too far in the future (more than %(days)d days ahead).",
                      {"days": 31}),
    "期号 held": ({"issue_number": "2"}, "No. %(issue)d of %(year)d is already held by another issue of this series.",
                 {"issue": 2, "year": Y}),
    "总期号 held": ({"total_number": "32"}, "Overall No. %(total)d is already held by another issue of this series.",
                  {"total": 32}),
    "out of order": ({"issue_date": date(Y, 3, 20).isoformat()},
                     "With this date the issue would come after an issue with a higher overall number (dated %(date)s).",
                     {"date": date(Y, 3, 8).isoformat()}),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_422_with_the_reason_and_what_was_typed(app, two_issues, login_as, case):
    first, _ = two_issues
    typed, message, params = BAD_INPUT[case]
    typed = {"reason": "请核对后更正", **typed}
    if typed.get("issue_date") == "FAR":
        typed["issue_date"] = (today() + timedelta(days=40)).isoformat()
    before = fetch(app, first)
    response = request_over_http(app, login_as("editor"), first, **typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:800]
    if message:
        assert zh(app, message, **params) in page
    for value in typed.values():
        if value.strip():
            assert str(escape(value)) in page  # nothing typed is lost
    after = fetch(app, first)
    assert (after.version, after.issue_date, after.issue_number) == (before.version, before.issue_date, before.issue_number)
    assert corrections_of(app, first) == []


def test_a_stale_form_is_409_and_keeps_what_was_typed(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, issue_date=today() - timedelta(days=1))
    editor, editor2 = login_as("editor"), login_as("editor2")
    opened = fetch(app, brief_id).version
    # Meanwhile another editor asks for a correction and takes it back: the issue changed.
    ask(app, brief_id, "editor2", issue=5)
    assert editor2.act(brief_id, "withdraw_correction", "弄错了").status_code == 302

    response = request_over_http(app, editor, brief_id, version=opened, issue_number=7, reason="应为第7期")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert zh(app, STALE) in page and "应为第7期" in page and 'value="7"' in page
    assert [c.state for c in corrections_of(app, brief_id)] == ["withdrawn"]
    # Having seen the issue as it is now, sending the same form again goes through.
    version = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    assert request_over_http(app, editor, brief_id, version=int(version), issue_number=7).status_code == 302
    assert corrections_of(app, brief_id)[-1] == ("pending", 7)


def test_a_form_without_its_csrf_token_is_refused(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED)
    brief = fetch(app, brief_id)
    response = login_as("editor").post(f"/briefs/{brief_id}/correction", {
        "issue_date": brief.issue_date.isoformat(), "issue_number": "4", "total_number": "31",
        "reason": "x", "version": str(brief.version)}, csrf=False)
    assert response.status_code == 400 and corrections_of(app, brief_id) == []


def test_who_may_not_ask_is_refused_before_the_input_is_read(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED)
    for persona in ("signer", "drafter", "archivist"):
        assert request_over_http(app, login_as(persona), brief_id, issue_number="零").status_code == 403
    ask(app, brief_id, issue=2)
    for persona in ("editor2", "drafter", "archivist"):
        assert confirm_over_http(app, login_as(persona), brief_id, version="x").status_code == 403
    assert corrections_of(app, brief_id) == [("pending", 2)]


def test_a_request_already_pending_keeps_the_form(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED)
    editor = login_as("editor")
    stale_version = fetch(app, brief_id).version
    ask(app, brief_id, "editor2", issue=4)
    response = request_over_http(app, editor, brief_id, version=stale_version, issue_number=6, reason="应为第6期")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert zh(app, "A correction of this issue is already waiting for confirmation.") in page and "应为第6期" in page
    assert corrections_of(app, brief_id) == [("pending", 4)]


# --- the page, the moves and who may make them ------------------------------------------------


def test_the_page_shows_the_request_and_the_buttons(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, issue_date=today() - timedelta(days=2))
    editor, editor2, signer = login_as("editor"), login_as("editor2"), login_as("signer")
    page = editor.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert 'data-action="request_correction"' in page and 'data-correction="pending"' not in page
    assert 'data-action="confirm_correction"' not in signer.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert editor.get(f"/briefs/{brief_id}/correction").status_code == 200

    ask(app, brief_id, issue_date=today(), reason="日期应为今日")
    page = signer.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert 'data-correction="pending"' in page and "日期应为今日" in page
    assert f'data-new="issue_date">{today().isoformat()}' in page
    assert 'data-action="confirm_correction"' in page and 'data-action="reject_correction"' in page
    assert 'data-action="withdraw_correction"' not in page
    page = editor.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert 'data-action="withdraw_correction"' in page
    assert 'data-action="request_correction"' not in page and 'data-action="confirm_correction"' not in page
    assert editor.get(f"/briefs/{brief_id}/correction").status_code == 409  # one request at a time
    page = editor2.get(f"/briefs/{brief_id}").get_data(as_text=True)
    # neither the one who asked nor a signer: only 更正 of the text (the `correct` row) and
    # registering a 批示 are open
    assert sorted(re.findall(r'data-action="(\w+)"', page)) == ["correct", "register_instruction"]
    dashboard = signer.get("/").get_data(as_text=True)
    assert zh(app, "Corrections to confirm") in dashboard and f"/briefs/{brief_id}\"" in dashboard
    assert signer.get(f"/briefs/{brief_id}/correction/confirm").status_code == 200

    assert confirm_over_http(app, signer, brief_id, "同意").status_code == 302
    page = editor.get(f"/briefs/{brief_id}").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert zh(app, EVENT_LABELS["confirm_correction"]) in text and zh(app, EVENT_LABELS["request_correction"]) in text
    old = (today() - timedelta(days=2)).isoformat()
    assert f"印发日期 {old} → {today().isoformat()}。理由：日期应为今日" in text
    assert f"印发日期 {old} → {today().isoformat()}。意见：同意" in text
    assert 'data-correction="pending"' not in page and 'data-action="request_correction"' in page


def test_withdraw_and_reject_leave_the_issue_as_it_was(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED)
    files_before = file_rows(app, brief_id)
    editor, editor2, signer = login_as("editor"), login_as("editor2"), login_as("signer")
    ask(app, brief_id, issue=4)
    response = editor2.act(brief_id, "withdraw_correction")
    assert response.status_code == 403 and zh(app, ONLY_REQUESTER) in response.get_data(as_text=True)
    assert editor.act(brief_id, "withdraw_correction").status_code == 302
    ask(app, brief_id, "editor2", issue=5)
    response = signer.act(brief_id, "reject_correction", "")
    assert response.status_code == 422 and zh(app, "Please give a reason.") in response.get_data(as_text=True)
    assert signer.act(brief_id, "reject_correction", "第1期无误").status_code == 302
    assert corrections_of(app, brief_id) == [("withdrawn", 4), ("rejected", 5)]
    assert numbers(app, brief_id)[1:] == (1, 31) and file_rows(app, brief_id) == files_before
    moves = [(e.action, e.from_state, e.to_state) for e in events(app, brief_id)][-4:]
    assert moves == [(a, "published", "published") for a in
                     ("request_correction", "withdraw_correction", "request_correction", "reject_correction")]
    assert events(app, brief_id)[-1].reason == "第1期无误"
    with app.app_context():
        rejected = db.session.scalars(select(Correction).order_by(Correction.id)).all()[-1]
        assert rejected.decided_by_name == "王志远" and rejected.decided_at is not None


def test_who_asked_may_not_confirm_or_reject(app, make_brief, login_as, people):
    brief_id = make_brief(State.PUBLISHED)
    both = login_as("editor_signer")
    assert request_over_http(app, both, brief_id, issue_number=2).status_code == 302
    page = both.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert 'data-action="withdraw_correction"' in page and 'data-action="confirm_correction"' not in page
    for response in (confirm_over_http(app, both, brief_id), both.act(brief_id, "reject_correction", "不行")):
        assert response.status_code == 403 and zh(app, NOT_REQUESTER) in response.get_data(as_text=True)
    assert numbers(app, brief_id)[1] == 1
    assert confirm_over_http(app, login_as("signer2"), brief_id).status_code == 302
    assert numbers(app, brief_id)[1] == 2


def test_a_copy_sent_out_ends_corrections(app, make_brief, login_as):
    asked = make_brief(State.PUBLISHED)
    fresh = make_brief(State.PUBLISHED)
    ask(app, asked, issue=5)
    with app.app_context():
        editor = _user("editor")
        for brief_id in (asked, fresh):
            copy = db.session.scalar(select(Copy).where(Copy.brief_id == brief_id, Copy.number == 1))
            apply_copy_transition(db.session, copy, "dispatch", editor, route="courier")
        db.session.commit()
    response = request_over_http(app, login_as("editor"), fresh, issue_number=7)
    assert response.status_code == 409 and zh(app, COPY_MOVED) in response.get_data(as_text=True)
    assert login_as("editor").get(f"/briefs/{fresh}/correction").status_code == 409
    response = confirm_over_http(app, login_as("signer"), asked)
    assert response.status_code == 409 and zh(app, COPY_MOVED) in response.get_data(as_text=True)
    assert numbers(app, asked)[1] == 1 and corrections_of(app, asked) == [("pending", 5)]
    # The one who asked can still take the request back.
    assert login_as("editor").act(asked, "withdraw_correction").status_code == 302


def test_a_failed_confirmation_changes_nothing(app, make_brief, login_as, monkeypatch):
    brief_id = make_brief(State.PUBLISHED)
    ask(app, brief_id, issue=2, total=33)
    before, version = file_rows(app, brief_id), fetch(app, brief_id).version
    written = []

    def store_then_fail(ctx):
        written.extend(ctx.written)
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(operations, "CONFIRM_COMMIT", [*operations.CONFIRM_COMMIT, store_then_fail])
    with pytest.raises(RuntimeError):
        confirm(app, brief_id)
    assert len(written) == 31 and not any((FILES_DIR / path).exists() for path in written)

    def render_fails(ctx):
        raise PublishError("The archival PDF could not be produced, so nothing was published.")

    monkeypatch.setattr(operations, "CONFIRM_PREPARE", [render_fails])
    response = confirm_over_http(app, login_as("signer"), brief_id)
    assert response.status_code == 503
    assert zh(app, "The corrected files could not be made, so nothing was changed: the issue keeps its date, numbers "
                   "and files, and the request is still pending. Please try again later or tell the "
                   "administrator.") in response.get_data(as_text=True)
    assert numbers(app, brief_id)[1:] == (1, 31) and fetch(app, brief_id).version == version
    assert file_rows(app, brief_id) == before and corrections_of(app, brief_id) == [("pending", 2)]
    monkeypatch.undo()
    confirm(app, brief_id)
    assert numbers(app, brief_id)[1:] == (2, 33)
    verified(app)


def test_two_editors_asking_at_once_one_request_waits(app, make_brief, people):
    brief_id = make_brief(State.PUBLISHED)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def asker(name: str, issue: int) -> None:
        with app.app_context():
            actor = _user(name)
            brief = db.session.get(Brief, brief_id)
            seen = brief.version
            db.session.commit()
            barrier.wait(timeout=30)
            try:
                request_correction(db.session, brief_id, actor, issue_date=brief.issue_date, issue_number=issue,
                                   total_number=31, reason="并发", expected_version=seen)
                outcomes.append("ok")
            except (ActionRefused, StaleBrief) as refused:
                outcomes.append(type(refused).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=asker, args=args) for args in (("editor", 2), ("editor2", 3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) in (["ActionRefused", "ok"], ["StaleBrief", "ok"]), outcomes
    assert [state for state, _ in corrections_of(app, brief_id)] == ["pending"]
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.brief_id == brief_id, AuditEvent.action == "request_correction")) == 1
