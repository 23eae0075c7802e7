"""Word files through real LibreOffice (Debian's libreoffice-writer-nogui, installed by
`scripts/install --test`): the drafter's files as LibreOffice re-saves them (Word's and WPS's
files differ from python-docx's), and the exported issue converted to PDF and measured the
way a reader sees it. The official face names are mapped to the free faces installed here by
a fontconfig file the tests write. SQLite only, to keep CI short."""

from __future__ import annotations

import io

import pdfplumber
import pytest
from sqlalchemy import select

from extensions import db
from models import Brief
from tests import wordsamples as ws
from tests.conftest import ENGINE
from tests.test_word import only_brief, upload_new
from wordfiles.reader import read_docx
from workflows.transitions import apply_transition, save_revision

pytestmark = pytest.mark.skipif(ENGINE != "sqlite", reason="LibreOffice tests run on SQLite only (CI time)")

MM = 72 / 25.4


@pytest.fixture(autouse=True)
def _libreoffice() -> None:
    assert ws.has_libreoffice(), "soffice is missing: scripts/install --test installs libreoffice-writer-nogui"


def test_a_docx_resaved_by_libreoffice_imports_as_the_original(app, login_as, series_id):
    original = read_docx(ws.typed_docx(), "draft.docx")
    resaved = ws.resave(ws.typed_docx())
    assert resaved != ws.typed_docx()
    response = upload_new(login_as("drafter"), series_id, resaved, "draft.docx")
    assert response.status_code == 302
    brief = only_brief(app)
    assert (brief.title, brief.author_line, brief.body) == (original.title, original.author_line, original.body)


def _published_with_table_and_image(app, login_as, series_id, make_brief) -> int:
    """An issue made as users make it: imported from Word, long enough for two pages, issued."""
    drafter = login_as("drafter")
    upload_new(drafter, series_id, ws.typed_docx())
    brief = only_brief(app)
    from datetime import date

    from publishing.pipeline import publish
    from tests.conftest import _user
    with app.app_context():
        row = db.session.get(Brief, brief.id)
        save_revision(db.session, row, _user("drafter"), {**row.content(), "special_report": ["曹路宝书记", "吴庆文代市长"]})
        for action, who in (("submit", "drafter"), ("approve", "editor"), ("sign", "signer")):
            apply_transition(db.session, row, action, _user(who))
        db.session.commit()
        publish(db.session, brief.id, _user("editor"), issue_date=date(2026, 3, 2))
        db.session.commit()
    return brief.id


def _chars(page, predicate=lambda c: True):
    return [c for c in page.chars if c["text"].strip() and predicate(c)]


def test_the_exported_issue_as_libreoffice_prints_it(app, login_as, series_id, make_brief, tmp_path):
    brief_id = _published_with_table_and_image(app, login_as, series_id, make_brief)
    response = login_as("editor").get(f"/briefs/{brief_id}/brief.docx")
    assert response.status_code == 200
    source = tmp_path / "issue.docx"
    source.write_bytes(response.data)
    pdf_path = ws.soffice(source, "pdf", tmp_path, fontconfig=ws.fontconfig_file(tmp_path))
    with pdfplumber.open(pdf_path) as pdf:
        pages = pdf.pages
        assert len(pages) >= 2
        first = pages[0]
        # A4.
        assert (round(first.width / MM), round(first.height / MM)) == (210, 297)
        # The text block: 28 mm from the left edge, 26 mm from the right, the first line (密级 内部)
        # at 37 mm.
        chars = _chars(first)
        assert min(c["x0"] for c in chars) / MM == pytest.approx(28, abs=1)
        assert (first.width - max(c["x1"] for c in chars)) / MM == pytest.approx(26, abs=1.5)
        first_line = min(chars, key=lambda c: c["top"])
        assert first_line["text"] == "内" and first_line["top"] / MM == pytest.approx(37 + 2.5, abs=1.5)
        # The masthead: 领导参阅, large and red.
        masthead = [c for c in chars if c["text"] in "领导参阅" and c["size"] > 40]
        assert "".join(c["text"] for c in masthead) == "领导参阅"
        red = masthead[0]["non_stroking_color"]
        assert red[0] > 0.8 and red[1] < 0.1 and red[2] < 0.2
        text = first.extract_text()
        assert "第1期（总第31期）" in text.replace(" ", "") and "2026年3月2日" in text.replace(" ", "")
        # Title 2号 (22 pt), body 3号 (16 pt) in the face the official 仿宋 name maps to.
        title = [c for c in chars if c["text"] in ws.TITLE and round(c["size"]) == 22]
        assert len(title) >= len(ws.TITLE)
        lead = [c for c in chars if c["text"] in ws.LEAD and round(c["size"]) == 16]
        assert len(lead) >= len(ws.LEAD) - 4
        faces = {c["fontname"].split("+")[-1] for c in lead}
        assert faces & {"FandolFang-Regular", "NotoSerifCJKjp-Regular", "NotoSerifCJKsc-Regular"}, faces
        # 28 characters a line: the lead's first line holds 26 after its two-character indent.
        lines = [line.replace(" ", "") for line in text.splitlines()]
        assert ws.LEAD[:26] in lines, lines
        # Body lines on the 28.9 pt grid (22 lines in the text block): every 16 pt line of the body
        # on page 1 sits a whole number of line pitches below its first line.
        start = min(c["top"] for c in lead)
        tops = sorted({round(c["top"], 1) for c in chars if round(c["size"]) == 16 and start - 0.5 <= c["top"] < first.height - 35 * MM})
        steps = [(top - tops[0]) / 28.9 for top in tops]
        assert len(tops) >= 8 and all(abs(s - round(s)) < 0.05 for s in steps), " ".join(f"{t}:{s:.2f}" for t, s in zip(tops, steps, strict=True))
        # Folios "— N —": page 1 at the right, page 2 at the left, below the text block.
        for number, page in enumerate(pages[:2], start=1):
            folio = [c for c in _chars(page) if c["top"] > page.height - 35 * MM]
            assert "".join(c["text"] for c in folio).replace(" ", "") == f"—{number}—"
            assert all(round(c["size"]) == 14 for c in folio)  # 4号
            assert folio[0]["top"] / MM == pytest.approx(297 - 35 + 7, abs=2)  # 7 mm below the text block
            middle = (folio[0]["x0"] + folio[-1]["x1"]) / 2
            assert (middle > page.width / 2) == (number % 2 == 1)
        # The table, its header row and the picture.
        whole = "".join(p.extract_text() for p in pages).replace(" ", "")
        assert "表1主要城市低空经济情况" in whole and "企业数量（家）" in whole and "图1各地低空经济规模" in whole
        assert sum(len(p.images) for p in pages) == 1
        assert "共印：30份" in whole and "责任编辑：李青" in whole
        # The colophon (版记) at the foot of the text block of the last page.
        last = pages[-1]
        colophon = [c for c in _chars(last) if c["text"] in "共印" and c["top"] < last.height - 35 * MM]
        assert colophon and max(c["bottom"] for c in colophon) / MM == pytest.approx(297 - 35, abs=8)


def test_a_resaved_export_reimports_as_the_same_brief(app, login_as, series_id, make_brief):
    brief_id = _published_with_table_and_image(app, login_as, series_id, make_brief)
    editor = login_as("editor")
    exported = editor.get(f"/briefs/{brief_id}/brief.docx").data
    again = read_docx(ws.resave(exported), "issue.docx")
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        assert (again.title, again.author_line, again.body) == (brief.title, brief.author_line, brief.body)


def test_an_emf_chart_is_converted_by_libreoffice_and_stored_as_png(app, login_as, make_brief):
    from PIL import Image

    from models import StoredFile
    from publishing.services import file_store
    from tests.test_word import upload_image

    brief_id = make_brief()
    response = upload_image(login_as("drafter"), brief_id, ws.chart_emf(), "图表.emf", "图1 产值")
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalars(select(StoredFile).where(StoredFile.kind == "image")).one()
        data = file_store().read_verified(row.path, row.sha256)
        assert f"image:{row.sha256}" in db.session.get(Brief, brief_id).body
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size[0] >= 300
    assert image.convert("RGB").getpixel((image.size[0] // 2, image.size[1] // 2)) == (255, 0, 0)  # the bar
