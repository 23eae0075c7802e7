"""Publishing renders and stores the archival PDF as steps of the one pipeline: its fixity is
recorded, downloads re-check it, and a failure anywhere leaves nothing behind."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, select

from extensions import db
from models import AuditEvent, Brief, StoredFile
from publishing.brieffile import parse_brief_file
from publishing.storage import sha256_of
from tests.conftest import FILES_DIR, fetch
from workflows.brief import State


def master(app, brief_id):
    with app.app_context():
        row = db.session.scalar(select(StoredFile).where(StoredFile.brief_id == brief_id, StoredFile.kind == "master"))
        if row is not None:
            db.session.expunge(row)
        return row


def text_of(data: bytes) -> str:
    """The PDF's text without white space (the masthead and watermark are letter-spaced)."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return "".join(text.split())


def publish_over_http(app, login_as, brief_id, issue_date="2026-11-20"):
    return login_as("editor").post(
        f"/briefs/{brief_id}/publish", {"issue_date": issue_date, "version": str(fetch(app, brief_id).version)}
    )


def test_publishing_stores_the_archival_pdf_with_its_fixity(app, make_brief):
    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 3, 2), supplement=True)
    row = master(app, brief_id)
    assert row is not None and row.kind == "master"
    path = FILES_DIR / row.path
    # Stored under its own SHA-256; the readable series/year/number name is how it downloads.
    assert row.path == f"sha256/{row.sha256[:2]}/{row.sha256}.pdf"
    assert row.name == f"issues/{fetch(app, brief_id).series_id}/2026/regular-001-0031.pdf"
    data = path.read_bytes()
    assert row.sha256 == sha256_of(data) and row.size == len(data)
    reader = PdfReader(io.BytesIO(data))
    assert row.pages == len(reader.pages) >= 1
    text = text_of(data)
    assert "第1期（总第31期）" in text and "（增刊）" in text and "2026年3月2日" in text
    assert "关于加快我市低空经济产业发展的几点建议" in text
    assert "共印：30" in text  # the series' default print run until distribution lands


def test_the_pdf_carries_the_source_the_record_and_the_audit_head(app, make_brief):
    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 3, 2))
    reader = PdfReader(FILES_DIR / master(app, brief_id).path)
    attachments = reader.attachments
    source = parse_brief_file(attachments["brief.md"][0].decode())
    assert source.meta["issue"] == 1 and source.meta["total"] == 31 and source.meta["date"] == date(2026, 3, 2)
    assert source.meta["editor"] == "李青" and source.meta["signer"] == "王志远"
    record = json.loads(attachments["record.json"][0])
    assert record["signed"]["signer"] == "王志远" and record["approved"]["editor"] == "李青"
    brief = fetch(app, brief_id)
    with app.app_context():
        publication = db.session.scalar(select(AuditEvent).where(AuditEvent.brief_id == brief_id,
                                                                 AuditEvent.action == "publish"))
    # The head as it stood before the publish move, which the move's event links to.
    assert reader.metadata.get("/canyue-audit-head") == publication.prev_hash == record["audit_head"]
    assert publication.prev_hash != brief.audit_head
    assert reader.metadata.title == brief.title


def test_download_serves_the_file_while_it_matches(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED)
    client = login_as("drafter2")  # any account reads a published issue
    response = client.get(f"/briefs/{brief_id}/issue.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert sha256_of(response.data) == master(app, brief_id).sha256
    assert "attachment" not in response.headers["Content-Disposition"]


@pytest.mark.parametrize("damage", ["changed", "missing"])
def test_a_tampered_or_missing_file_is_refused(app, make_brief, login_as, damage):
    brief_id = make_brief(State.PUBLISHED)
    path = FILES_DIR / master(app, brief_id).path
    if damage == "changed":
        path.write_bytes(path.read_bytes() + b"%tampered")
    else:
        path.unlink()
    response = login_as("archivist").get(f"/briefs/{brief_id}/issue.pdf")
    assert response.status_code == 409
    assert response.mimetype == "text/html" and b"%PDF" not in response.data


def test_a_failed_render_rolls_the_whole_publish_back(app, make_brief, login_as, monkeypatch):
    from rendering.pdf import PdfRenderer

    brief_id = make_brief(State.SIGNED)

    def broken(self, issue, **kwargs):
        raise OSError("font file unreadable")

    monkeypatch.setattr(PdfRenderer, "render", broken)
    response = publish_over_http(app, login_as, brief_id)
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "PDF" in page and "签发" in page  # says what failed, and that the brief is still signed
    brief = fetch(app, brief_id)
    assert brief.state == State.SIGNED.value and brief.issue_number is None and brief.total_number is None
    assert master(app, brief_id) is None
    assert not list(FILES_DIR.rglob("*.pdf"))
    monkeypatch.undo()
    assert publish_over_http(app, login_as, brief_id).status_code == 302
    assert (fetch(app, brief_id).issue_number, fetch(app, brief_id).total_number) == (1, 31)


def test_files_left_by_a_dead_publish_do_not_block_the_next(app, make_brief, login_as):
    """What an earlier attempt left (an orphan under another name, a half-written temporary,
    even a byte-identical twin) never stands in the way: files are named by their content."""
    brief_id = make_brief(State.SIGNED)
    orphan = FILES_DIR / "sha256/ab" / ("ab" * 32 + ".pdf")
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"an orphan of a publish that died")
    (orphan.parent / ".tmp-x.part").write_bytes(b"half written")
    response = publish_over_http(app, login_as, brief_id)
    assert response.status_code == 302
    assert fetch(app, brief_id).state == State.PUBLISHED.value and master(app, brief_id) is not None
    assert orphan.read_bytes() == b"an orphan of a publish that died"  # never touched


def test_a_damaged_file_under_the_same_name_is_never_overwritten(app, make_brief):
    from publishing.storage import FileStore, StoreError

    store = FileStore(FILES_DIR)
    blob = store.put(b"%PDF- the real content")
    (FILES_DIR / blob.path).write_bytes(b"damaged")
    with pytest.raises(StoreError):
        store.put(b"%PDF- the real content")
    assert (FILES_DIR / blob.path).read_bytes() == b"damaged"
    assert [p.name for p in (FILES_DIR / blob.path).parent.iterdir()] == [Path(blob.path).name]  # no temporary left


def test_specimen_pdf_before_publication_is_marked_and_not_stored(app, make_brief, login_as):
    brief_id = make_brief(State.AWAITING_SIGNOFF)
    response = login_as("signer").get(f"/briefs/{brief_id}/preview.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "样稿" in text_of(response.data)
    assert master(app, brief_id) is None and not list(FILES_DIR.rglob("*.pdf"))
    assert login_as("drafter2").get(f"/briefs/{brief_id}/preview.pdf").status_code == 404


def test_backfill_gives_old_issues_their_pdf_once(app, make_brief):
    brief_id = make_brief(State.PUBLISHED)
    old = master(app, brief_id)
    with app.app_context():  # as if published before archival PDFs existed
        db.session.execute(delete(StoredFile))
        db.session.commit()
    (FILES_DIR / old.path).unlink()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["brief", "backfill-pdfs"])
    assert first.exit_code == 0 and "1 archival PDFs made" in first.output
    assert (FILES_DIR / master(app, brief_id).path).exists()
    again = runner.invoke(args=["brief", "backfill-pdfs"])
    assert again.exit_code == 0 and "0 archival PDFs made" in again.output


def test_render_a_brief_file_without_the_database(app, tmp_path):
    source = Path(__file__).resolve().parent.parent / "demo" / "briefs" / "data-elements.md"
    text = source.read_text(encoding="utf-8").replace("series: 领导参阅", "series: 领导参阅\nissue: 3\ntotal: 31\ndate: 2022-01-28\ncopies: 30")
    brief_file = tmp_path / "past.md"
    brief_file.write_text(text, encoding="utf-8")
    out = tmp_path / "past.pdf"
    result = app.test_cli_runner().invoke(args=["brief", "render", str(brief_file), "-o", str(out), "--specimen",
                                                "--host", "苏州太湖书院", "--host", "苏州太湖智库"])
    assert result.exit_code == 0, result.output
    printed = text_of(out.read_bytes())
    assert "第3期（总第31期）" in printed and "2022年1月28日" in printed and "样稿" in printed
    assert "苏州太湖智库" in printed and "共印：30" in printed
    with app.app_context():
        assert db.session.scalar(select(Brief.id)) is None


def test_render_reports_a_bad_file(app, tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: 缺少结束线\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["brief", "render", str(bad), "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code != 0 and "bad.md" in result.output and "front matter" in result.output


def test_export_writes_a_file_that_reads_back(app, make_brief):
    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 4, 1), keywords=["低空经济", "通用航空"])
    result = app.test_cli_runner().invoke(args=["brief", "export", str(brief_id)])
    assert result.exit_code == 0
    exported = parse_brief_file(result.output)
    brief = fetch(app, brief_id)
    assert exported.content() == {**brief.content(), "body": brief.body.strip("\n")}
    assert (exported.meta["issue"], exported.meta["total"], exported.meta["copies"]) == (1, 31, 30)


# --- Archival metadata (issue 10): dates, identifiers, the audit head in XMP, tags ----------------

XMP_NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/", "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "pdf": "http://ns.adobe.com/pdf/1.3/", "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/", "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
}


def xmp_of(data: bytes):
    """The catalog's XMP packet, parsed as XML (it must parse), and the raw packet."""
    import xml.etree.ElementTree as ET

    from rendering.xmp import CANYUE_NS

    reader = PdfReader(io.BytesIO(data))
    metadata = reader.trailer["/Root"]["/Metadata"].get_object()
    assert metadata["/Type"] == "/Metadata" and metadata["/Subtype"] == "/XML"
    packet = metadata.get_data()
    root = ET.fromstring(packet)
    namespaces = {**XMP_NS, "canyue": CANYUE_NS}

    def one(path):
        found = root.findall(f".//{path}", namespaces)
        assert len(found) == 1, (path, len(found))
        return found[0].text

    def items(path):
        return [li.text for li in root.findall(f".//{path}//rdf:li", namespaces)]

    return reader, root, namespaces, one, items


def pdf_instant(value: str):
    from datetime import UTC, datetime

    return datetime.strptime(value, "D:%Y%m%d%H%M%SZ").replace(tzinfo=UTC)


def xmp_instant(value: str):
    from datetime import UTC, datetime

    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def fonts_of(reader):
    """Every font any page uses: (name, font dictionary)."""
    found = {}
    for page in reader.pages:
        for name, font in (page["/Resources"].get("/Font") or {}).items():
            found[(name, font.indirect_reference.idnum if font.indirect_reference else id(font))] = font.get_object()
    return list(found.values())


def test_the_archival_pdf_carries_its_dates_identifiers_and_audit_head_in_xmp(app, make_brief):
    from rendering.xmp import CANYUE_NS, issue_document_id

    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 3, 2), keywords=["低空经济", "通用航空"])
    data = (FILES_DIR / master(app, brief_id).path).read_bytes()
    reader, root, ns, one, items = xmp_of(data)
    info = reader.metadata
    brief = fetch(app, brief_id)
    with app.app_context():
        publication = db.session.scalar(select(AuditEvent).where(AuditEvent.brief_id == brief_id,
                                                                 AuditEvent.action == "publish"))
        series_name = db.session.get(Brief, brief_id).series.name
    # PDF/A-3u, claimed in the identification schema.
    assert one("pdfaid:part") == "3" and one("pdfaid:conformance") == "U"
    # Dates: in both places, the same instants; created at publication.
    created, modified = pdf_instant(info["/CreationDate"]), pdf_instant(info["/ModDate"])
    assert xmp_instant(one("xmp:CreateDate")) == created and xmp_instant(one("xmp:ModifyDate")) == modified
    assert xmp_instant(one("xmp:MetadataDate")) == modified >= created
    assert created == brief.published_at.replace(microsecond=0)
    # The issue's DocumentID, and this rendition's InstanceID.
    assert one("xmpMM:DocumentID") == issue_document_id("Z001", series_name, "regular", 31)
    assert one("xmpMM:InstanceID").startswith("uuid:") and one("xmpMM:InstanceID") != one("xmpMM:DocumentID")
    # The audit head: in the information dictionary and in XMP, the head the publish event links to.
    assert one("canyue:auditHead") == info["/canyue-audit-head"] == publication.prev_hash
    # … through a declared extension schema: every canyue: property used is described, as Text.
    schema = root.find(".//pdfaExtension:schemas/rdf:Bag/rdf:li", ns)
    assert schema.find("pdfaSchema:namespaceURI", ns).text == CANYUE_NS
    assert schema.find("pdfaSchema:prefix", ns).text == "canyue"
    declared = {p.find("pdfaProperty:name", ns).text: p for p in schema.findall(".//pdfaSchema:property/rdf:Seq/rdf:li", ns)}
    used = {el.tag.split("}")[1] for el in root.iter() if el.tag.startswith(f"{{{CANYUE_NS}}}")}
    assert used == {"auditHead"} and used <= set(declared)
    for prop in declared.values():
        assert prop.find("pdfaProperty:valueType", ns).text == "Text"
        assert prop.find("pdfaProperty:category", ns).text in ("internal", "external")
        assert prop.find("pdfaProperty:description", ns).text
    # The information dictionary and XMP agree (PDF/A 6.6).
    assert items("dc:title") == [info.title] and items("dc:creator") == [info.author]
    assert items("dc:description") == [info.subject]
    assert items("dc:subject") == ["低空经济", "通用航空"] and one("pdf:Keywords") == info["/Keywords"] == "低空经济, 通用航空"
    assert one("pdf:Producer") == info["/Producer"] and one("xmp:CreatorTool") == info["/Creator"]
    assert "/Filter" not in reader.trailer["/Root"]["/Metadata"].get_object()  # readable without a PDF parser


def test_the_archival_pdf_is_tagged_and_all_its_text_maps_to_unicode(app, make_brief):
    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 3, 2))
    reader = PdfReader(FILES_DIR / master(app, brief_id).path)
    catalog = reader.trailer["/Root"]
    assert catalog["/Lang"] == "zh-CN" and bool(catalog["/MarkInfo"]["/Marked"])
    tree = catalog["/StructTreeRoot"]
    document = tree["/K"][0].get_object()
    assert document["/S"] == "/Document" and "/ParentTree" in tree

    kinds = []

    def walk(element):
        element = element.get_object()
        if not hasattr(element, "get") or "/S" not in element:
            return
        kinds.append(element["/S"])
        kids = element.get("/K")
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            walk(kid)

    walk(document)
    # The masthead and the title as headings, the body as paragraphs.
    assert "/H1" in kinds and "/H2" in kinds and kinds.count("/P") >= 3
    assert all("/StructParents" in page for page in reader.pages)
    # PDF/A-3u: every font carries a ToUnicode map.
    fonts = fonts_of(reader)
    assert fonts and all("/ToUnicode" in font for font in fonts), [f.get("/BaseFont") for f in fonts]


def test_numbered_copies_keep_the_metadata_with_their_own_instance(app, make_brief):
    from tests.test_distribution import stored

    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 3, 2), keywords=["低空经济"])
    master_data = (FILES_DIR / master(app, brief_id).path).read_bytes()
    _r, _root, _ns, master_one, _items = xmp_of(master_data)
    instances = set()
    copies = stored(app, brief_id, "copy")
    assert len(copies) == 30
    for number, row in enumerate(copies[:3], start=1):
        data = (FILES_DIR / row.path).read_bytes()
        reader, root, ns, one, items = xmp_of(data)
        # The same document, dates, keywords and audit head; its own instance and 份号.
        for path in ("xmpMM:DocumentID", "xmp:CreateDate", "xmp:ModifyDate", "canyue:auditHead", "pdfaid:conformance"):
            assert one(path) == master_one(path), path
        assert items("dc:subject") == ["低空经济"]
        assert one("canyue:copyNumber") == f"{number:06d}"
        instances.add(one("xmpMM:InstanceID"))
        assert reader.metadata["/CreationDate"] == PdfReader(io.BytesIO(master_data)).metadata["/CreationDate"]
        assert reader.trailer["/Root"]["/StructTreeRoot"] is not None and reader.trailer["/Root"]["/Lang"] == "zh-CN"
        assert all("/ToUnicode" in font for font in fonts_of(reader))
        # The stamp is an artifact, outside the structure tree.
        stamp = reader.pages[0]["/Contents"][-1].get_object().get_data()
        assert stamp.startswith(b"Q\n/Artifact BMC") and stamp.count(b"BMC") == stamp.count(b"EMC") == 2
    assert len(instances) == 3 and master_one("xmpMM:InstanceID") not in instances


def test_a_new_rendition_keeps_the_document_id(app, make_brief):
    brief_id = make_brief(State.PUBLISHED)
    old = master(app, brief_id)
    _r, _root, _ns, old_one, _items = xmp_of((FILES_DIR / old.path).read_bytes())
    with app.app_context():
        db.session.execute(delete(StoredFile))
        db.session.commit()
    (FILES_DIR / old.path).unlink()
    assert app.test_cli_runner().invoke(args=["brief", "backfill-pdfs"]).exit_code == 0
    _r, _root, _ns, new_one, _items = xmp_of((FILES_DIR / master(app, brief_id).path).read_bytes())
    assert new_one("xmpMM:DocumentID") == old_one("xmpMM:DocumentID")
    assert new_one("xmpMM:InstanceID") != old_one("xmpMM:InstanceID")
    assert new_one("xmp:CreateDate") == old_one("xmp:CreateDate")  # created at publication, whenever rendered


def test_brief_render_keeps_the_keywords(app, tmp_path):
    source = Path(__file__).resolve().parent.parent / "demo" / "briefs" / "data-elements.md"
    brief = parse_brief_file(source.read_text(encoding="utf-8"))
    keywords = brief.content()["keywords"]
    assert keywords
    out = tmp_path / "out.pdf"
    result = app.test_cli_runner().invoke(args=["brief", "render", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    reader, _root, _ns, one, items = xmp_of(out.read_bytes())
    assert items("dc:subject") == keywords
    assert reader.metadata["/Keywords"] == one("pdf:Keywords") == ", ".join(keywords)
