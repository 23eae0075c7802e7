"""The honest preview (issue 10): what the signer looks at before signing is the issue as it will
print — its pages, folios and colophon from the very PDF, and the 共印 that publishing will
print for the brief's distribution list as it stands now, in the HTML preview and the 样稿."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from extensions import db
from models import Brief, DistributionEntry, Recipient, StoredFile
from publishing.brieffile import parse_brief_file
from tests.conftest import FILES_DIR, RUNTIME_DIR, fetch
from tests.test_distribution import directory  # noqa: F401 (a fixture)
from workflows import distribution as lists
from workflows.brief import State

ROOT = Path(__file__).resolve().parents[1]
# The demo brief: ten pages in the official format.
LONG_BODY = parse_brief_file((ROOT / "demo" / "briefs" / "ai-manufacturing.md").read_text(encoding="utf-8")).body


def printed_run(data: bytes) -> int:
    """共印 N 份 as the PDF's text says it."""
    text = "".join("".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)
    found = re.findall(r"共印：(\d+)份", text)
    assert len(found) == 1, found
    return int(found[0])


def master_bytes(app, brief_id) -> bytes:
    with app.app_context():
        row = db.session.scalar(select(StoredFile).where(StoredFile.brief_id == brief_id, StoredFile.kind == "master"))
        return (FILES_DIR / row.path).read_bytes()


def publish_over_http(app, client, brief_id):
    response = client.post(f"/briefs/{brief_id}/publish",
                           {"issue_date": "2026-11-20", "version": str(fetch(app, brief_id).version)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def preview_run(client, brief_id) -> int:
    page = client.get(f"/briefs/{brief_id}/preview?lang=en")
    assert page.status_code == 200
    return int(re.search(r'data-print-run="(\d+)"', page.get_data(as_text=True)).group(1))


def entry_ids(app, brief_id, category):
    with app.app_context():
        return [e.id for e in lists.entries_of(db.session, brief_id) if e.category == category]


@pytest.mark.parametrize("edit", ["series default list", "edited list"])
def test_the_specimen_prints_the_共印_publishing_will_print(app, directory, make_brief, login_as, edit):  # noqa: F811
    brief_id = make_brief(State.SIGNED, special_report=[])
    signer, editor = login_as("signer"), login_as("editor")
    # The series' default list: 3 专报 + 2 + 1 报 + 1 + 1 送 + 3 发 = 11 copies (not the series' 30).
    expected = 11
    assert printed_run(signer.get(f"/briefs/{brief_id}/preview.pdf").data) == expected
    if edit == "edited list":
        send = entry_ids(app, brief_id, "送")
        response = editor.post(f"/briefs/{brief_id}/distribution/{send[0]}/remove",
                               {"version": str(fetch(app, brief_id).version)})
        assert response.status_code == 302
        with app.app_context():  # and the 发 line goes from 3 copies to 7
            entry = db.session.get(DistributionEntry, entry_ids(app, brief_id, "发")[0])
            lists.update_entry(db.session, db.session.get(Brief, brief_id), entry, copies=7, medium="printed")
            db.session.commit()
        expected = 11 - 1 + 4
        # The specimen made for the old list is not served for the new one.
        assert printed_run(signer.get(f"/briefs/{brief_id}/preview.pdf").data) == expected
    assert preview_run(signer, brief_id) == expected
    publish_over_http(app, editor, brief_id)
    assert fetch(app, brief_id).print_run == expected
    assert printed_run(master_bytes(app, brief_id)) == expected


def test_a_new_series_list_changes_the_specimen_of_a_brief_that_follows_it(app, series_id, make_brief, login_as):
    """A brief without 报 / 送 / 发 lines of its own prints the series' default run while the
    series has no list; once the series has one, only the 专报 copies are made. The brief's
    version does not change, so the specimen's cache key carries the print run."""
    brief_id = make_brief(State.SIGNED)  # 本期专报: two names, no series list
    signer = login_as("signer")
    assert printed_run(signer.get(f"/briefs/{brief_id}/preview.pdf").data) == 30
    version = fetch(app, brief_id).version
    with app.app_context():
        recipient = Recipient(name="市委办公室", title="", organisation="中共苏州市委", category="报", default_copies=1)
        db.session.add(recipient)
        db.session.flush()
        lists.replace_series_list(db.session, series_id, [(recipient.id, "报", 1, "printed")])
        db.session.commit()
    assert fetch(app, brief_id).version == version
    assert printed_run(signer.get(f"/briefs/{brief_id}/preview.pdf").data) == 2
    assert preview_run(signer, brief_id) == 2
    publish_over_http(app, login_as("editor"), brief_id)
    assert printed_run(master_bytes(app, brief_id)) == 2


def preview_pages(client, brief_id):
    """The preview's pages: (number, image URL, [(x, baseline, width, size, text)…], viewBox size)."""
    html = client.get(f"/briefs/{brief_id}/preview?lang=en").get_data(as_text=True)
    pages = []
    for figure in re.findall(r'<figure class="preview-page".*?</figure>', html, re.S):
        number = int(re.search(r'data-page="(\d+)"', figure).group(1))
        src = re.search(r'<img src="([^"]+)"', figure).group(1).replace("&amp;", "&")
        width, height = map(float, re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', figure).groups())
        lines = [(float(x), float(y), float(w), float(size), text) for x, y, size, w, text in re.findall(
            r'<text x="([\d.]+)" y="([\d.]+)" font-size="([\d.]+)" textLength="([\d.]+)"[^>]*>([^<]*)</text>', figure)]
        pages.append((number, src, lines, (width, height)))
    return html, pages


def test_the_html_preview_shows_the_pages_as_they_will_print(app, make_brief, login_as):
    brief_id = make_brief(State.AWAITING_SIGNOFF, body=LONG_BODY)
    signer = login_as("signer")
    html, pages = preview_pages(signer, brief_id)
    specimen = signer.get(f"/briefs/{brief_id}/preview.pdf").data
    reader = PdfReader(io.BytesIO(specimen))
    # One page of the preview per page of the specimen, in order, sized as the PDF's pages.
    assert [p[0] for p in pages] == list(range(1, len(reader.pages) + 1)) and len(pages) >= 2
    for (number, src, lines, (width, height)), pdf_page in zip(pages, reader.pages, strict=True):
        assert (round(width), round(height)) == (round(float(pdf_page.mediabox.width)),
                                                 round(float(pdf_page.mediabox.height)))
        image = signer.get(src)
        assert image.status_code == 200 and image.mimetype == "image/png"
        assert image.headers["Cache-Control"] == "private, no-store"
        picture = Image.open(io.BytesIO(image.data))
        assert abs(picture.width / picture.height - width / height) < 0.01 and picture.width >= 1200
        # The page's text is the PDF page's text, but for the 样稿 mark drawn across it (which
        # the caption says instead of breaking a sentence of the text layer).
        assert "".join(t for *_, t in lines).replace(" ", "") == "".join(pdf_page.extract_text().split()).replace(
            "样稿", "")
        # The folio, "— N —", on the outer side: right on odd pages, left on even ones.
        folio = [line for line in lines if re.fullmatch(rf"[—\-]\s*{number}\s*[—\-]", line[4])]
        assert len(folio) == 1, [line[4] for line in lines][-3:]
        x, y, w, _h, _t = folio[0]
        assert y > 0.9 * height
        assert (x + w / 2 > width / 2) == (number % 2 == 1)
    # The colophon at the foot of the last page, below the body's last line.
    last_lines = pages[-1][2]
    colophon = [line for line in last_lines if "共印" in line[4]][0]
    assert colophon[1] > 0.8 * pages[-1][3][1]
    assert all(line[1] <= colophon[1] for line in last_lines if "共印" not in line[4] and "—" not in line[4])
    assert html.count("<figcaption>样稿 · ") == len(pages) and "关于加快我市低空经济产业发展的几点建议" in "".join(t for *_, t in pages[0][2])
    # The page scales to the screen: no fixed width anywhere on the page or in its stylesheet.
    css = signer.get("/static/preview.css").get_data(as_text=True)
    assert "794px" not in css and "max-width: 100%" in css and "style=" not in html


def test_the_preview_and_the_specimen_share_one_render(app, people, make_brief, login_as):
    brief_id = make_brief(State.AWAITING_SIGNOFF)
    signer = login_as("signer")
    _html, pages = preview_pages(signer, brief_id)
    for _number, src, _lines, _size in pages:
        assert signer.get(src).status_code == 200
    assert signer.get(f"/briefs/{brief_id}/preview.pdf").status_code == 200
    assert signer.get(f"/briefs/{brief_id}/preview?lang=en").status_code == 200
    renders = (RUNTIME_DIR / "throttle" / f"specimen-renders-{people['signer']}").read_text().split()
    assert len(renders) == 1


def test_page_images_are_checked_like_the_brief(app, make_brief, login_as):
    brief_id = make_brief(State.AWAITING_SIGNOFF)
    signer = login_as("signer")
    _html, pages = preview_pages(signer, brief_id)
    src = pages[0][1]
    # Someone who may not read the brief gets nothing, not even from the cache.
    assert login_as("drafter2").get(src).status_code == 404
    assert login_as("drafter2").get(f"/briefs/{brief_id}/preview").status_code == 404
    assert login_as("auditor").get(src).status_code == 404
    # A page beyond the last, or of a version the brief no longer has, is not served.
    assert signer.get(src.replace("page-1.png", f"page-{len(pages) + 1}.png")).status_code == 404
    assert signer.get(src.replace("page-1.png", "page-0.png")).status_code == 404
    assert signer.act(brief_id, "send_back", comment="再改改").status_code == 302
    assert signer.get(f"/briefs/{brief_id}").status_code == 200  # still readable, but that version is gone
    assert signer.get(src).status_code == 404


def test_a_published_issue_previews_as_its_archival_pdf(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 3, 2))
    client = login_as("drafter2")  # any account reads a published issue
    html, pages = preview_pages(client, brief_id)
    master = PdfReader(io.BytesIO(master_bytes(app, brief_id)))
    assert len(pages) == len(master.pages)
    text = "".join(t for p in pages for *_, t in p[2]).replace(" ", "")
    assert "第1期（总第31期）" in text and "样稿" not in text and "共印：30份" in text
    assert client.get(pages[-1][1]).status_code == 200
    assert "issue.pdf" in html


def test_the_preview_counts_against_the_render_allowance_like_the_specimen(app, make_brief, login_as):
    saved = app.config["CANYUE_PREVIEW_RENDERS"]
    app.config["CANYUE_PREVIEW_RENDERS"] = 1
    try:
        first, second = make_brief(State.DRAFT), make_brief(State.DRAFT, title="另一篇稿件")
        client = login_as("drafter")
        assert client.get(f"/briefs/{first}/preview?lang=en").status_code == 200
        for _ in range(3):  # reopening what was made is never refused
            assert client.get(f"/briefs/{first}/preview?lang=en").status_code == 200
        refused = client.get(f"/briefs/{second}/preview?lang=en")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        page = refused.get_data(as_text=True)
        assert "已达上限" in page and "已生成的样稿可随时打开" in page and "Traceback" not in page
    finally:
        app.config["CANYUE_PREVIEW_RENDERS"] = saved
