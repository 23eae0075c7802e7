"""Distribution (issue 4): who gets which numbered copy, and whether they received it.

份号 and recipients follow the list; 共印 N 份 is the number of copies; each stamped copy shows
its own 份号 and recipient mark and otherwise the master's text, and the master is unchanged;
the printed snapshot survives a directory edit; a recall flags exactly the unreturned copies;
links expire and are revoked, and every download is logged; CSV keeps Chinese text intact.
The role × action × state matrix of copy moves is in test_copy_matrix.py.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pdfplumber
import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from archive.fixity import verify_store
from distribution.csvio import BOM, read_csv
from extensions import db
from models import Brief, Copy, DistributionEntry, DownloadLink, DownloadLog, Recipient, StoredFile, User
from models.types import utcnow
from publishing.services import file_store
from publishing.stamping import FONT_NAME
from publishing.storage import sha256_of
from tests.conftest import FILES_DIR, PASSWORD, _HASH, Client, fetch, log_in_form
from workflows import distribution as lists
from workflows.brief import State
from workflows.copy import COPY_LIFECYCLE, CopyState
from workflows.dispatch import apply_copy_transition, dispatch_all

# The directory: (name, title, organisation, category, default copies).
DIRECTORY = [
    ("王建国", "书记", "中共苏州市委", "专报", 1),
    ("李明", "代市长", "苏州市人民政府", "专报", 1),
    ("陈立", "秘书长", "苏州市人民政府办公室", "专报", 1),
    ("市委办公室", "", "中共苏州市委", "报", 2),
    ("市人大常委会办公室", "", "苏州市人大常委会", "报", 1),
    ("市发展改革委", "", "苏州市人民政府", "送", 1),
    ("市工业和信息化局", "", "苏州市人民政府", "送", 1),
    ("各区党政办", "", "", "发", 3),
]
LABELS = ["王建国书记", "李明代市长", "陈立秘书长", "市委办公室", "市人大常委会办公室", "市发展改革委",
          "市工业和信息化局", "各区党政办"]


@pytest.fixture
def directory(app, series_id):
    """The directory above, and the series' default list made of it (in order, default copies)."""
    with app.app_context():
        ids = []
        for name, title, organisation, category, copies in DIRECTORY:
            recipient = Recipient(name=name, title=title, organisation=organisation, category=category,
                                  default_copies=copies)
            db.session.add(recipient)
            db.session.flush()
            ids.append(recipient.id)
        lists.replace_series_list(db.session, series_id, [
            (rid, d[3], d[4], "printed") for rid, d in zip(ids, DIRECTORY)
        ])
        db.session.commit()
        return ids


EXPECTED_ORDER = ["王建国书记", "李明代市长", "陈立秘书长", "市委办公室", "市委办公室", "市人大常委会办公室",
                  "市发展改革委", "市工业和信息化局", "各区党政办", "各区党政办", "各区党政办"]


def copies_of(app, brief_id):
    with app.app_context():
        rows = db.session.scalars(select(Copy).where(Copy.brief_id == brief_id).order_by(Copy.number)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def stored(app, brief_id, kind):
    with app.app_context():
        rows = db.session.scalars(select(StoredFile).where(StoredFile.brief_id == brief_id, StoredFile.kind == kind)
                                  .order_by(StoredFile.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def plain(text: str) -> str:
    return "".join(text.split())


def stamp_chars(data: bytes) -> tuple[str, str]:
    """(the stamp's text, every other character) of a PDF's first page, by font."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        chars = pdf.pages[0].chars
    mine = [c for c in chars if FONT_NAME in c["fontname"] or c["fontname"] == "unknown"]
    rest = [c["text"] for c in chars if c not in mine]
    return "".join(c["text"] for c in mine), "".join(rest)


def move(app, copy_id, action, actor="editor", **kw):
    with app.app_context():
        copy = db.session.get(Copy, copy_id)
        user = db.session.scalar(select(User).where(User.username == actor))
        apply_copy_transition(db.session, copy, action, user, **kw)
        db.session.commit()


# --- The list and the copies ---------------------------------------------------------------------


def test_copies_follow_the_list_and_共印_is_their_number(app, directory, make_brief):
    brief_id = make_brief(State.PUBLISHED, special_report=[], issue_date=date(2026, 3, 2))
    brief = fetch(app, brief_id)
    # The brief started from the series' list: its 专报 names are the 本期专报 line.
    assert brief.special_report == ["王建国书记", "李明代市长", "陈立秘书长"]
    copies = copies_of(app, brief_id)
    assert [c.number for c in copies] == list(range(1, len(EXPECTED_ORDER) + 1))
    assert [c.serial for c in copies][:2] == ["000001", "000002"]
    assert [c.recipient_label for c in copies] == EXPECTED_ORDER
    assert [c.category for c in copies[:4]] == ["专报", "专报", "专报", "报"]
    assert copies[0].recipient_id == directory[0] and copies[0].recipient_title == "书记"
    assert brief.print_run == len(copies) == 11
    master = stored(app, brief_id, "master")[0]
    text = plain("".join(p.extract_text() for p in PdfReader(FILES_DIR / master.path).pages))
    assert "共印：11份" in text
    assert "本期专报：王建国书记、李明代市长、陈立秘书长" in text


def test_without_a_list_the_series_print_run_is_made(app, make_brief):
    brief_id = make_brief(State.PUBLISHED)  # 专报 names only, no series list: 30 copies
    copies = copies_of(app, brief_id)
    assert fetch(app, brief_id).print_run == len(copies) == 30
    assert [c.recipient_label for c in copies[:2]] == ["王建国书记", "李明代市长"]
    assert {c.category for c in copies[2:]} == {None}  # reserve copies (机动)


def test_the_专报_entries_are_the_本期专报_line(app, directory, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW, special_report=["陈立秘书长", "王建国书记"])
    editor = login_as("editor")

    def agree():
        with app.app_context():
            brief = db.session.get(Brief, brief_id)
            assert lists.labels_agree(db.session, brief)
            return [e.label for e in lists.entries_of(db.session, brief_id) if e.category == "专报"]

    assert agree() == ["陈立秘书长", "王建国书记"]
    # Editing the text reorders, adds and removes entries (a name not in the directory too).
    page = editor.get(f"/briefs/{brief_id}/edit").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    response = editor.post(f"/briefs/{brief_id}/edit", {
        "title": "标题", "body": "正文。", "special_report": "王建国书记\n赵六主任", "classification": "",
        "urgency": "", "version": version})
    assert response.status_code == 302
    assert agree() == ["王建国书记", "赵六主任"]
    # Adding a 专报 recipient from the distribution page is an edit of the text (a revision).
    revisions = fetch(app, brief_id).revision_number
    response = editor.post(f"/briefs/{brief_id}/distribution/add", {
        "recipient_id": directory[1], "category": "专报", "copies": "2", "medium": "printed",
        "version": str(fetch(app, brief_id).version)})
    assert response.status_code == 302
    assert fetch(app, brief_id).special_report == ["王建国书记", "赵六主任", "李明代市长"]
    assert fetch(app, brief_id).revision_number == revisions + 1
    assert agree() == ["王建国书记", "赵六主任", "李明代市长"]

    # From approval on the names are frozen; copy counts and other lines are not.
    assert editor.act(brief_id, "approve").status_code == 302
    response = editor.post(f"/briefs/{brief_id}/distribution/add", {
        "recipient_id": directory[2], "category": "专报", "copies": "1", "medium": "printed",
        "version": str(fetch(app, brief_id).version)})
    assert response.status_code == 409
    assert fetch(app, brief_id).special_report == ["王建国书记", "赵六主任", "李明代市长"]
    response = editor.post(f"/briefs/{brief_id}/distribution/add", {
        "recipient_id": directory[5], "category": "送", "copies": "4", "medium": "electronic",
        "version": str(fetch(app, brief_id).version)})
    assert response.status_code == 302
    with app.app_context():
        entries = lists.entries_of(db.session, brief_id)
        special = [e for e in entries if e.category == "专报"]
        form = {f"copies-{e.id}": str(e.copies) for e in entries} | {f"medium-{e.id}": e.medium for e in entries}
        form[f"copies-{special[1].id}"] = "3"
    assert editor.post(f"/briefs/{brief_id}/distribution/save",
                       {**form, "version": str(fetch(app, brief_id).version)}).status_code == 302
    assert agree() == ["王建国书记", "赵六主任", "李明代市长"]
    # A 专报 line cannot be removed once the text is frozen.
    response = editor.post(f"/briefs/{brief_id}/distribution/{special[0].id}/remove",
                           {"version": str(fetch(app, brief_id).version)})
    assert response.status_code == 409

    login_as("signer").act(brief_id, "sign")
    assert editor.post(f"/briefs/{brief_id}/publish", {"issue_date": "2026-11-20",
                                                       "version": str(fetch(app, brief_id).version)}).status_code == 302
    copies = copies_of(app, brief_id)
    special_copies = [c.recipient_label for c in copies if c.category == "专报"]
    # 1 + 3 (赵六主任, no directory entry) + 2 copies, in the printed order.
    assert special_copies == ["王建国书记", "赵六主任", "赵六主任", "赵六主任", "李明代市长", "李明代市长"]
    assert [c.recipient_label for c in copies if c.category == "送"] == ["市发展改革委", "市工业和信息化局"] + ["市发展改革委"] * 4
    assert [c.medium for c in copies if c.category == "送"] == ["printed"] * 2 + ["electronic"] * 4
    assert fetch(app, brief_id).print_run == len(copies)
    # After publication the list is settled.
    response = editor.post(f"/briefs/{brief_id}/distribution/save", {**form, "version": str(fetch(app, brief_id).version)})
    assert response.status_code == 409


def test_stamped_copies_carry_their_number_and_recipient_and_nothing_else(app, directory, make_brief):
    brief_id = make_brief(State.PUBLISHED, special_report=[], issue_date=date(2026, 3, 2))
    master = stored(app, brief_id, "master")[0]
    master_bytes = (FILES_DIR / master.path).read_bytes()
    assert sha256_of(master_bytes) == master.sha256  # the master is left as it was
    stamp, master_text = stamp_chars(master_bytes)
    assert stamp == ""  # the 份号 place is blank on the master
    files = stored(app, brief_id, "copy")
    copies = {c.id: c for c in copies_of(app, brief_id)}
    assert len(files) == len(copies) == 11
    for row in files:
        copy = copies[row.copy_id]
        data = (FILES_DIR / row.path).read_bytes()
        assert sha256_of(data) == row.sha256 and row.size == len(data)
        assert row.name.endswith(f"/copy-{copy.serial}.pdf") and row.path == f"sha256/{row.sha256[:2]}/{row.sha256}.pdf"
        assert data.startswith(master_bytes)  # an incremental update of the master
        stamp, rest = stamp_chars(data)
        assert rest == master_text  # otherwise exactly the master's text
        assert stamp.startswith(copy.serial)  # the 份号 in its place
        assert plain(copy.recipient_label) in plain(stamp)  # and the recipient's mark
        assert stamp.count(copy.serial) == 2  # 份号 once, and once in the mark
        reader = PdfReader(io.BytesIO(data))
        assert len(reader.pages) == row.pages
        for page in reader.pages[1:]:
            assert copy.serial in page.extract_text()  # the mark is on every page


def test_the_份号_lands_where_a_rendered_one_would(app, make_brief):
    from publishing.services import pdf_renderer
    from rendering.printing import printed_issue_from_brief

    brief_id = make_brief(State.PUBLISHED)
    copy_file = stored(app, brief_id, "copy")[0]
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        rendered = pdf_renderer().render(printed_issue_from_brief(brief, specimen=False, copy_number="000001"))

    def digits(data):
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            chars = [c for c in pdf.pages[0].chars if c["text"].isdigit() and c["matrix"][1] == 0]
        first = sorted(chars, key=lambda c: (round(c["top"]), c["x0"]))[:6]
        assert "".join(c["text"] for c in first) == "000001"
        return [(round(c["matrix"][4], 1), round(c["matrix"][5], 1)) for c in first]

    stamped = digits((FILES_DIR / copy_file.path).read_bytes())
    expected = digits(rendered.data)
    for (x, y), (ex, ey) in zip(stamped, expected):
        assert abs(x - ex) <= 0.5 and abs(y - ey) <= 0.5


def test_fixity_checks_cover_the_copies(app, make_brief, login_as, clerk):
    brief_id = make_brief(State.PUBLISHED)
    files = stored(app, brief_id, "copy")
    with app.app_context():
        report = verify_store(db.session, file_store())
        assert report.ok and report.checked == 31
    damaged = FILES_DIR / files[4].path
    damaged.write_bytes(damaged.read_bytes() + b"%tampered")
    with app.app_context():
        report = verify_store(db.session, file_store())
        assert report.changed == [files[4].path]
        db.session.rollback()
    response = login_as("clerk").get(f"/copies/{files[4].copy_id}/pdf")
    assert response.status_code == 409 and b"%PDF" not in response.data
    with app.app_context():
        assert db.session.scalar(select(DownloadLog.id)) is None  # a refused download is not a download


def test_a_failing_copy_step_rolls_the_whole_publish_back(app, directory, make_brief, login_as, monkeypatch):
    from publishing.stamping import Stamper

    brief_id = make_brief(State.SIGNED, special_report=[])
    calls = []

    def broken(self, serial, mark):
        calls.append(serial)
        if len(calls) == 5:
            raise OSError("disk full")
        return original(self, serial, mark)

    original = Stamper.stamp
    monkeypatch.setattr(Stamper, "stamp", broken)
    response = login_as("editor").post(f"/briefs/{brief_id}/publish",
                                       {"issue_date": "2026-11-20", "version": str(fetch(app, brief_id).version)})
    assert response.status_code == 500
    brief = fetch(app, brief_id)
    assert brief.state == State.SIGNED.value and brief.issue_number is None and brief.print_run is None
    assert copies_of(app, brief_id) == [] and stored(app, brief_id, "copy") == []
    assert not [p for p in FILES_DIR.rglob("*") if p.is_file()]
    monkeypatch.undo()
    assert login_as("editor").post(f"/briefs/{brief_id}/publish", {
        "issue_date": "2026-11-20", "version": str(fetch(app, brief_id).version)}).status_code == 302
    assert len(copies_of(app, brief_id)) == 11


def test_a_copy_that_cannot_be_stored_fails_the_whole_publish(app, make_brief, login_as, monkeypatch):
    from publishing.storage import FileStore, StoreError

    brief_id = make_brief(State.SIGNED)

    def full_disk(self, items, suffix=".pdf", threads=8):
        raise StoreError("No space left on device")

    monkeypatch.setattr(FileStore, "put_many", full_disk)
    response = login_as("editor").post(f"/briefs/{brief_id}/publish",
                                       {"issue_date": "2026-11-20", "version": str(fetch(app, brief_id).version)})
    assert response.status_code == 500
    assert [p for p in FILES_DIR.rglob("*") if p.is_file()] == []  # the master stored before was removed
    assert fetch(app, brief_id).state == State.SIGNED.value and copies_of(app, brief_id) == []


def test_the_snapshot_survives_a_directory_edit(app, directory, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, special_report=[])
    editor = login_as("editor")
    response = editor.post(f"/recipients/{directory[1]}/edit", {
        "name": "李明", "title": "市长", "organisation": "苏州市人民政府", "category": "专报", "default_copies": "1",
        "active": "y"})
    assert response.status_code == 302
    editor.get("/recipients")  # (shows the flash message, which names the new title)
    copy = copies_of(app, brief_id)[1]
    assert (copy.recipient_label, copy.recipient_title) == ("李明代市长", "代市长")
    board = editor.get(f"/briefs/{brief_id}/copies").get_data(as_text=True)
    assert "李明代市长" in board and "李明市长" not in board
    stamp, _rest = stamp_chars((FILES_DIR / stored(app, brief_id, "copy")[1].path).read_bytes())
    assert "李明代市长" in stamp
    # The recipient's page lists the copy as printed; a new brief takes the new title.
    assert "李明代市长" in editor.get(f"/recipients/{directory[1]}").get_data(as_text=True)
    assert fetch(app, make_brief(State.DRAFT, special_report=[])).special_report[1] == "李明市长"


# --- Moves, bulk moves, recall -----------------------------------------------------------------


def test_the_copy_table_matches_the_design():
    moves = {t.action: ({s.value for s in t.sources}, t.target.value, {r.value for r in t.roles}) for t in COPY_LIFECYCLE}
    assert moves == {
        "dispatch": ({"printed"}, "dispatched", {"editor", "clerk"}),
        "receive": ({"dispatched"}, "received", {"editor", "clerk"}),
        "return_copy": ({"dispatched", "received"}, "returned", {"editor", "clerk"}),
        "destroy": ({"printed", "received", "returned"}, "destroyed", {"editor", "clerk"}),
        "lose": ({"printed", "dispatched", "received", "returned"}, "lost", {"editor", "clerk"}),
    }


def test_bulk_dispatch_and_receipts_and_the_board(app, directory, make_brief, login_as, clerk):
    brief_id = make_brief(State.PUBLISHED, special_report=[])
    http = login_as("clerk")
    board = http.get(f"/briefs/{brief_id}/copies")
    assert board.status_code == 200 and 'data-state="printed" data-count="11"' in board.get_data(as_text=True)
    version = fetch(app, brief_id).version
    response = http.post(f"/briefs/{brief_id}/copies/dispatch", {"route": "courier", "person": "张师傅",
                                                                "version": str(version)})
    assert response.status_code == 302
    copies = copies_of(app, brief_id)
    assert {c.state for c in copies} == {"dispatched"}
    assert {c.route for c in copies} == {"courier"} and copies[0].dispatched_by == "张师傅"
    chosen = copies[:3]
    form = {"copy": [str(c.id) for c in chosen], "version": str(fetch(app, brief_id).version)}
    form.update({f"signed-{c.id}": f"{c.recipient_name}（秘书代签）" for c in chosen})
    assert http.post(f"/briefs/{brief_id}/copies/receipts", form).status_code == 302
    copies = copies_of(app, brief_id)
    assert [c.state for c in copies[:4]] == ["received"] * 3 + ["dispatched"]
    assert copies[0].signed_by == "王建国（秘书代签）" and copies[0].received_at is not None
    page = http.get(f"/briefs/{brief_id}/copies").get_data(as_text=True)
    assert 'data-state="received" data-count="3"' in page and 'data-state="dispatched" data-count="8"' in page
    assert "王建国（秘书代签）" in page
    # Overdue: dispatched longer ago than CANYUE_RECEIPT_OVERDUE_DAYS, not signed for.
    with app.app_context():
        db.session.execute(update(Copy).where(Copy.id == copies[5].id)
                           .values(dispatched_at=utcnow() - timedelta(days=10)))
        db.session.commit()
    page = http.get(f"/briefs/{brief_id}/copies").get_data(as_text=True)
    overdue = page.split("overdue-list", 1)[1].split("</section>", 1)[0]
    assert copies[5].serial in overdue and copies[6].serial not in overdue
    # Every move is an audit event in the issue's chain, which still verifies.
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_recall_flags_exactly_the_unreturned_copies(app, directory, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, special_report=[], classification="内部")
    copies = copies_of(app, brief_id)
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        dispatch_all(db.session, brief, db.session.scalar(select(User).where(User.username == "editor")),
                     route="courier")
        db.session.commit()
    move(app, copies[0].id, "return_copy", person="王建国")  # classified: may come back before a recall
    move(app, copies[1].id, "receive", person="李明")
    move(app, copies[2].id, "lose", comment="途中遗失")
    editor = login_as("editor")
    assert editor.post(f"/briefs/{brief_id}/copies/recall", {"reason": "", "version": str(fetch(app, brief_id).version)}
                       ).status_code == 422
    response = editor.post(f"/briefs/{brief_id}/copies/recall",
                           {"reason": "数据有误，收回", "version": str(fetch(app, brief_id).version)})
    assert response.status_code == 302
    after = copies_of(app, brief_id)
    assert [c.recalled for c in after] == [False] + [True] * 10
    page = editor.get(f"/briefs/{brief_id}/copies").get_data(as_text=True)
    assert 'data-recall="0/10"' in page and "数据有误，收回" in page
    move(app, after[1].id, "return_copy", person="李明")
    move(app, after[3].id, "return_copy", person="秘书", witness="王五")
    page = editor.get(f"/briefs/{brief_id}/copies").get_data(as_text=True)
    assert 'data-recall="2/10"' in page
    # A second recall is refused; the brief's history says it was recalled.
    assert editor.post(f"/briefs/{brief_id}/copies/recall",
                       {"reason": "再次", "version": str(fetch(app, brief_id).version)}).status_code == 409
    assert "数据有误，收回" in editor.get(f"/briefs/{brief_id}").get_data(as_text=True)


def test_an_unclassified_issue_is_taken_back_only_after_a_recall(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED)
    copy = copies_of(app, brief_id)[0]
    move(app, copy.id, "dispatch", route="hand")
    editor = login_as("editor")
    form = {"return_copy-person": "王建国", "return_copy-version": str(copies_of(app, brief_id)[0].version)}
    response = editor.post(f"/copies/{copy.id}/act/return_copy", form, prefix="return_copy")
    assert response.status_code == 409
    assert editor.post(f"/briefs/{brief_id}/copies/recall",
                       {"reason": "收回", "version": str(fetch(app, brief_id).version)}).status_code == 302
    form["return_copy-version"] = str(copies_of(app, brief_id)[0].version)
    assert editor.post(f"/copies/{copy.id}/act/return_copy", form, prefix="return_copy").status_code == 302
    assert copies_of(app, brief_id)[0].state == "returned"


def test_a_move_checks_what_it_is_told(app, make_brief, login_as, clerk):
    brief_id = make_brief(State.PUBLISHED, classification="内部")
    copy = copies_of(app, brief_id)[0]
    http = login_as("clerk")

    def post(action, **fields):
        data = {f"{action}-{k}": v for k, v in fields.items()}
        data[f"{action}-version"] = str(copies_of(app, brief_id)[0].version)
        return http.post(f"/copies/{copy.id}/act/{action}", data, prefix=action)

    assert post("dispatch", route="courier", when="2999-01-01T10:00").status_code == 422  # in the future
    assert post("dispatch", route="courier", when="2001-01-01T10:00").status_code == 422  # before publication
    assert post("dispatch", route="courier").status_code == 302
    assert post("receive", person="").status_code == 422  # who signed?
    assert post("receive", person="王建国").status_code == 302
    assert post("destroy", person="小刘").status_code == 422  # a destruction needs a witness
    assert post("destroy", person="小刘", witness="监销人老张").status_code == 302
    after = copies_of(app, brief_id)[0]
    assert (after.state, after.witness, after.signed_by) == ("destroyed", "监销人老张", "王建国")
    page = http.get(f"/copies/{copy.id}").get_data(as_text=True)
    assert "监销人老张" in page and "机要员小刘" in page


def test_a_stale_copy_form_is_refused(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED)
    copy = copies_of(app, brief_id)[0]
    editor = login_as("editor")
    old = str(copy.version)
    move(app, copy.id, "dispatch", route="courier")
    response = editor.post(f"/copies/{copy.id}/act/receive", {"receive-person": "王建国", "receive-version": old},
                           prefix="receive")
    assert response.status_code == 409 and copies_of(app, brief_id)[0].state == "dispatched"


# --- Electronic copies: links and downloads ----------------------------------------------------------


def make_link_over_http(app, client, copy_id, days=7):
    page = client.post(f"/copies/{copy_id}/links", {"days": str(days)}).get_data(as_text=True)
    match = re.search(r'value="(https?://[^"]+/d/[^"]+)"', page)
    assert match, page[:2000]
    return match.group(1).replace("http://canyue.test", "")


def test_links_open_until_revoked_or_expired_and_every_download_is_logged(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED)
    copy = copies_of(app, brief_id)[0]
    copy_file = stored(app, brief_id, "copy")[0]
    editor = login_as("editor")
    url = make_link_over_http(app, editor, copy.id)
    anonymous = app.test_client()
    response = anonymous.get(url, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert sha256_of(response.data) == copy_file.sha256
    anonymous.get(url, environ_base={"REMOTE_ADDR": "10.1.2.4"})
    with app.app_context():
        logs = db.session.scalars(select(DownloadLog).order_by(DownloadLog.id)).all()
        assert [(l.copy_id, l.ip, l.user_id) for l in logs] == [(copy.id, "10.1.2.3", None), (copy.id, "10.1.2.4", None)]
        assert logs[0].link_id is not None
        link_id = logs[0].link_id
    # A forged or altered token is no link.
    assert anonymous.get(url[:-3] + "abc").status_code == 404
    assert anonymous.get("/d/not-a-token").status_code == 404
    # Expired.
    with app.app_context():
        db.session.execute(update(DownloadLink).where(DownloadLink.id == link_id)
                           .values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    assert anonymous.get(url).status_code == 410
    # Revoked.
    second = make_link_over_http(app, editor, copy.id)
    assert anonymous.get(second).status_code == 200
    with app.app_context():
        second_id = db.session.scalar(select(DownloadLink.id).order_by(DownloadLink.id.desc()))
    assert editor.post(f"/links/{second_id}/revoke").status_code == 302
    response = anonymous.get(second)
    assert response.status_code == 410
    with app.app_context():
        assert db.session.scalar(select(db.func.count(DownloadLog.id))) == 3  # refusals are not downloads
    page = editor.get(f"/copies/{copy.id}").get_data(as_text=True)
    assert "10.1.2.3" in page and "10.1.2.4" in page


def test_a_recalled_copy_no_longer_downloads(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED)
    copy = copies_of(app, brief_id)[0]
    editor = login_as("editor")
    url = make_link_over_http(app, editor, copy.id)
    assert editor.post(f"/briefs/{brief_id}/copies/recall",
                       {"reason": "收回", "version": str(fetch(app, brief_id).version)}).status_code == 302
    assert app.test_client().get(url).status_code == 410
    assert editor.get(f"/copies/{copy.id}/pdf").status_code == 409


def test_a_recipient_fetches_their_own_copy_from_their_account(app, people, directory, make_brief, login_as):
    with app.app_context():
        leader = User(username="leader", display_name="王建国", password_hash=_HASH)  # no role at all
        db.session.add(leader)
        db.session.flush()
        db.session.get(Recipient, directory[0]).user_id = leader.id
        db.session.commit()
    brief_id = make_brief(State.PUBLISHED, special_report=[])
    own, other = copies_of(app, brief_id)[:2]
    http = app.test_client()
    assert log_in_form(http, "leader", PASSWORD).status_code == 302
    assert "/my-copies" in http.get("/").get_data(as_text=True)
    assert own.serial in http.get("/my-copies").get_data(as_text=True)
    response = http.get(f"/copies/{own.id}/pdf", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code == 200
    assert http.get(f"/copies/{other.id}/pdf").status_code == 404
    assert http.get(f"/copies/{own.id}").status_code == 200
    assert http.get(f"/briefs/{brief_id}/copies").status_code == 403  # the board is not theirs
    # Nor may they move their copy.
    owner = Client(http)
    owner.app = app
    response = owner.post(f"/copies/{own.id}/act/dispatch", {"dispatch-route": "courier",
                                                             "dispatch-version": str(own.version)}, prefix="dispatch")
    assert response.status_code == 403 and copies_of(app, brief_id)[0].state == "printed"
    with app.app_context():
        log = db.session.scalar(select(DownloadLog))
        leader_id = db.session.scalar(select(User.id).where(User.username == "leader"))
        assert (log.user_id, log.link_id, log.ip) == (leader_id, None, "10.9.9.9")
    assert login_as("drafter2").get(f"/copies/{own.id}/pdf").status_code == 404


# --- CSV, the receipt sheet -------------------------------------------------------------------------


def test_recipients_csv_round_trip_keeps_chinese(app, directory, login_as):
    editor = login_as("editor")
    exported = editor.get("/recipients/export.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert exported.data.startswith(BOM.encode("utf-8"))
    rows = read_csv(exported.data)
    assert rows[0][:3] == ["编号", "姓名或单位", "职务"]
    assert [r[1] + r[2] for r in rows[1:]] == LABELS
    # Change a title, add a unit, import the file back: every Chinese text arrives intact.
    rows[2][2] = "市长"
    rows.append(["", "苏州工业园区党工委", "", "苏州工业园区", "送", "2", "是", ""])
    body = BOM + "\r\n".join(",".join(r) for r in rows) + "\r\n"
    response = editor.post("/recipients/import", {"file": (io.BytesIO(body.encode("utf-8")), "名单.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        people = db.session.scalars(select(Recipient).order_by(Recipient.id)).all()
        assert [p.label for p in people] == LABELS[:1] + ["李明市长"] + LABELS[2:] + ["苏州工业园区党工委"]
        assert (people[-1].organisation, people[-1].default_copies) == ("苏州工业园区", 2)
    again = read_csv(editor.get("/recipients/export.csv").data)
    assert again[-1][1:7] == ["苏州工业园区党工委", "", "苏州工业园区", "送", "2", "是"]
    # A GB18030 file (Excel's default on Chinese Windows) reads too.
    gbk = "姓名或单位,职务,所在单位,类别\r\n周八,主任,市研究室,送\r\n".encode("gb18030")
    assert editor.post("/recipients/import", {"file": (io.BytesIO(gbk), "x.csv")},
                       content_type="multipart/form-data").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Recipient).where(Recipient.name == "周八")).organisation == "市研究室"


def test_a_bad_import_names_its_lines_and_imports_nothing(app, directory, login_as):
    body = ("姓名或单位,职务,类别,默认份数\r\n"
            "赵九,处长,送,1\r\n"
            ",科长,送,1\r\n"
            "钱十,,转发,1\r\n"
            "孙十一,,发,零\r\n").encode("utf-8")
    response = login_as("editor").post("/recipients/import", {"file": (io.BytesIO(body), "bad.csv")},
                                       content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert [int(n) for n in re.findall(r'data-line="(\d+)"', page)] == [3, 4, 5]
    assert "转发" in page
    with app.app_context():
        assert db.session.scalar(select(Recipient).where(Recipient.name == "赵九")) is None


def test_the_distribution_record_exports_as_csv(app, directory, make_brief, login_as, clerk):
    brief_id = make_brief(State.PUBLISHED, special_report=[])
    copies = copies_of(app, brief_id)
    move(app, copies[0].id, "dispatch", route="courier", person="张师傅")
    move(app, copies[0].id, "receive", person="王建国")
    response = login_as("clerk").get(f"/briefs/{brief_id}/copies/distribution.csv")
    assert response.status_code == 200 and response.data.startswith(BOM.encode())
    rows = read_csv(response.data)
    assert rows[0][:3] == ["份号", "类别", "收件人（印发时）"]
    assert [r[0] for r in rows[1:]] == [c.serial for c in copies]
    assert rows[1][2] == "王建国书记" and rows[1][7] == "已签收" and rows[1][12] == "王建国" and rows[1][9] == "机要交通"


def test_the_receipt_sheet_is_a_pdf_for_the_courier(app, directory, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, special_report=[])
    response = login_as("editor").get(f"/briefs/{brief_id}/copies/receipt-sheet.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = plain("".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages))
    assert "签收单" in text and "000001" in text and "000011" in text and "王建国书记" in text
    assert "签收人（签字）" in text


# --- Pages and permissions -----------------------------------------------------------------------


def test_the_brief_page_links_the_list_before_and_the_board_after_publication(app, make_brief, login_as, clerk):
    signed = make_brief(State.SIGNED)
    page = login_as("editor").get(f"/briefs/{signed}").get_data(as_text=True)
    assert 'data-link="distribution-list"' in page and "王建国书记" in page
    published = make_brief(State.PUBLISHED)
    page = login_as("editor").get(f"/briefs/{published}").get_data(as_text=True)
    assert 'data-link="distribution-board"' in page
    assert 'data-link="distribution-board"' not in login_as("drafter2").get(f"/briefs/{published}").get_data(as_text=True)
    # Copy moves stay out of the brief's own history.
    move(app, copies_of(app, published)[0].id, "dispatch", route="courier")
    page = login_as("editor").get(f"/briefs/{published}").get_data(as_text=True)
    assert "份号 000001" not in page


def test_the_clerk_does_nothing_else(app, make_brief, login_as, clerk):
    in_review = make_brief(State.IN_REVIEW)
    signed = make_brief(State.SIGNED)
    published = make_brief(State.PUBLISHED)
    http = login_as("clerk")
    assert http.get("/briefs/new").status_code == 403
    assert http.get(f"/briefs/{in_review}").status_code == 404
    assert http.act(in_review, "approve").status_code == 404
    assert http.get(f"/briefs/{signed}/distribution").status_code == 404
    assert http.get(f"/briefs/{published}").status_code == 200
    assert http.act(published, "archive").status_code == 404  # archive has its own page
    assert http.get(f"/briefs/{published}/file").status_code == 403
    assert http.get("/recipients/new").status_code == 403
    assert http.get("/admin/users").status_code == 403
    assert http.post(f"/briefs/{published}/copies/recall",
                     {"reason": "x", "version": str(fetch(app, published).version)}).status_code == 403
    # What the clerk is for.
    assert http.get("/distribution").status_code == 200
    assert http.get(f"/briefs/{published}/copies").status_code == 200
    assert http.get("/recipients").status_code == 200
    with app.test_request_context():
        from flask_babel import force_locale, gettext
        with force_locale("zh_CN"):
            assert gettext("Confidential clerk") == "机要员"


def test_the_series_default_list_is_edited_by_editors_and_admins(app, series_id, directory, login_as):
    admin = login_as("admin")
    page = admin.get(f"/series/{series_id}/distribution")
    assert page.status_code == 200 and "市委办公室" in page.get_data(as_text=True)
    response = admin.post(f"/series/{series_id}/distribution", {
        "rid-0": directory[0], "cat-0": "专报", "copies-0": "1", "medium-0": "printed",
        "rid-1": directory[7], "cat-1": "发", "copies-1": "5", "medium-1": "electronic",
        "add_recipient": directory[4], "add_category": "报", "add_copies": "2", "add_medium": "printed"})
    assert response.status_code == 302
    with app.app_context():
        entries = lists.series_entries(db.session, series_id)
        assert [(e.recipient.label, e.category, e.copies, e.medium) for e in entries] == [
            ("王建国书记", "专报", 1, "printed"), ("市人大常委会办公室", "报", 2, "printed"),
            ("各区党政办", "发", 5, "electronic")]
    assert login_as("drafter").get(f"/series/{series_id}/distribution").status_code == 403


def test_models_keep_what_the_states_imply(app, make_brief):
    from sqlalchemy.exc import IntegrityError

    brief_id = make_brief(State.PUBLISHED)
    copy = copies_of(app, brief_id)[0]
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(update(Copy).where(Copy.id == copy.id).values(state="received"))
            db.session.flush()
        db.session.rollback()
        with pytest.raises(IntegrityError):
            db.session.add(DistributionEntry(brief_id=brief_id, category="送", copies=1, medium="printed"))
            db.session.flush()
        db.session.rollback()
        with pytest.raises(AttributeError):
            db.session.get(Copy, copy.id).state = CopyState.LOST.value


def test_the_copy_diagram_comes_from_the_table():
    from workflows.copy import copy_mermaid_diagram

    diagram = copy_mermaid_diagram()
    assert "printed --> dispatched: Dispatch (dispatch; clerk, editor)" in diagram
    assert "returned --> destroyed" in diagram


def test_stamping_keeps_the_pdf_readable_by_other_readers(app, make_brief):
    """poppler (pdftotext) reads the copy's update like pypdf and pdfplumber do."""
    import shutil
    import subprocess

    # scripts/install --test installs poppler-utils: its absence is a broken setup, not a skip.
    assert shutil.which("pdftotext"), "pdftotext missing: run scripts/install --test (poppler-utils)"
    brief_id = make_brief(State.PUBLISHED)
    path = FILES_DIR / stored(app, brief_id, "copy")[0].path
    out = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(path), "-"], capture_output=True, text=True, check=True)
    assert out.stdout.lstrip().startswith("000001") and "王建国书记" in out.stdout


def test_every_distribution_page_renders_in_chinese(app, series_id, directory, make_brief, login_as, clerk):
    signed = make_brief(State.SIGNED, special_report=[])
    published = make_brief(State.PUBLISHED, special_report=[])
    copy = copies_of(app, published)[0]
    editor = login_as("editor")
    pages = ["/distribution", "/recipients", "/recipients?q=市&category=报&inactive=1", "/recipients/new",
             f"/recipients/{directory[0]}", f"/recipients/{directory[0]}/edit", "/recipients/import",
             f"/series/{series_id}/distribution", f"/briefs/{signed}/distribution", f"/briefs/{published}/distribution",
             f"/briefs/{published}/copies", f"/copies/{copy.id}", "/my-copies"]
    for url in pages:
        response = editor.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert "分发" in page or "收件人" in page or "份" in page, url
    list_page = editor.get(f"/briefs/{signed}/distribution").get_data(as_text=True)
    assert "将印制 11 份" in list_page and "000011" in list_page
    board = editor.get(f"/briefs/{published}/copies").get_data(as_text=True)
    assert "各状态份数" in board and "<svg" in board and "已印制" in board


def test_the_readme_shows_the_copy_diagram_as_generated(app):
    from pathlib import Path

    result = app.test_cli_runner().invoke(args=["workflow", "diagram", "--copies"])
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "```mermaid\n" + result.output + "```" in readme, \
        "README copy diagram is stale: paste `flask --app app workflow diagram --copies`"


def test_lines_move_and_go_and_专报_lines_go_through_the_text(app, directory, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW, special_report=["王建国书记", "李明代市长"])
    editor = login_as("editor")

    def lines():
        with app.app_context():
            return [(e.id, e.category, e.display_label) for e in lists.entries_of(db.session, brief_id)]

    send = [line for line in lines() if line[1] == "送"]
    assert [line[2] for line in send] == ["市发展改革委", "市工业和信息化局"]
    version = str(fetch(app, brief_id).version)
    assert editor.post(f"/briefs/{brief_id}/distribution/{send[0][0]}/move/down", {"version": version}).status_code == 302
    assert [line[2] for line in lines() if line[1] == "送"] == ["市工业和信息化局", "市发展改革委"]
    version = str(fetch(app, brief_id).version)
    assert editor.post(f"/briefs/{brief_id}/distribution/{send[0][0]}/remove", {"version": version}).status_code == 302
    assert [line[2] for line in lines() if line[1] == "送"] == ["市工业和信息化局"]
    # A stale form changes nothing.
    assert editor.post(f"/briefs/{brief_id}/distribution/{send[1][0]}/remove", {"version": version}).status_code == 409
    # Taking a 专报 line off while the text may change is an edit of the text.
    special = [line for line in lines() if line[1] == "专报"]
    version = str(fetch(app, brief_id).version)
    assert editor.post(f"/briefs/{brief_id}/distribution/{special[0][0]}/remove", {"version": version}).status_code == 302
    assert fetch(app, brief_id).special_report == ["李明代市长"]
    assert [line[2] for line in lines() if line[1] == "专报"] == ["李明代市长"]


def test_without_an_outline_face_the_stamp_falls_back_to_helvetica(app, make_brief):
    from publishing.stamping import Stamper

    brief_id = make_brief(State.PUBLISHED)
    master = (FILES_DIR / stored(app, brief_id, "master")[0].path).read_bytes()
    data = Stamper(master, None).stamp("000042", "000042 王建国书记 R7")
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    before = PdfReader(io.BytesIO(master)).pages[0].extract_text()
    assert "000042" in text and "R7" in text
    assert text.count("王建国") == before.count("王建国")  # ASCII only: the name is not in the mark
