"""Word in and out, tables and images: .docx files typed as drafters type them (tests/
wordsamples.py), imported through the page and the command line, refused when bad; images
uploaded, re-encoded and embedded; the export read back in (the round trip).

The LibreOffice checks (resaved files, the exported page measured) are in
tests/test_word_libreoffice.py."""

from __future__ import annotations

import io
import re
import zipfile

import pdfplumber
import pytest
from docx import Document
from PIL import Image
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Brief, Revision, StoredFile
from publishing.services import file_store
from rendering.markdown import image_references
from tests import wordsamples as ws
from tests.conftest import FILES_DIR, brief_version
from wordfiles.operations import brief_as_docx
from wordfiles.reader import read_docx
from workflows.brief import State

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def english(client) -> None:
    assert client.post("/account", {"profile-locale": "en"}, prefix="profile").status_code == 302


def upload_new(client, series_id: int, data: bytes, name: str = "低空经济.docx"):
    return client.post("/briefs/import-word", {"series_id": str(series_id), "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def counts(app) -> tuple[int, int, int, int]:
    """Briefs, revisions, stored files and (non-security) audit events: what a refusal must leave."""
    with app.app_context():
        return (db.session.scalar(select(func.count(Brief.id))),
                db.session.scalar(select(func.count(Revision.id))),
                db.session.scalar(select(func.count(StoredFile.id))),
                db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.subject_type != "security")))


def only_brief(app) -> Brief:
    with app.app_context():
        brief = db.session.scalars(select(Brief)).one()
        db.session.expunge(brief)
        return brief


# --- import: what a drafter typed survives ----------------------------------------------------


def test_import_page_makes_a_draft_from_a_typed_docx(app, login_as, series_id):
    drafter = login_as("drafter")
    new_page = drafter.get("/briefs/new").get_data(as_text=True)
    assert 'href="/briefs/import-word"' in new_page  # 从 Word 导入 on 新建稿件
    response = upload_new(drafter, series_id, ws.typed_docx())
    assert response.status_code == 302, response.get_data(as_text=True)
    brief = only_brief(app)
    assert brief.state == "draft" and brief.revision_number == 1
    assert brief.classification == app.config["CANYUE_DEFAULT_CLASSIFICATION"]  # as 新建稿件 starts
    assert brief.title == ws.TITLE and brief.author_line == ws.AUTHOR
    body = brief.body
    blocks = body.rstrip().split("\n\n")
    # Every paragraph once, in order; the soft break and the page break split nothing.
    assert blocks[0] == ws.LEAD
    assert "# 一、发展态势" in blocks and "## （一）产业基础" in blocks and "#### （1）完善基础设施" in blocks
    assert ws.LONG in blocks
    assert ws.AFTER_BREAK in blocks
    # The bold lead sentence, next to Chinese punctuation, stays a paragraph with its bold.
    assert "**1.加强顶层设计。**结合我市实际，加快编制低空经济发展规划，明确发展路径。" in blocks
    # The table as a pipe table under its caption, the picture as a stored image with its caption.
    table = blocks.index("表1 主要城市低空经济情况")
    assert blocks[table + 1].splitlines()[0] == "| 城市 | 企业数量（家） | 规模（亿元） |"
    assert "| 深圳 | 1700 | 960 |" in blocks[table + 1]
    digest = image_references(body)[0]
    assert f"![图1 各地低空经济规模](image:{digest})" in blocks
    assert blocks[-1] == "以上建议，供参考。"
    assert "仿宋" not in body and "16" not in body.replace("1600", "")  # fonts and sizes are dropped
    with app.app_context():
        image = db.session.scalars(select(StoredFile).where(StoredFile.kind == "image")).one()
        assert image.brief_id == brief.id and image.sha256 == digest
        assert file_store().read_verified(image.path, image.sha256)[:8] == b"\x89PNG\r\n\x1a\n"
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import_word")).one()
        assert event.brief_id == brief.id and "低空经济.docx" in event.reason and "1 image" in event.reason


def test_imported_table_and_image_show_in_preview_and_pdf(app, login_as, series_id):
    drafter = login_as("drafter")
    upload_new(drafter, series_id, ws.typed_docx())
    brief = only_brief(app)
    page = drafter.get(f"/briefs/{brief.id}").get_data(as_text=True)
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="图1 各地低空经济规模">', page)
    assert '<p class="table-caption">表1 主要城市低空经济情况</p>' in page and "<th>城市</th>" in page
    # The preview shows the specimen's pages; their text layer holds the caption and the cells.
    preview = drafter.get(f"/briefs/{brief.id}/preview").get_data(as_text=True)
    assert "表1 主要城市低空经济情况" in preview and "图1 各地低空经济规模" in preview
    pdf = drafter.get(f"/briefs/{brief.id}/preview.pdf")
    assert pdf.status_code == 200
    with pdfplumber.open(io.BytesIO(pdf.data)) as document:
        text = "".join(p.extract_text() for p in document.pages)
        pictures = [image for p in document.pages for image in p.images]
    assert "企业数量" in text and "1700" in text and "图1 各地低空经济规模" in text
    assert len(pictures) == 1 and pictures[0]["srcsize"] == (600, 360)
    # Centred and within the 156 mm text block (28 mm left margin).
    # 600 px at 96 dpi is wider than the 156 mm (442 pt) text block: scaled to it, inside the margins.
    assert pictures[0]["x1"] - pictures[0]["x0"] == pytest.approx(156 / 25.4 * 72, abs=1)
    assert pictures[0]["x0"] >= 26 / 25.4 * 72 - 1 and pictures[0]["x1"] <= 595.28 - 26 / 25.4 * 72 + 1


def test_a_long_table_repeats_its_header_row_on_the_next_page(app, make_brief):
    rows = "\n".join(f"| 第{i}行企业 | {i * 10} |" for i in range(1, 60))
    body = "表1 企业名单\n\n| 企业名称 | 产值（亿元） |\n|---|---|\n" + rows
    brief_id = make_brief(body=body)
    from publishing.services import pdf_renderer
    from rendering.printing import printed_issue_from_brief
    with app.app_context():
        data = pdf_renderer().render(printed_issue_from_brief(db.session.get(Brief, brief_id), specimen=True)).data
    with pdfplumber.open(io.BytesIO(data)) as document:
        pages = [p.extract_text() for p in document.pages]
    with_table = [p for p in pages if "行企业" in p]
    assert len(with_table) >= 2
    assert all("企业名称" in p and "产值（亿元）" in p for p in with_table)  # the header on each page


def test_import_from_the_command_line_prints_the_new_id(app, people, series_id, tmp_path):
    source = tmp_path / "draft.docx"
    source.write_bytes(ws.typed_docx())
    result = app.test_cli_runner().invoke(args=["brief", "import", str(source), "--as", "drafter",
                                                "--series", "领导参阅"])
    assert result.exit_code == 0, result.output
    brief = only_brief(app)
    assert result.output.strip().splitlines()[-1] == str(brief.id)
    assert brief.title == ws.TITLE and brief.author_id == people["drafter"]
    refused = app.test_cli_runner().invoke(args=["brief", "import", str(source), "--as", "editor"])
    assert refused.exit_code != 0 and counts(app)[0] == 1  # an editor creates no drafts


def test_heading_styles_are_read_at_their_level(app):
    document = Document()
    document.add_heading("关于推进数据要素市场化的建议", level=0)  # the Title style
    document.add_heading("总体情况", level=1)
    document.add_paragraph("正文第一段。")
    document.add_heading("具体举措", level=2)
    document.add_heading("深层问题", level=5)  # deeper levels are level 4
    out = io.BytesIO()
    document.save(out)
    draft = read_docx(out.getvalue(), "styles.docx")
    assert draft.title == "关于推进数据要素市场化的建议"
    assert draft.body.rstrip().split("\n\n")[:4] == ["# 总体情况", "正文第一段。", "## 具体举措", "#### 深层问题"]


# --- import as a new revision ---------------------------------------------------------------


def test_docx_import_on_a_brief_in_review_is_a_revision_shown_in_the_diff(app, login_as, make_brief):
    brief_id = make_brief(State.IN_REVIEW, body="当前，低空经济正成为各地竞相布局的新赛道。")
    editor = login_as("editor")
    page = editor.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert f'href="/briefs/{brief_id}/import-word"' in page
    form = editor.get(f"/briefs/{brief_id}/import-word").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', form).group(1)
    response = editor.post(f"/briefs/{brief_id}/import-word",
                           {"version": version, "file": (io.BytesIO(ws.typed_docx()), "修改稿.docx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/briefs/{brief_id}/changes")
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        assert brief.revision_number == 2 and brief.state == "in_review" and ws.AFTER_BREAK in brief.body
        assert brief.special_report == ["王建国书记", "李明代市长"]  # what the file does not hold stays
    changes = editor.get(f"/briefs/{brief_id}/changes").get_data(as_text=True)
    assert "<ins" in changes and "完善基础设施" in changes


def test_a_drafter_may_not_import_into_a_brief_in_review(app, login_as, make_brief):
    brief_id = make_brief(State.IN_REVIEW)
    drafter = login_as("drafter")
    before = counts(app)
    response = drafter.post(f"/briefs/{brief_id}/import-word",
                            {"version": "2", "file": (io.BytesIO(ws.typed_docx()), "x.docx")},
                            content_type="multipart/form-data")
    assert response.status_code == 409 or response.status_code == 403
    assert counts(app) == before
    page = drafter.get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert "/import-word" not in page  # no button for what can() refuses


def test_a_stale_revision_import_changes_nothing(app, login_as, make_brief):
    brief_id = make_brief(State.DRAFT)
    drafter = login_as("drafter")
    english(drafter)
    before = counts(app)
    response = drafter.post(f"/briefs/{brief_id}/import-word",
                            {"version": "99", "file": (io.BytesIO(ws.typed_docx()), "x.docx")},
                            content_type="multipart/form-data")
    assert response.status_code == 409 and "Someone else changed this brief" in response.get_data(as_text=True)
    assert counts(app) == before


# --- bad input -----------------------------------------------------------------------------


def _zip(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _with_members(data: bytes, extra: dict[str, bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    members = {info.filename: source.read(info) for info in source.infolist()}
    return _zip({**members, **extra})


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


@pytest.mark.parametrize("data, message", [
    (b"%PDF-1.7\n...", "is not a Word document (.docx)"),
    (OLE + b"WordDocument".decode().encode("utf-16-le") + b"\x00" * 600, "old Word 97–2003 document (.doc)"),
    (OLE + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 600, "protected by a password"),
    (_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<not-xml"}), "is damaged"),
    (_zip({"hello.txt": b"hi"}), "is not a Word document (.docx)"),
    (_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\0" * (250 * 1024 * 1024)}), "zip bomb"),
    (b"PK" + b"\x00" * (17 * 1024 * 1024), "larger than 16 MB"),
], ids=["pdf", "doc", "encrypted", "corrupt", "other-zip", "zip-bomb", "oversize"])
def test_bad_files_are_refused_clearly_and_leave_nothing(app, login_as, series_id, data, message):
    drafter = login_as("drafter")
    english(drafter)
    before = counts(app)
    response = upload_new(drafter, series_id, data, "稿件.docx")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True) and "稿件.docx" in response.get_data(as_text=True)
    assert counts(app) == before
    assert not [p for p in FILES_DIR.rglob("*") if p.is_file()]


def test_a_doc_says_how_to_resave(app, login_as, series_id):
    drafter = login_as("drafter")
    english(drafter)
    text = upload_new(drafter, series_id, OLE + b"\x00" * 600, "旧稿.doc").get_data(as_text=True)
    assert "save it as" in text and "Word Document (*.docx)" in text.replace("&#34;", '"').replace("&quot;", '"')


def test_macros_and_embedded_objects_are_ignored_and_reported(app, login_as, series_id):
    data = _with_members(ws.typed_docx(), {"word/vbaProject.bin": b"Attribute VB_Name",
                                           "word/embeddings/oleObject1.bin": b"\x00" * 100})
    drafter = login_as("drafter")
    english(drafter)
    response = upload_new(drafter, series_id, data)
    assert response.status_code == 302
    page = drafter.get(response.headers["Location"]).get_data(as_text=True)
    assert "macros (ignored, never run)" in page and "oleObject1.bin" in page
    brief = only_brief(app)
    assert brief.title == ws.TITLE
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import_word")).one()
        assert "macros" in event.reason and "oleObject1.bin" in event.reason


def test_a_picture_that_is_not_an_image_refuses_the_import_naming_it(app, login_as, series_id):
    good = ws.typed_docx()
    source = zipfile.ZipFile(io.BytesIO(good))
    members = {i.filename: source.read(i) for i in source.infolist()}
    picture = next(n for n in members if n.startswith("word/media/"))
    members[picture] = b"\x89PNG\r\n\x1a\n" + b"broken" * 100
    drafter = login_as("drafter")
    english(drafter)
    before = counts(app)
    response = upload_new(drafter, series_id, _zip(members))
    assert response.status_code == 422
    assert picture.rsplit("/", 1)[-1] in response.get_data(as_text=True)
    assert counts(app) == before


# --- images uploaded with a brief -------------------------------------------------------------


def _png(size=(800, 500), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (30, 90, 160)).save(out, "PNG")
    return out.getvalue()


def _jpeg_with_exif() -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (640, 480), (120, 20, 20))
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"  # Make
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def upload_image(client, brief_id: int, data: bytes, name: str, caption: str = "图1 示意图"):
    version = str(__import__("tests.conftest", fromlist=["brief_version"]).brief_version(client.app, brief_id))
    return client.post(f"/briefs/{brief_id}/images",
                       {"version": version, "caption": caption, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_an_uploaded_image_is_re_encoded_stored_and_referenced(app, login_as, make_brief):
    brief_id = make_brief()
    drafter = login_as("drafter")
    edit = drafter.get(f"/briefs/{brief_id}/edit").get_data(as_text=True)
    assert f'action="/briefs/{brief_id}/images"' in edit
    response = upload_image(drafter, brief_id, _jpeg_with_exif(), "photo.jpg", "图1 现场照片")
    assert response.status_code == 302
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        row = db.session.scalars(select(StoredFile).where(StoredFile.kind == "image")).one()
        assert brief.revision_number == 2 and brief.body.rstrip().endswith(f"![图1 现场照片](image:{row.sha256})")
        stored = file_store().read_verified(row.path, row.sha256)
    assert b"SecretCamera" not in stored  # only the pixels were kept
    assert Image.open(io.BytesIO(stored)).size == (640, 480)


@pytest.mark.parametrize("data, name, message", [
    (b"<svg onload=alert(1)>", "evil.svg", "is not an image that can be read"),
    (b"\x01\x00\x00\x00" + b"\x00" * 36 + b" EMF" + b"\x00" * 200, "chart.emf", "EMF/WMF"),
    (b"\x00" * (11 * 1024 * 1024), "huge.png", "larger than 10 MB"),
], ids=["svg", "broken-emf", "oversize"])
def test_bad_images_are_refused_naming_them(app, login_as, make_brief, data, name, message):
    brief_id = make_brief()
    drafter = login_as("drafter")
    english(drafter)
    before = counts(app)
    response = upload_image(drafter, brief_id, data, name)
    page = drafter.get(response.headers["Location"]).get_data(as_text=True)
    assert message in page and name in page
    assert counts(app) == before


def test_a_decompression_bomb_is_refused_before_decoding(app, login_as, make_brief):
    # A small PNG whose header claims 20000 × 20000 pixels (400 megapixels).
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")
    assert len(out.getvalue()) < 2 * 1024 * 1024
    brief_id = make_brief()
    drafter = login_as("drafter")
    english(drafter)
    before = counts(app)
    page = drafter.get(upload_image(drafter, brief_id, out.getvalue(), "bomb.png").headers["Location"])
    assert "too many pixels to be read safely" in page.get_data(as_text=True) and "bomb.png" in page.get_data(as_text=True)
    assert counts(app) == before


def test_images_are_in_the_backup(app, login_as, make_brief, tmp_path):
    brief_id = make_brief()
    drafter = login_as("drafter")
    upload_image(drafter, brief_id, _png(), "chart.png")
    backup = tmp_path / "b.tar"
    result = app.test_cli_runner().invoke(args=["backup", "create", "-o", str(backup)])
    assert result.exit_code == 0, result.output
    import tarfile
    with app.app_context():
        row = db.session.scalars(select(StoredFile).where(StoredFile.kind == "image")).one()
    with tarfile.open(backup) as archive:
        assert any(name.endswith(row.path) for name in archive.getnames())


def test_who_may_upload_an_image_is_can_edit(app, login_as, make_brief):
    brief_id = make_brief(State.AWAITING_SIGNOFF)
    before = counts(app)
    for who in ("drafter", "editor"):
        response = upload_image(login_as(who), brief_id, _png(), "chart.png")
        assert response.status_code in (403, 409)
    assert counts(app) == before


def test_an_image_reference_to_an_unknown_hash_shows_its_caption_only(app, make_brief, login_as):
    brief_id = make_brief(body="正文。\n\n![图9 不存在](image:" + "0" * 64 + ")\n\n![x](http://169.254.169.254/a.png)")
    page = login_as("drafter").get(f"/briefs/{brief_id}").get_data(as_text=True)
    body = page[page.index("正文。"):]
    assert "[图9 不存在]" in body and "<img" not in body and "169.254.169.254/a.png)" in body


# --- search and diff ---------------------------------------------------------------------------


def test_table_text_is_searchable(app, make_brief):
    from archive.search import SYSTEM, search
    brief_id = make_brief(State.PUBLISHED, body="表1 名单\n\n| 城市 | 企业 |\n|---|---|\n| 鼋头渚 | 九章智算 |")
    with app.app_context():
        assert [h.brief.id for h in search(db.session, SYSTEM, "九章智算").hits] == [brief_id]


def test_a_changed_cell_shows_as_a_change(app, login_as, make_brief):
    from rendering.diff import diff_fields
    old = {"body": "| 城市 | 规模 |\n|---|---|\n| 深圳 | 960 |"}
    new = {"body": "| 城市 | 规模 |\n|---|---|\n| 深圳 | 980 |"}
    (diff,) = diff_fields(old, new, [("body", "正文")])
    assert diff.changed
    assert [(str(op.op), op.text) for op in diff.ops if str(op.op) != str(diff.ops[0].op)] != []
    removed_added = {op.text for op in diff.ops if op.text in ("6", "8")}
    assert removed_added == {"6", "8"}  # 960 → 980: the changed digit, in the changed cell


# --- export and the round trip ------------------------------------------------------------------


def test_word_export_of_a_published_issue_and_the_round_trip(app, login_as, series_id, make_brief):
    drafter = login_as("drafter")
    upload_new(drafter, series_id, ws.typed_docx())
    draft = only_brief(app)
    # The draft's export is a 样稿 without numbers.
    response = drafter.get(f"/briefs/{draft.id}/brief.docx")
    assert response.status_code == 200 and response.mimetype == DOCX
    assert "样稿" in response.headers["Content-Disposition"].encode("latin-1").decode("utf-8") or \
        "%E6%A0%B7%E7%A8%BF" in response.headers["Content-Disposition"]
    document = Document(io.BytesIO(response.data))
    header_text = "".join(p.text for p in document.sections[0].header.paragraphs)
    assert "样稿" in header_text
    texts = [p.text for p in document.paragraphs]
    assert "第\u3000期（总第\u3000期）" in texts

    again = read_docx(response.data, "export.docx")
    assert (again.title, again.author_line, again.body) == (draft.title, draft.author_line, draft.body)
    with app.app_context():
        stored = db.session.scalars(select(StoredFile).where(StoredFile.kind == "image")).one()
        original = file_store().read_verified(stored.path, stored.sha256)
    assert [image.data for image in again.images] == [original]


def test_exported_docx_names_the_official_faces_and_the_page(app, make_brief):
    brief_id = make_brief(State.PUBLISHED, issue_date=__import__("datetime").date(2026, 3, 2))
    with app.app_context():
        data = brief_as_docx(db.session, file_store(), db.session.get(Brief, brief_id), None)
    document = Document(io.BytesIO(data))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(x.mm) for x in (section.top_margin, section.bottom_margin, section.left_margin,
                                   section.right_margin)] == [37, 35, 28, 26]
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/styles.xml").decode()
    for face in ("仿宋_GB2312", "方正小标宋简体", "黑体", "楷体_GB2312"):
        assert f'w:eastAsia="{face}"' in xml
    normal = document.styles["Normal"]
    assert normal.font.size.pt == 16 and normal.paragraph_format.line_spacing.pt == pytest.approx(28.9, abs=0.05)
    texts = [p.text for p in document.paragraphs]
    assert "第1期（总第31期）" in texts and any(t.startswith("本期专报：王建国书记、李明代市长") for t in texts)
    assert any("共印：30 份" in t for t in texts)
    masthead = next(p for p in document.paragraphs if p.style.name == "Canyue Masthead")
    assert masthead.text == "领导参阅" and str(masthead.style.font.color.rgb) == "E60012"
    footer = zipfile.ZipFile(io.BytesIO(data)).read("word/footer1.xml").decode()
    assert "PAGE" in footer and "— " in footer
    assert section.even_page_footer.paragraphs[0].alignment != section.footer.paragraphs[0].alignment
    # The import skips what the masthead styles mark.
    draft = read_docx(data, "issue.docx")
    blocks = draft.body.rstrip().split("\n\n")
    assert "领导参阅" not in blocks and "共印" not in draft.body and "本期专报" not in draft.body
    assert not any(b.startswith("第") and "期（总第" in b for b in blocks) and draft.author_line == "苏州太湖智库"


def test_export_from_the_command_line(app, make_brief, tmp_path):
    brief_id = make_brief(State.PUBLISHED)
    target = tmp_path / "issue.docx"
    result = app.test_cli_runner().invoke(args=["brief", "export", str(brief_id), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert read_docx(target.read_bytes(), "issue.docx").title == "关于加快我市低空经济产业发展的几点建议"


def test_configured_face_names_are_written(app, make_brief):
    brief_id = make_brief()
    with app.app_context():
        data = brief_as_docx(db.session, file_store(), db.session.get(Brief, brief_id), None,
                             {"fangsong": "FangSong"})
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/styles.xml").decode()
    assert 'w:eastAsia="FangSong"' in xml and 'w:eastAsia="仿宋_GB2312"' not in xml


def test_export_is_refused_to_who_may_not_read(app, login_as, make_brief):
    brief_id = make_brief()
    assert login_as("drafter2").get(f"/briefs/{brief_id}/brief.docx").status_code == 404
    assert login_as("editor").get(f"/briefs/{brief_id}/brief.docx").status_code == 404  # a draft


def test_a_refused_revision_import_leaves_the_brief_as_it_was(app, login_as, make_brief):
    from docx.shared import Pt

    from workflows.limits import TITLE_LENGTH
    document = Document()
    title = document.add_paragraph()
    title.add_run("关于" * TITLE_LENGTH).font.size = Pt(22)
    document.add_paragraph("正文。")
    document.add_picture(io.BytesIO(ws.chart_png()))
    out = io.BytesIO()
    document.save(out)
    brief_id = make_brief()
    drafter = login_as("drafter")
    english(drafter)
    before = counts(app)
    body_before = only_brief(app).body
    response = drafter.post(f"/briefs/{brief_id}/import-word",
                            {"version": str(brief_version(app, brief_id)),
                             "file": (io.BytesIO(out.getvalue()), "长标题.docx")},
                            content_type="multipart/form-data")
    assert response.status_code == 422 and "Title：It is longer than 200 characters" in response.get_data(as_text=True)
    assert counts(app) == before and only_brief(app).body == body_before
    assert not [p for p in FILES_DIR.rglob("*") if p.is_file()]  # not even an orphan image file


def test_pictures_and_tables_inside_cells_are_reported_as_left_out():
    document = Document()
    document.add_paragraph("正文。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "项目"
    table.cell(0, 1).text = "图示"
    table.cell(1, 0).text = "产值"
    table.cell(1, 1).paragraphs[0].add_run().add_picture(io.BytesIO(ws.chart_png()))
    table.cell(1, 0).add_table(rows=1, cols=1).cell(0, 0).text = "内嵌"
    out = io.BytesIO()
    document.save(out)
    draft = read_docx(out.getvalue(), "cells.docx")
    assert {item.message for item in draft.ignored} == {"pictures inside table cells (left out)",
                                                         "tables inside table cells (left out)"}
    assert "| 项目 | 图示 |" in draft.body and not draft.images


def test_tracked_changes_import_as_the_text_now_reads():
    from docx.oxml import parse_xml
    document = Document()
    paragraph = document.add_paragraph("加快")
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    paragraph._p.append(parse_xml(f'<w:del {w} w:id="1" w:author="李青"><w:r><w:delText>编制</w:delText></w:r></w:del>'))
    paragraph._p.append(parse_xml(f'<w:ins {w} w:id="2" w:author="李青"><w:r><w:t>制定</w:t></w:r></w:ins>'))
    paragraph.add_run("发展规划。")
    out = io.BytesIO()
    document.save(out)
    assert read_docx(out.getvalue(), "tracked.docx").body.strip() == "加快制定发展规划。"
