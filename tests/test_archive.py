"""Filing (档号), import of past issues, fixity and BagIt export."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import bagit
import pytest
from sqlalchemy import select

from archive.filing import file_issue
from extensions import db
from models import AuditEvent, Brief, Job
from jobs.worker import drain
from tests.conftest import FILES_DIR, act_together, fetch
from workflows.brief import State
from workflows.filing import Retention

PAST_ISSUE = """---
series: 领导参阅
title: 关于推动我市文旅深度融合发展的几点思考
author: 苏州太湖智库
special_report: [王建国书记, 李明代市长]
issue: {issue}
total: {total}
supplement: false
date: {date}
editor: 张晓
signer: 刘长河
copies: 40
keywords: [文旅融合]
classification: 内部
---

近年来，文旅融合成为城市竞争的新焦点。现结合调研，形成几点思考，供领导参阅。

# 一、文旅融合的新趋势

**1、强化规划引领。**结合我市实际，统筹推进文旅资源开发。
"""


def file_over_http(app, client, brief_id, retention="Y"):
    return client.post(f"/briefs/{brief_id}/file", {"retention": retention, "version": str(fetch(app, brief_id).version)})


def test_filing_assigns_the_archive_code_in_sequence(app, make_brief, login_as):
    first = make_brief(State.PUBLISHED, issue_date=date(2026, 2, 1))
    second = make_brief(State.PUBLISHED, issue_date=date(2026, 3, 1))
    third = make_brief(State.PUBLISHED, issue_date=date(2026, 4, 1))
    archivist = login_as("archivist")
    assert file_over_http(app, archivist, first).status_code == 302
    assert file_over_http(app, archivist, second).status_code == 302
    assert file_over_http(app, archivist, third, retention="D30").status_code == 302
    assert fetch(app, first).archive_code == "Z001-WS·2026-Y-0001"
    assert fetch(app, second).archive_code == "Z001-WS·2026-Y-0002"
    assert fetch(app, third).archive_code == "Z001-WS·2026-D30-0001"  # its own sequence
    assert fetch(app, first).state == State.ARCHIVED.value
    page = archivist.get(f"/briefs/{first}").get_data(as_text=True)
    assert "Z001-WS·2026-Y-0001" in page


def test_the_archivist_sets_where_a_years_sequence_starts(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, issue_date=date(2022, 1, 28))
    archivist = login_as("archivist")
    response = archivist.post("/archive/sequences", {"year": "2022", "retention": "Y", "first_item": "31"})
    assert response.status_code == 302
    file_over_http(app, archivist, brief_id)
    assert fetch(app, brief_id).archive_code == "Z001-WS·2022-Y-0031"
    assert login_as("editor").post("/archive/sequences", {"year": "2022", "retention": "Y", "first_item": "5"}).status_code == 403


@pytest.mark.parametrize("persona,expected", [("archivist", 302), ("editor", 403), ("drafter", 403), ("admin", 403)])
def test_only_archivists_file(app, make_brief, login_as, persona, expected):
    brief_id = make_brief(State.PUBLISHED)
    assert file_over_http(app, login_as(persona), brief_id).status_code == expected


@pytest.mark.parametrize("state", [State.SIGNED, State.IN_REVIEW])
def test_only_published_issues_are_filed(app, make_brief, login_as, state):
    brief_id = make_brief(state)
    response = file_over_http(app, login_as("archivist"), brief_id)
    assert response.status_code == 404  # an archivist does not see briefs before publication
    assert fetch(app, brief_id).state == state.value


def test_a_filed_issue_is_frozen(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED)
    file_over_http(app, login_as("archivist"), brief_id)
    before = fetch(app, brief_id)
    assert file_over_http(app, login_as("archivist"), brief_id).status_code == 409
    editor = login_as("editor")
    assert editor.get(f"/briefs/{brief_id}/edit").status_code == 409
    assert editor.act(brief_id, "reopen", "想改一下").status_code == 409
    after = fetch(app, brief_id)
    assert (after.version, after.archive_code, after.body) == (before.version, before.archive_code, before.body)


def test_concurrent_filings_get_distinct_gap_free_items(app, make_brief, people):
    ids = [make_brief(State.PUBLISHED, issue_date=date(2026, 5, 1)) for _ in range(10)]
    act_together(app, people["archivist"], ids, lambda archivist, b: file_issue(
        db.session, b, archivist, retention=Retention.PERMANENT, fonds="Z001", category="WS"))
    assert sorted(fetch(app, b).archive_item for b in ids) == list(range(1, 11))


def write_past_issues(folder: Path) -> None:
    (folder / "2022-03.md").write_text(PAST_ISSUE.format(issue=3, total=31, date="2022-01-28"), encoding="utf-8")
    (folder / "2022-04.md").write_text(PAST_ISSUE.format(issue=4, total=32, date="2022-02-15"), encoding="utf-8")
    (folder / "broken.md").write_text(PAST_ISSUE.format(issue=5, total=33, date="2022-13-40"), encoding="utf-8")
    (folder / "nonumber.md").write_text(PAST_ISSUE.format(issue="", total=34, date="2022-03-01"), encoding="utf-8")


def test_import_keeps_good_files_and_reports_bad_ones(app, series_id, people, tmp_path):
    write_past_issues(tmp_path)
    result = app.test_cli_runner().invoke(args=["archive", "import", str(tmp_path), "--as", "archivist"])
    assert result.exit_code == 1  # some files were refused
    assert "broken.md" in result.output and "date" in result.output
    assert "nonumber.md" in result.output and "期号" in result.output
    with app.app_context():
        imported = db.session.scalars(select(Brief).order_by(Brief.total_number)).all()
        assert [(b.issue_number, b.total_number, b.state) for b in imported] == [(3, 31, "archived"), (4, 32, "archived")]
        first = imported[0]
        assert first.issue_date == date(2022, 1, 28) and first.editor_name == "张晓" and first.signer_name == "刘长河"
        assert first.print_run == 40 and "2022-03.md" in first.provenance
        assert first.archive_code == "Z001-WS·2022-Y-0001"
        assert first.master is not None and (FILES_DIR / first.master.path).is_file()
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.brief_id == first.id)).all()
        assert [e.action for e in events] == ["import"]


def test_import_keeps_the_original_pdf_byte_for_byte(app, series_id, people, make_brief, tmp_path):
    # An "original" PDF: any real PDF without active content will do; render one for another
    # issue (not its archival master: that carries attachments, which an original may not).
    from publishing.services import pdf_renderer
    from rendering.printing import printed_issue_from_brief

    donor = make_brief(State.PUBLISHED, issue_date=date(2021, 5, 1))
    with app.app_context():
        original = pdf_renderer().render(printed_issue_from_brief(db.session.get(Brief, donor), specimen=False)).data
    (tmp_path / "old.md").write_text(PAST_ISSUE.format(issue=9, total=20, date="2020-06-01"), encoding="utf-8")
    (tmp_path / "old.pdf").write_bytes(original)
    result = app.test_cli_runner().invoke(args=["archive", "import", str(tmp_path / "old.md"), "--as", "archivist"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        brief = db.session.scalar(select(Brief).where(Brief.total_number == 20))
        assert (FILES_DIR / brief.master.path).read_bytes() == original


def test_numbering_continues_past_imported_issues(app, series_id, people, make_brief, tmp_path):
    (tmp_path / "past.md").write_text(PAST_ISSUE.format(issue=12, total=99, date="2026-01-05"), encoding="utf-8")
    assert app.test_cli_runner().invoke(args=["archive", "import", str(tmp_path), "--as", "archivist"]).exit_code == 0
    new = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 20))
    assert (fetch(app, new).issue_number, fetch(app, new).total_number) == (13, 100)


def test_an_issue_already_held_is_refused(app, series_id, people, make_brief, tmp_path):
    held = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5))
    number = fetch(app, held).total_number
    (tmp_path / "dup.md").write_text(PAST_ISSUE.format(issue=1, total=number, date="2026-01-05"), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["archive", "import", str(tmp_path), "--as", "archivist"])
    assert result.exit_code == 1 and "already held" in result.output
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Brief.id))) == 1


def test_import_through_the_upload_page(app, series_id, login_as):
    archivist = login_as("archivist")
    good = (io.BytesIO(PAST_ISSUE.format(issue=3, total=31, date="2022-01-28").encode()), "2022-03.md")
    bad = (io.BytesIO(b"no front matter"), "bad.md")
    response = archivist.post("/archive/import", {"files": [good, bad]}, content_type="multipart/form-data")
    assert response.status_code == 302 and "/jobs/" in response.location  # the import is a job
    job_id = int(response.location.rstrip("/").rsplit("/", 1)[1])
    uploads = [p for p in (FILES_DIR / "imports").rglob("*") if p.is_file()]
    assert len(uploads) == 1  # the good file waits in the store for the worker; the bad one was refused
    assert "等待后台进程" in archivist.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert drain(app) == [(job_id, "done")]
    page = archivist.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Z001-WS·2022-Y-0001" in page and "bad.md" in page and "导入 1 期，未导入 1 个" in page
    assert not [p for p in (FILES_DIR / "imports").rglob("*") if p.is_file()]  # done: the uploads are gone
    with app.app_context():
        assert db.session.scalar(select(Brief.archive_code)) == "Z001-WS·2022-Y-0001"
    assert login_as("editor").get("/archive/import").status_code == 403
    assert login_as("editor").get(f"/jobs/{job_id}").status_code == 404


def test_an_upload_where_every_file_is_refused_answers_at_once_and_keeps_nothing(app, series_id, login_as):
    bad = (io.BytesIO(b"no front matter"), "bad.md")
    response = login_as("archivist").post("/archive/import", {"files": [bad]}, content_type="multipart/form-data")
    assert response.status_code == 422 and "bad.md" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Job.id))) == 0
    assert not [p for p in FILES_DIR.rglob("*") if p.is_file()]


def test_verify_finds_changed_missing_and_unexpected_files(app, make_brief, login_as):
    changed, missing, fine = (make_brief(State.PUBLISHED, issue_date=date(2026, m, 1)) for m in (1, 2, 3))
    with app.app_context():
        paths = {b: FILES_DIR / db.session.get(Brief, b).master.path for b in (changed, missing, fine)}
    paths[changed].write_bytes(paths[changed].read_bytes()[:-10])
    paths[missing].unlink()
    (FILES_DIR / "issues").mkdir()
    (FILES_DIR / "issues" / "stray.pdf").write_bytes(b"%PDF-1.7 nobody recorded me")
    result = app.test_cli_runner().invoke(args=["archive", "verify"])
    assert result.exit_code == 1
    assert f"changed: {paths[changed].relative_to(FILES_DIR).as_posix()}" in result.output
    assert f"missing: {paths[missing].relative_to(FILES_DIR).as_posix()}" in result.output
    assert "unexpected: issues/stray.pdf" in result.output
    page = login_as("archivist").get(f"/briefs/{changed}").get_data(as_text=True)
    assert 'data-fixity="changed"' in page
    assert 'data-fixity="ok"' in login_as("archivist").get(f"/briefs/{fine}").get_data(as_text=True)


def test_verify_passes_on_an_intact_store(app, make_brief):
    make_brief(State.PUBLISHED)
    result = app.test_cli_runner().invoke(args=["archive", "verify"])
    assert result.exit_code == 0 and "1 files checked" in result.output


def export_over_http(app, client, data):
    """Start the export (a job), run it as the worker would, fetch the result from its page."""
    started = client.post("/archive/export", data)
    assert started.status_code == 302 and "/jobs/" in started.location, started.status_code
    drain(app)
    page = client.get(started.location)
    assert page.status_code == 200
    if "/download" not in page.get_data(as_text=True):
        return page
    return client.get(started.location.rstrip("/") + "/download")


def test_bagit_export_validates_and_catalogues_every_issue(app, make_brief, login_as, tmp_path):
    ids = [make_brief(State.PUBLISHED, issue_date=date(2026, m, 1), supplement=(m == 2)) for m in (1, 2)]
    archivist = login_as("archivist")
    file_over_http(app, archivist, ids[0])
    response = export_over_http(app, archivist, {"series": str(fetch(app, ids[0]).series_id), "year": "2026"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        bundle.extractall(tmp_path)
    bag_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert {"sha256", "sha512"} <= set(bag.algorithms)
    catalogue = (bag_dir / "data" / "catalogue.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(catalogue)))
    assert [r["序号"] for r in rows] == ["1", "2"]
    filed = next(r for r in rows if r["档号"])
    assert filed["档号"] == "Z001-WS·2026-Y-0001" and filed["日期"] == "20260101" and filed["期号"] == "第1期（总第31期）"
    assert filed["题名"] == "关于加快我市低空经济产业发展的几点建议" and filed["密级"] == "" and int(filed["页数"]) >= 1
    assert any(r["备注"] == "增刊" for r in rows)
    assert len(list((bag_dir / "data").rglob("issue.pdf"))) == 2


def test_export_refuses_a_tampered_file(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 1))
    with app.app_context():
        path = FILES_DIR / db.session.get(Brief, brief_id).master.path
    path.write_bytes(b"%PDF-1.7 replaced")
    response = export_over_http(app, login_as("archivist"), {"series": str(fetch(app, brief_id).series_id),
                                                             "year": "2026"})
    page = response.get_data(as_text=True)
    assert 'data-state="failed"' in page and "任务失败" in page  # "The job failed."
    with app.app_context():
        assert db.session.scalar(select(Job.attempts).where(Job.kind == "archive.export", Job.state == "failed")) == 1
    assert login_as("editor").post("/archive/export", {"year": "2026"}).status_code == 403


def test_browse_lists_issues_by_series_and_year(app, make_brief, login_as):
    older = make_brief(State.PUBLISHED, issue_date=date(2025, 6, 1), title="二〇二五年的一期")
    newer = make_brief(State.PUBLISHED, issue_date=date(2026, 6, 1), title="二〇二六年的一期")
    client = login_as("drafter2")
    page = client.get("/archive").get_data(as_text=True)
    assert "二〇二六年的一期" in page and "二〇二五年的一期" not in page  # the latest year first
    page = client.get(f"/archive?series={fetch(app, older).series_id}&year=2025").get_data(as_text=True)
    assert "二〇二五年的一期" in page and "第1期" in page
    assert newer


def test_search_page_finds_issues_with_highlighted_snippets(app, make_brief, login_as):
    hit = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5), title="关于推进苏州元宇宙产业布局的建议")
    make_brief(State.PUBLISHED, issue_date=date(2026, 2, 5), title="关于文旅融合的思考", body="与本次检索无关。")
    draft = make_brief(State.DRAFT, title="元宇宙草稿不应出现")
    page = login_as("drafter2").get("/archive/search?q=元宇宙").get_data(as_text=True)
    assert f"/briefs/{hit}" in page and "<mark>元宇宙</mark>" in page
    assert f"/briefs/{draft}\"" not in page and "关于文旅融合的思考" not in page


def test_a_search_result_exports_as_a_bag(app, make_brief, login_as, tmp_path):
    wanted = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5), title="关于数字经济发展的建议")
    make_brief(State.PUBLISHED, issue_date=date(2026, 2, 5), title="关于文旅融合的思考", body="与本次检索无关。")
    response = export_over_http(app, login_as("archivist"), {"q": "数字经济"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        catalogue = next(n for n in bundle.namelist() if n.endswith("data/catalogue.csv"))
        rows = list(csv.DictReader(io.StringIO(bundle.read(catalogue).decode("utf-8-sig"))))
    assert [r["题名"] for r in rows] == [fetch(app, wanted).title]


@pytest.mark.parametrize("issue, total, day, says", [
    (3, 31, "2099-12-31", "too far in the future"),
    (3, 2147483647, "2025-06-01", "'total (总期号)' must be a whole number from 1 to 999999"),
    (10**20, 31, "2025-06-01", "'issue (期号)' must be a whole number from 1 to 9999"),
    (0, 31, "2025-06-01", "'issue' must be a whole number from 1 up"),
])
def test_an_import_that_would_brick_numbering_is_refused(app, series_id, people, make_brief, tmp_path,
                                                         issue, total, day, says):
    """A far date or a number at the column's edge would make every later publish fail (or
    overflow on PostgreSQL): refused with the reason, nothing kept, and the series publishes on."""
    (tmp_path / "bad.md").write_text(PAST_ISSUE.format(issue=issue, total=total, date=day), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["archive", "import", str(tmp_path), "--as", "archivist"])
    assert result.exit_code == 1 and says in result.output, result.output
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Brief.id))) == 0
    assert not [p for p in FILES_DIR.rglob("*") if p.is_file()]
    published = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 20))
    assert (fetch(app, published).issue_number, fetch(app, published).total_number) == (1, 31)
