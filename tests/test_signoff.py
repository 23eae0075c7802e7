"""签发单, 代签 and 领导批示, end to end over HTTP: the sheet and its filed PDF (hash and
fingerprint), the secretary's paper sign-off with its refusals, the instructions and their
follow-up, the archive and search showing them."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pdfplumber
import pytest
from PIL import Image
from sqlalchemy import select

from extensions import db
from instructions.operations import overdue_follow_ups
from models import AuditEvent, FollowUp, Instruction, PaperSignoff, SecretaryLink, StoredFile, User, UserRole
from publishing.services import file_store
from publishing.storage import sha256_of
from signoff.sheet import fingerprint
from tests.conftest import fetch
from workflows.brief import State


def png_bytes(colour: tuple[int, int, int] = (250, 250, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 80), colour).save(out, format="PNG")
    return out.getvalue()


def pdf_text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "".join((page.extract_text() or "") for page in pdf.pages).replace(" ", "").replace("\n", "")


def stored(app, brief_id: int, kind: str) -> list[StoredFile]:
    with app.app_context():
        return list(db.session.scalars(select(StoredFile).where(StoredFile.brief_id == brief_id, StoredFile.kind == kind)
                                       .order_by(StoredFile.id)))


def every_font_embedded(data: bytes) -> bool:
    """Each font of the PDF carries its program, an OpenType CJK face as bare CFF, as in the
    issue's PDF (the compact subsets are whole only once rendering.fonts has embedded them so;
    left as /OpenType they print as garbage, while the text still extracts)."""
    from pypdf import PdfReader

    fonts = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                if "/FontFile3" in descriptor:  # an OpenType subset (/OpenType) is the broken case
                    fonts.append(descriptor["/FontFile3"].get_object().get("/Subtype") == "/CIDFontType0C")
                else:  # a TrueType face (the fingerprint's monospace)
                    fonts.append("/FontFile2" in descriptor)
    return bool(fonts) and all(fonts)


# --- 签发单 -------------------------------------------------------------------------------------

def test_the_signers_page_is_the_sheet_and_signing_files_it(app, make_brief, login_as):
    brief_id = make_brief(State.AWAITING_SIGNOFF)
    signer = login_as("signer")
    page = signer.get(f"/briefs/{brief_id}/signoff").get_data(as_text=True)
    assert "签　发　单" in page and "关于加快我市低空经济产业发展的几点建议" in page
    assert "责任编辑：李青" in page and "拟稿人：周明" in page and "苏州太湖智库" in page
    assert 'data-phrase="同意印发"' in page and 'data-action="sign"' in page
    assert "/preview" in page
    with app.app_context():
        brief = fetch(app, brief_id)
        expected = fingerprint(brief.content(), brief.revision_number)
    assert expected in page
    # The sheet before signing, as a PDF: made now, not filed.
    before = signer.get(f"/briefs/{brief_id}/signoff.pdf")
    assert before.status_code == 200 and before.mimetype == "application/pdf"
    assert stored(app, brief_id, "signoff_sheet") == []

    assert signer.act(brief_id, "sign", "同意印发").status_code == 302
    filed = stored(app, brief_id, "signoff_sheet")
    assert len(filed) == 1 and filed[0].superseded_by_id is None and filed[0].pages == 1
    with app.app_context():
        data = file_store().read_verified(filed[0].path, filed[0].sha256)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.brief_id == brief_id, AuditEvent.action == "sign"))
        assert filed[0].event_seq == event.seq
    assert sha256_of(data) == filed[0].sha256
    text = pdf_text(data)
    for wanted in ("签发单", "关于加快我市低空经济产业发展的几点建议", "周明", "李青", "王志远", "同意印发",
                   "共印", "第1稿", expected.replace(" ", "")):
        assert wanted in text, wanted
    assert every_font_embedded(data)
    # The sheet served is the filed one, byte for byte.
    served = signer.get(f"/briefs/{brief_id}/signoff.pdf").data
    assert served == data
    # The brief page links to it.
    assert f"/briefs/{brief_id}/signoff" in signer.get(f"/briefs/{brief_id}").get_data(as_text=True)


def test_signing_again_after_a_revoke_supersedes_the_first_sheet(app, make_brief, login_as):
    brief_id = make_brief(State.AWAITING_SIGNOFF)
    signer = login_as("signer")
    assert signer.act(brief_id, "sign", "同意").status_code == 302
    assert signer.act(brief_id, "reopen", "需要再看").status_code == 302
    assert login_as("editor").act(brief_id, "approve").status_code == 302
    assert signer.act(brief_id, "sign", "同意印发").status_code == 302
    first, second = stored(app, brief_id, "signoff_sheet")
    assert first.superseded_by_id == second.id and second.superseded_by_id is None


def test_a_published_sheet_shows_the_number_and_the_recorded_print_run(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 11, 20))
    page = login_as("editor").get(f"/briefs/{brief_id}/signoff").get_data(as_text=True)
    brief = fetch(app, brief_id)
    assert f"2026年第{brief.issue_number}期（总第{brief.total_number}期）" in page
    assert f"共印 {brief.print_run} 份" in page


def test_a_draft_has_no_sheet(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    assert login_as("editor").get(f"/briefs/{brief_id}/signoff").status_code == 404


# --- 代签 ---------------------------------------------------------------------------------------

def paper(client, brief_id: int, leader: int, *, signed_on: date | None = None, scan: bytes | None = None,
          name: str = "签发单.png", opinion: str = "同意印发。王志远", version: int | None = None):
    version = version if version is not None else fetch(client.app, brief_id).version
    data = {"leader_id": str(leader), "signed_on": (signed_on or date.today()).isoformat(), "opinion": opinion,
            "version": str(version)}
    if scan is not None:
        data["scan"] = (io.BytesIO(scan), name)
    return client.post(f"/briefs/{brief_id}/signoff/paper", data, content_type="multipart/form-data")


def test_the_security_admin_links_a_secretary_and_the_secretary_records_a_paper_signoff(app, people, make_brief,
                                                                                       login_as):
    # A second secretary, linked through the screen.
    with app.app_context():
        other = User(username="sec2", display_name="张秘书", password_hash=db.session.get(User, people["drafter"]).password_hash)
        other.set_roles({"secretary"})
        db.session.add(other)
        db.session.commit()
        sec2 = other.id
    admin = login_as("security_admin")
    assert "张秘书" in admin.get("/security/secretaries").get_data(as_text=True)
    response = admin.post("/security/secretaries", {"secretary_id": str(sec2), "leader_id": str(people["signer2"])})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(SecretaryLink, (sec2, people["signer2"])) is not None
    # Linking a leader who holds no signing role is refused.
    refused = admin.post("/security/secretaries", {"secretary_id": str(sec2), "leader_id": str(people["editor"])})
    assert refused.status_code == 422
    # The secretary finds the brief on their task list and records the sign-off.
    brief_id = make_brief(State.AWAITING_SIGNOFF)
    secretary = login_as("secretary")
    todo = secretary.get("/").get_data(as_text=True)
    assert f"/briefs/{brief_id}" in todo
    sheet = secretary.get(f"/briefs/{brief_id}/signoff").get_data(as_text=True)
    assert 'data-action="sign_on_paper"' in sheet and 'data-action="sign"' not in sheet
    assert secretary.get(f"/briefs/{brief_id}/signoff/paper").status_code == 200
    scan = png_bytes()
    response = paper(secretary, brief_id, people["signer"], signed_on=date.today(), scan=scan)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    brief = fetch(app, brief_id)
    assert brief.state == State.SIGNED.value
    assert brief.signer_name == "王志远" and brief.signed_by_id == people["signer"]
    assert brief.sign_opinion == "同意印发。王志远"
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.brief_id == brief_id,
                                                           AuditEvent.action == "sign_on_paper"))
        assert event.actor_id == people["secretary"] and event.actor_name == "李秘书代王志远"
        record = db.session.scalar(select(PaperSignoff).where(PaperSignoff.brief_id == brief_id))
        assert record.leader_id == people["signer"] and record.secretary_id == people["secretary"]
        assert record.event_seq == event.seq
        scan_row = db.session.get(StoredFile, record.scan_id)
        assert scan_row.kind == "signoff_scan" and scan_row.pages == 1
        assert sha256_of(file_store().read_verified(scan_row.path, scan_row.sha256)) == scan_row.sha256
    # The history says who recorded it for whom; the filed sheet prints the leader as 签发人.
    history = login_as("editor").get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert "李秘书代王志远" in history
    filed = stored(app, brief_id, "signoff_sheet")
    assert len(filed) == 1 and filed[0].event_seq == event.seq
    with app.app_context():
        text = pdf_text(file_store().read_verified(filed[0].path, filed[0].sha256))
    assert "签发人：王志远" in text and "李秘书代为录入" in text
    # The scan is served to those who read the brief.
    assert login_as("editor").get(f"/scans/{record.scan_id}").data == scan_row_bytes(app, record.scan_id)
    # The secretary still reads what they recorded (已办 links to it) until it is published.
    handled = secretary.get("/?tab=done").get_data(as_text=True)
    assert f"/briefs/{brief_id}" in handled
    page = secretary.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert "李秘书代王志远" in page and 'data-action="sign_on_paper"' not in page


def scan_row_bytes(app, file_id: int) -> bytes:
    with app.app_context():
        row = db.session.get(StoredFile, file_id)
        return file_store().read_verified(row.path, row.sha256)


@pytest.mark.parametrize("case", ["future", "before_submission", "text_file", "no_scan", "active_pdf"])
def test_bad_paper_signoffs_are_refused_and_change_nothing(app, people, make_brief, login_as, case):
    brief_id = make_brief(State.AWAITING_SIGNOFF)
    before = fetch(app, brief_id)
    secretary = login_as("secretary")
    kwargs = {"scan": png_bytes()}
    if case == "future":
        kwargs["signed_on"] = date.today() + timedelta(days=2)
    elif case == "before_submission":
        kwargs["signed_on"] = date.today() - timedelta(days=30)
    elif case == "text_file":
        kwargs.update(scan=b"just some text, not a scan", name="scan.png")
    elif case == "no_scan":
        kwargs["scan"] = None
    elif case == "active_pdf":
        kwargs.update(scan=b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>"
                           b" endobj\ntrailer << /Root 1 0 R >>\n%%EOF", name="scan.pdf")
    response = paper(secretary, brief_id, people["signer"], **kwargs)
    assert response.status_code == 422, case
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    after = fetch(app, brief_id)
    assert after.state == State.AWAITING_SIGNOFF.value and after.version == before.version
    assert stored(app, brief_id, "signoff_scan") == [] and stored(app, brief_id, "signoff_sheet") == []


def test_a_secretary_without_a_link_neither_reads_nor_records(app, people, make_brief, login_as):
    brief_id = make_brief(State.AWAITING_SIGNOFF)
    with app.app_context():
        db.session.delete(db.session.get(SecretaryLink, (people["secretary"], people["signer"])))
        db.session.commit()
    secretary = login_as("secretary")
    assert secretary.get(f"/briefs/{brief_id}").status_code == 404
    assert paper(secretary, brief_id, people["signer"], scan=png_bytes(), version=1).status_code == 404
    assert fetch(app, brief_id).state == State.AWAITING_SIGNOFF.value


def test_separation_of_duties_is_judged_for_the_leader_named(app, people, make_brief, login_as):
    """The leader approved it (editor_signer): their secretary cannot record their sign-off."""
    brief_id = make_brief(State.AWAITING_SIGNOFF, approver="editor_signer")
    with app.app_context():
        db.session.delete(db.session.get(SecretaryLink, (people["secretary"], people["signer"])))
        db.session.add(SecretaryLink(secretary_id=people["secretary"], leader_id=people["editor_signer"]))
        db.session.commit()
    secretary = login_as("secretary")
    response = paper(secretary, brief_id, people["editor_signer"], scan=png_bytes())
    assert response.status_code == 403
    assert fetch(app, brief_id).state == State.AWAITING_SIGNOFF.value
    # Linked to both: the one who may sign is accepted, the approver still refused.
    with app.app_context():
        db.session.add(SecretaryLink(secretary_id=people["secretary"], leader_id=people["signer"]))
        db.session.commit()
    assert paper(secretary, brief_id, people["editor_signer"], scan=png_bytes()).status_code == 403
    assert paper(secretary, brief_id, people["signer"], scan=png_bytes()).status_code == 302
    # A leader they are not linked to.
    other = make_brief(State.AWAITING_SIGNOFF)
    assert paper(secretary, other, people["signer2"], scan=png_bytes()).status_code == 403


# --- 领导批示 ------------------------------------------------------------------------------------

def register(client, brief_id: int, **fields):
    data = {"recipient_id": "0", "leader_name": "王建国", "level": "市委书记/市长", "given_on": date.today().isoformat(),
            "kind": "act", "text": "请发改委研究落实。", "responsible_name": "市发改委", "owner_id": "0",
            "due_on": (date.today() + timedelta(days=10)).isoformat()}
    scan = fields.pop("scan", None)
    data.update({k: str(v) for k, v in fields.items()})
    if scan is not None:
        data["scan"] = (io.BytesIO(scan[0]), scan[1])
    return client.post(f"/briefs/{brief_id}/instructions/new", data, content_type="multipart/form-data")


def test_instructions_are_registered_followed_up_and_shown(app, people, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, issue_date=date.today() - timedelta(days=20))
    clerk = login_as("clerk")
    assert clerk.get(f"/briefs/{brief_id}/instructions/new").status_code == 200
    response = register(clerk, brief_id, owner_id=people["editor"], scan=(png_bytes(), "批示件.png"))
    assert response.status_code == 302, response.get_data(as_text=True)[:600]
    assert register(clerk, brief_id, leader_name="李明", level="副市级", kind="affirm", text="此文很好。",
                    responsible_name="", due_on="").status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(Instruction).where(Instruction.brief_id == brief_id)
                                  .order_by(Instruction.id)).all()
        assert [(r.leader_name, r.level, r.kind) for r in rows] == [("王建国", "市委书记/市长", "act"),
                                                                   ("李明", "副市级", "affirm")]
        assert rows[0].scan.kind == "instruction_scan" and rows[1].scan_id is None
        assert rows[0].follow_up.owner_id == people["editor"] and rows[1].follow_up is None
        events = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.brief_id == brief_id, AuditEvent.action == "register_instruction")).all()
        assert len(events) == 2
        follow_up_id = rows[0].follow_up.id
    page = login_as("drafter").get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert "请发改委研究落实。" in page and "此文很好。" in page
    # The follow-up: a note, then done.
    editor = login_as("editor")
    assert editor.post(f"/follow-ups/{follow_up_id}", {"note": "已转发改委", "done": "open"}).status_code == 302
    assert editor.post(f"/follow-ups/{follow_up_id}", {"note": "", "done": "open"}).status_code == 422
    assert editor.post(f"/follow-ups/{follow_up_id}", {"note": "已落实", "done": "done"}).status_code == 302
    with app.app_context():
        row = db.session.get(FollowUp, follow_up_id)
        assert row.done and [n.text for n in row.notes] == ["已转发改委", "已落实"]
    assert "已转发改委" in editor.get(f"/follow-ups/{follow_up_id}").get_data(as_text=True)
    # The drafter reads it but may not update it.
    assert login_as("drafter").post(f"/follow-ups/{follow_up_id}", {"note": "x", "done": "open"}).status_code == 403
    # The archive page and the search show the 批示 and filter by them.
    year = fetch(app, brief_id).issue_year
    browse = editor.get(f"/archive?year={year}").get_data(as_text=True)
    assert 'data-instructions="2"' in browse
    found = editor.get("/archive/search?q=低空经济&instructed=1").get_data(as_text=True)
    assert f"/briefs/{brief_id}\"" in found and "王建国" in found
    by_level = editor.get("/archive/search?q=低空经济&level=省部级").get_data(as_text=True)
    assert f"/briefs/{brief_id}\"" not in by_level
    assert f"/briefs/{brief_id}\"" in editor.get("/archive/search?q=低空经济&level=副市级").get_data(as_text=True)


def test_overdue_follow_ups_of_an_editor(app, people, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, issue_date=date.today() - timedelta(days=40))
    clerk = login_as("clerk")
    given = date.today() - timedelta(days=30)
    assert register(clerk, brief_id, owner_id=people["editor"], given_on=given.isoformat(),
                    due_on=(date.today() - timedelta(days=1)).isoformat()).status_code == 302
    assert register(clerk, brief_id, owner_id=people["editor"], given_on=given.isoformat(), text="再研究",
                    due_on=(date.today() + timedelta(days=5)).isoformat()).status_code == 302
    assert register(clerk, brief_id, owner_id=people["editor2"], given_on=given.isoformat(), text="别人的",
                    due_on=(date.today() - timedelta(days=3)).isoformat()).status_code == 302
    with app.app_context():
        editor = db.session.get(User, people["editor"])
        overdue = overdue_follow_ups(db.session, editor)
        assert [f.instruction.text for f in overdue] == ["请发改委研究落实。"]
    assert 'data-overdue-follow-ups="1"' in login_as("editor").get("/").get_data(as_text=True)
    assert "data-overdue-follow-ups" not in login_as("drafter").get("/").get_data(as_text=True)
    listing = login_as("editor").get("/follow-ups").get_data(as_text=True)
    assert listing.count("data-overdue") == 2  # the editor's and editor2's, both open and late


@pytest.mark.parametrize("case,fields", [
    ("future", {"given_on": (date.today() + timedelta(days=1)).isoformat()}),
    ("before_issue", {"given_on": (date.today() - timedelta(days=60)).isoformat()}),
    ("no_leader", {"leader_name": ""}),
    ("bad_level", {"level": "宇宙级"}),
    ("act_without_owner", {"owner_id": "0"}),
    ("bad_scan", {"scan": (b"not an image", "批示.jpg")}),
])
def test_bad_instructions_are_refused(app, people, make_brief, login_as, case, fields):
    brief_id = make_brief(State.PUBLISHED, issue_date=date.today() - timedelta(days=20))
    before = fetch(app, brief_id)
    data = {"owner_id": people["editor"], **fields}
    response = register(login_as("editor"), brief_id, **data)
    assert response.status_code == 422, case
    with app.app_context():
        assert db.session.scalar(select(Instruction.id).where(Instruction.brief_id == brief_id)) is None
    assert fetch(app, brief_id).version == before.version
    assert stored(app, brief_id, "instruction_scan") == []


# --- backups and the BagIt export carry the sheet and the scans ---------------------------------

def signed_published_with_scans(app, people, make_brief, login_as) -> tuple[int, list[StoredFile]]:
    from publishing.pipeline import publish

    brief_id = make_brief(State.AWAITING_SIGNOFF)
    assert paper(login_as("secretary"), brief_id, people["signer"], scan=png_bytes()).status_code == 302
    with app.app_context():
        publish(db.session, brief_id, db.session.get(User, people["editor"]), issue_date=date.today())
    assert register(login_as("clerk"), brief_id, owner_id=people["editor"],
                    scan=(png_bytes((240, 240, 255)), "批示件.png")).status_code == 302
    kinds = ("signoff_sheet", "signoff_scan", "instruction_scan")
    files = [f for kind in kinds for f in stored(app, brief_id, kind)]
    assert sorted(f.kind for f in files) == sorted(kinds)
    return brief_id, files


def test_a_backup_holds_the_sheet_and_the_scans(app, people, make_brief, login_as, tmp_path):
    import tarfile

    from tests.test_backup import cli

    _brief_id, files = signed_published_with_scans(app, people, make_brief, login_as)
    backup = tmp_path / "b.tar"
    code, output = cli(app, "backup", "create", "-o", backup)
    assert code == 0, output
    with tarfile.open(backup) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.name.startswith("files/")}
    for stored_file in files:
        name = next(n for n in members if n.endswith(stored_file.path.rsplit("/", 1)[-1]))
        assert sha256_of(members[name]) == stored_file.sha256


def test_the_bagit_export_holds_the_sheet_the_scans_and_the_instructions(app, people, make_brief, login_as,
                                                                         tmp_path):
    import json
    import zipfile

    import bagit

    from tests.test_archive import export_over_http

    brief_id, files = signed_published_with_scans(app, people, make_brief, login_as)
    response = export_over_http(app, login_as("archivist"), {"series": str(fetch(app, brief_id).series_id),
                                                             "year": str(date.today().year)})  # a job
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        bundle.extractall(tmp_path)
    bag_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    bagit.Bag(str(bag_dir)).validate()
    metadata = json.loads(next((bag_dir / "data").rglob("metadata.json")).read_text(encoding="utf-8"))
    assert {f["sha256"] for f in metadata["signoff_files"]} == {f.sha256 for f in files}
    for listed in metadata["signoff_files"]:
        data = next((bag_dir / "data").rglob(listed["file"])).read_bytes()
        assert sha256_of(data) == listed["sha256"]
    assert metadata["instructions"][0]["leader"] == "王建国"
    assert metadata["instructions"][0]["follow_up"]["responsible"] == "市发改委"


def test_the_audit_trail_holds_the_new_events_and_verifies(app, people, make_brief, login_as):
    signed_published_with_scans(app, people, make_brief, login_as)
    auditor = login_as("auditor")
    trail = auditor.get("/audit/trail").get_data(as_text=True)
    assert 'data-event="sign_on_paper"' in trail and "李秘书代王志远" in trail
    assert 'data-event="register_instruction"' in trail
    page = auditor.post("/audit/verify", {}).get_data(as_text=True)
    assert 'data-outcome="intact"' in page
