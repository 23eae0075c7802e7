"""Files from outside: brief files (YAML alias bombs, size, the body's and the fields' limits,
control characters) and original PDFs (active content) are refused with their reason and leave
nothing behind — no row, no stored file."""

from __future__ import annotations

import html
import io
import time

import pytest
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)
from sqlalchemy import func, select

from archive.pdfcheck import PdfRefused, check_original_pdf
from extensions import db
from jobs.worker import drain
from models import AuditEvent, Brief, StoredFile
from publishing.brieffile import BriefFileError, parse_brief_file
from tests.conftest import FILES_DIR
from tests.test_archive import PAST_ISSUE
from tests.test_inputs_text import chinese
from workflows.limits import BODY_LENGTH, BRIEF_FILE_BYTES, KEYWORDS_TEXT_LENGTH


@pytest.fixture(autouse=True)
def as_served(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield
    app.config["PROPAGATE_EXCEPTIONS"] = None


def good_file(**fields) -> str:
    text = PAST_ISSUE.format(issue=fields.pop("issue", 3), total=fields.pop("total", 31),
                             date=fields.pop("date", "2022-01-28"))
    for key, value in fields.items():
        text = text.replace(f"\n{key}: ", f"\n{key}: {value}\n#", 1) if f"\n{key}: " in text else text.replace(
            "\n---\n", f"\n{key}: {value}\n---\n", 1)
    return text


def nothing_kept(app) -> None:
    with app.app_context():
        assert db.session.scalar(select(func.count(Brief.id))) == 0
        assert db.session.scalar(select(func.count(StoredFile.id))) == 0
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.subject_type != "security")) == 0
    assert not [p for p in FILES_DIR.rglob("*") if p.is_file()]


def upload(login_as, *files: tuple[bytes, str]):
    return login_as("archivist").post("/archive/import", {"files": [(io.BytesIO(d), n) for d, n in files]},
                                      content_type="multipart/form-data")


def alias_bomb(levels: int, width: int = 9) -> str:
    """keywords as nested aliases: width**levels items from a few hundred bytes."""
    lines = [f"&l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"&l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "[" + ", ".join(lines) + "]"


# --- Brief files ------------------------------------------------------------------------------------


def test_a_yaml_alias_bomb_is_refused_at_once(app, series_id, people, login_as):
    text = good_file(keywords=alias_bomb(6))  # 531,441 keywords from ~300 bytes of YAML
    started = time.monotonic()
    with pytest.raises(BriefFileError, match="anchors or aliases"):
        parse_brief_file(text)
    response = upload(login_as, (text.encode(), "bomb.md"))
    assert time.monotonic() - started < 5
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert chinese(app, "the front matter may not use YAML anchors or aliases (& and *): line %(line)d",
                   line=13) in page
    nothing_kept(app)


@pytest.mark.parametrize("yaml_value", ["&k 低空经济", "[&k 低空经济, *k]"])
def test_any_anchor_is_refused(yaml_value):
    with pytest.raises(BriefFileError, match="anchors or aliases"):
        parse_brief_file(good_file(keywords=yaml_value))


def test_deeply_nested_yaml_is_refused(app):
    with pytest.raises(BriefFileError):
        parse_brief_file(good_file(keywords="[" * 5000 + "]" * 5000))


def test_keywords_beyond_their_limit_are_refused(app, series_id, people, login_as):
    keywords = "[" + ", ".join(["低空经济产业"] * 60) + "]"  # 419 characters as typed
    response = upload(login_as, (good_file(keywords=keywords).encode(), "many.md"))
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "'keywords'" in page and str(KEYWORDS_TEXT_LENGTH) in page
    nothing_kept(app)


def test_a_body_beyond_its_limit_is_refused(app, series_id, people, login_as):
    text = good_file() + "\n" + "长" * BODY_LENGTH
    assert len(text.encode()) < BRIEF_FILE_BYTES
    response = upload(login_as, (text.encode(), "long.md"))
    assert response.status_code == 422
    assert str(BODY_LENGTH) in response.get_data(as_text=True)
    nothing_kept(app)


def test_a_file_beyond_its_size_is_refused(app, series_id, people, login_as, tmp_path):
    text = good_file() + "\n" + "a" * BRIEF_FILE_BYTES
    response = upload(login_as, (text.encode(), "huge.md"))
    assert response.status_code == 422
    assert str(BRIEF_FILE_BYTES // 1000) in response.get_data(as_text=True)
    (tmp_path / "huge.md").write_text(text, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["archive", "import", str(tmp_path), "--as", "archivist"])
    assert result.exit_code == 1 and "larger than" in result.output
    nothing_kept(app)


@pytest.mark.parametrize("where", ["title", "body"])
def test_a_nul_in_a_brief_file_is_refused_naming_its_line(app, series_id, people, login_as, where):
    text = good_file()
    text = text.replace("文旅深度融合", "文旅\x00深度融合") if where == "title" else text.replace("统筹推进", "统筹\x00推进")
    response = upload(login_as, (text.encode(), "nul.md"))
    assert response.status_code == 422
    line = text[:text.index("\x00")].count("\n") + 1
    problem = chinese(app, "It contains control characters (%(codes)s), which cannot be stored.", codes="U+0000")
    assert chinese(app, "line %(line)d: %(problem)s", line=line, problem=problem) in response.get_data(as_text=True)
    nothing_kept(app)


def test_a_title_longer_than_its_column_is_refused(app, series_id, people, login_as):
    response = upload(login_as, (good_file().replace("关于推动我市", "关于" * 120).encode(), "t.md"))
    assert response.status_code == 422 and "'title'" in html.unescape(response.get_data(as_text=True))
    nothing_kept(app)


def test_a_huge_print_run_is_refused(app):
    with pytest.raises(BriefFileError, match="'copies'"):
        parse_brief_file(good_file().replace("copies: 40", "copies: 100000000000000000000"))


def test_a_good_file_still_imports(app, series_id, people, login_as):
    response = upload(login_as, (good_file().encode(), "2022-03.md"))
    assert response.status_code == 302 and [outcome for _, outcome in drain(app)] == ["done"]
    assert "Z001-WS·2022-Y-0001" in login_as("archivist").get(response.location).get_data(as_text=True)


# --- Original PDFs ----------------------------------------------------------------------------------


def blank_pdf(change=None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if change is not None:
        change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _open_action(kind: str):
    def change(writer: PdfWriter) -> None:
        action = DictionaryObject({NameObject("/S"): NameObject(kind)})
        if kind == "/JavaScript":
            action[NameObject("/JS")] = TextStringObject("app.alert('x')")
        else:
            action[NameObject("/F")] = TextStringObject("calc.exe")
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    return change


def _rich_media(writer: PdfWriter) -> None:
    annotation = DictionaryObject({NameObject("/Type"): NameObject("/Annot"),
                                   NameObject("/Subtype"): NameObject("/RichMedia"),
                                   NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4)})
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])


def _document_js(writer: PdfWriter) -> None:
    script = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                               NameObject("/JS"): TextStringObject("app.alert('x');")})
    tree = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("x"), writer._add_object(script)])})
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): writer._add_object(tree)})


def _xfa(writer: PdfWriter) -> None:
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({
        NameObject("/Fields"): ArrayObject(), NameObject("/XFA"): TextStringObject("<xdp/>")})


def hand_made(objects: list[bytes], indexed: int | None = None) -> bytes:
    """A PDF written by hand, objects numbered from 1; only the first `indexed` are in its
    cross-reference table (the others are there but nothing points to them)."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj " % number + body + b" endobj\n"
    count = len(objects) if indexed is None else indexed
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (count + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets[:count])
    out += b"trailer << /Root 1 0 R /Size %d >>\nstartxref\n%d\n%%%%EOF\n" % (count + 1, xref)
    return bytes(out)


PAGES = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
         b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
ESCAPED = hand_made([b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", *PAGES[1:],
                     b"<< /S /Java#53cript /J#53 (app.alert(1)) >>"])
UNREFERENCED = hand_made([*PAGES, b"<< /S /Launch /F (calc.exe) >>"], indexed=3)


ACTIVE = {
    "OpenAction JavaScript": (blank_pdf(_open_action("/JavaScript")), "JavaScript"),
    "document JavaScript": (blank_pdf(_document_js), "JavaScript"),
    "Launch": (blank_pdf(_open_action("/Launch")), "Launch"),
    "embedded file": (blank_pdf(lambda w: w.add_attachment("payload.exe", b"MZ")), "EmbeddedFile"),
    "RichMedia": (blank_pdf(_rich_media), "RichMedia"),
    "XFA": (blank_pdf(_xfa), "XFA"),
    "escaped names": (ESCAPED, "JavaScript"),
    "an object nothing points to": (UNREFERENCED, "Launch"),
}


@pytest.mark.parametrize("name", list(ACTIVE))
def test_a_pdf_with_active_content_is_refused(name):
    data, kind = ACTIVE[name]
    with pytest.raises(PdfRefused) as refused:
        check_original_pdf(data)
    assert refused.value.kind == "active" and kind in refused.value.detail


def test_a_plain_pdf_passes():
    assert check_original_pdf(blank_pdf()) == 1
    assert check_original_pdf(hand_made(PAGES)) == 1


@pytest.mark.parametrize("name", ["OpenAction JavaScript", "embedded file", "XFA"])
def test_an_import_with_an_active_pdf_is_refused_with_the_reason(app, series_id, people, login_as, name):
    data, kind = ACTIVE[name]
    response = upload(login_as, (good_file().encode(), "2022-03.md"), (data, "2022-03.pdf"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert kind in page and chinese(app, (
        "the PDF contains active content (%(detail)s), which an archive must not keep: save it without scripts, "
        "attachments, media or forms (for instance printed to PDF/A-1b or PDF/A-2b) and import it again"),
        detail=kind) in page
    nothing_kept(app)


def test_an_import_with_a_plain_pdf_keeps_it(app, series_id, people, login_as):
    data = blank_pdf()
    response = upload(login_as, (good_file().encode(), "2022-03.md"), (data, "2022-03.pdf"))
    assert response.status_code == 302 and [outcome for _, outcome in drain(app)] == ["done"]
    with app.app_context():
        brief = db.session.scalar(select(Brief))
        assert (FILES_DIR / brief.master.path).read_bytes() == data


def test_not_a_pdf_is_refused(app, series_id, people, login_as):
    response = upload(login_as, (good_file().encode(), "2022-03.md"), (b"GIF89a not a pdf", "2022-03.pdf"))
    assert response.status_code == 422
    nothing_kept(app)
