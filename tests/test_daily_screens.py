"""The daily screens (issue 14), through the test client: what a user reads on each page and
what each form does. The browser walks are in tests/test_screens.py and tests/test_browser.py."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from extensions import db
from models import AuditEvent, Brief, Copy, User
from tests.conftest import fetch
from workflows.brief import State
from workflows.dispatch import apply_copy_transition


def english(client):
    client.post("/account", {"profile-locale": "en"}, prefix="profile")
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


# --- 2. 归档 means one thing ------------------------------------------------------------------


def test_the_pdf_button_is_a_download_not_filing(login_as, make_brief):
    brief_id = make_brief(State.PUBLISHED)
    page = text(english(login_as("archivist")).get(f"/briefs/{brief_id}"))
    button = re.search(r'<a class="button[^"]*"[^>]*data-file="master">([^<]+)</a>', page)
    assert button and button.group(1) == "Download the issued PDF"
    assert 'class="button primary"' not in button.group(0)  # the primary move is filing
    assert re.search(r'data-action="archive">File in the archive</a>', page)


# --- 3. forms say what they will do -------------------------------------------------------------


def test_the_publish_form_shows_the_numbers_and_copies_it_will_make(app, login_as, make_brief):
    make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5))  # 第1期（总第31期）
    brief_id = make_brief(State.SIGNED)
    editor = english(login_as("editor"))
    page = text(editor.get(f"/briefs/{brief_id}/publish"))
    assert re.search(r"data-numbers>No\. 2 \(overall No\. 32\)", page), page
    # No distribution list: the series' default print run (30), all on paper.
    assert 'data-copies="30" data-printed="30"' in page and "30 copies" in page
    # The numbers shown are the ones publishing assigns.
    editor.post(f"/briefs/{brief_id}/publish", {"issue_date": re.search(
        r'name="issue_date"[^>]*value="([^"]+)"', page).group(1), "version": str(fetch(app, brief_id).version)})
    published = fetch(app, brief_id)
    assert (published.issue_number, published.total_number, published.print_run) == (2, 32, 30)


def test_the_publish_form_checks_another_date_without_publishing(app, login_as, make_brief):
    make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5))
    brief_id = make_brief(State.SIGNED)
    editor = english(login_as("editor"))
    version = str(fetch(app, brief_id).version)
    page = text(editor.post(f"/briefs/{brief_id}/publish", {"issue_date": "2025-12-01", "version": version,
                                                            "check": "1"}))
    assert "earlier than the series" in page  # the backdating guard, said before pressing 印发
    assert fetch(app, brief_id).state == State.SIGNED


def test_the_filing_form_shows_the_archive_code_it_will_assign(app, login_as, make_brief):
    make_brief(State.ARCHIVED, issue_date=date(2026, 1, 5))
    brief_id = make_brief(State.PUBLISHED)
    archivist = english(login_as("archivist"))
    page = text(archivist.get(f"/briefs/{brief_id}/file"))
    shown = re.search(r'data-archive-code="([^"]+)"', page).group(1)
    year = fetch(app, brief_id).issue_year
    assert shown == f"{app.config['CANYUE_FONDS_CODE']}-WS·{year}-Y-0002", shown
    archivist.post(f"/briefs/{brief_id}/file", {"retention": "Y", "version": str(fetch(app, brief_id).version)})
    assert fetch(app, brief_id).archive_code == shown


# --- 6. language ----------------------------------------------------------------------------


def test_english_chosen_on_the_login_page_survives_sign_in(app, people):
    from tests.conftest import PASSWORD, log_in_form

    http = app.test_client()
    http.get("/login?lang=en")
    assert log_in_form(http, "drafter", PASSWORD).status_code == 302
    assert "My tasks" in text(http.get("/"))
    http.get("/logout")
    other = app.test_client()  # another browser, no choice made: the saved setting holds
    log_in_form(other, "drafter", PASSWORD)
    assert "My tasks" in text(other.get("/"))


def test_the_menu_switches_the_language_and_comes_back_to_the_page(login_as, make_brief):
    brief_id = make_brief(State.DRAFT)
    drafter = login_as("drafter")
    response = drafter.post("/account/language", {"locale": "en", "next": f"/briefs/{brief_id}"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/briefs/{brief_id}")
    assert "Actions" in text(drafter.get(f"/briefs/{brief_id}"))
    # Never an open redirect.
    response = drafter.post("/account/language", {"locale": "zh_CN", "next": "//evil.example/"})
    assert response.headers["Location"].endswith("/")
    assert "evil" not in response.headers["Location"]
    assert "操作" in text(drafter.get(f"/briefs/{brief_id}"))


def test_english_counts_use_the_plural_rules(app, login_as, make_brief, clerk):
    brief_id = make_brief(State.PUBLISHED, special_report=[])
    with app.app_context():
        first = db.session.scalar(select(Copy).where(Copy.brief_id == brief_id).order_by(Copy.number))
        apply_copy_transition(db.session, first, "dispatch", db.session.scalar(
            select(User).where(User.username == "clerk")), route="courier")
        db.session.commit()
    editor = english(login_as("editor"))
    page = text(editor.get(f"/briefs/{brief_id}/copies"))
    assert "30 copies" in page
    assert "1 event<" in page and "1 events" not in page  # the dispatched copy
    page = text(editor.get(f"/briefs/{brief_id}"))
    assert "1 page," in page and "1 pages" not in page


# --- 9. details in the right place ----------------------------------------------------------


def test_the_fingerprint_is_for_the_archivist_not_the_drafter(login_as, make_brief):
    brief_id = make_brief(State.PUBLISHED)
    assert "SHA-256" not in text(login_as("drafter").get(f"/briefs/{brief_id}"))
    assert "data-fixity" not in text(login_as("editor").get(f"/briefs/{brief_id}"))
    assert "SHA-256" in text(login_as("archivist").get(f"/briefs/{brief_id}"))


# --- 4. no dead ends ------------------------------------------------------------------------


def test_saving_needs_a_title(app, login_as, series_id):
    drafter = english(login_as("drafter"))
    response = drafter.post("/briefs/new", {"series_id": str(series_id), "title": "", "body": "正文"})
    assert response.status_code == 422
    assert "Please give the brief a title before saving." in text(response)
    assert "正文" in text(response)  # what was typed stays
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Brief.id))) == 0


def test_an_author_deletes_a_draft_never_submitted(app, login_as, make_brief):
    brief_id = make_brief(State.DRAFT, title="不再需要的稿子")
    drafter = login_as("drafter")
    assert 'value="delete"' in text(drafter.get(f"/briefs/{brief_id}"))
    response = drafter.post(f"/briefs/{brief_id}", {"do": "delete", "delete-version": str(fetch(app, brief_id).version)},
                            prefix="delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    # Hidden everywhere, from its author too...
    assert drafter.get(f"/briefs/{brief_id}").status_code == 404
    assert "不再需要的稿子" not in text(drafter.get("/briefs")) + text(drafter.get("/"))
    # ...but kept: the row, its revision, its events (the chain is not cut), with who deleted it.
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        assert brief is not None and brief.deleted_at is not None and brief.state == "draft"
        actions = [e.action for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.brief_id == brief_id).order_by(AuditEvent.seq))]
        assert actions == ["create", "delete"]
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_a_submitted_or_foreign_draft_cannot_be_deleted(app, login_as, make_brief):
    returned = make_brief(State.IN_REVIEW)
    editor = login_as("editor")
    editor.act(returned, "return", "请补充数据")  # a draft again, but it was submitted once
    drafter = login_as("drafter")
    assert 'value="delete"' not in text(drafter.get(f"/briefs/{returned}"))
    assert drafter.act(returned, "delete").status_code == 409
    other = make_brief(State.DRAFT, author="drafter2")
    assert drafter.act(other, "delete").status_code == 404
    assert fetch(app, returned).deleted_at is None and fetch(app, other).deleted_at is None


def test_a_refused_move_answers_on_the_briefs_own_address(app, login_as, make_brief):
    brief_id = make_brief(State.IN_REVIEW)
    editor = english(login_as("editor"))
    page = text(editor.get(f"/briefs/{brief_id}"))
    assert f'action="/briefs/{brief_id}"' in page and "/act/" not in page
    response = editor.post(f"/briefs/{brief_id}", {"do": "return", "return-comment": "",
                                                   "return-version": str(fetch(app, brief_id).version)},
                           prefix="return")
    assert response.status_code == 422 and "reason" in text(response).lower()
    assert fetch(app, brief_id).state == State.IN_REVIEW


# --- 5. no silent changes -------------------------------------------------------------------


def test_a_long_title_is_refused_with_its_length_not_cut(app, login_as, make_brief):
    brief_id = make_brief(State.DRAFT)
    drafter = english(login_as("drafter"))
    page = text(drafter.get(f"/briefs/{brief_id}/edit"))
    title_input = re.search(r'<(?:input|textarea)[^>]*id="title"[^>]*>', page).group(0)
    assert "maxlength" not in title_input  # the browser would cut silently
    long_title = "关" * 205
    response = drafter.post(f"/briefs/{brief_id}/edit", {"title": long_title, "body": "正文",
                                                         "version": str(fetch(app, brief_id).version)})
    assert response.status_code == 422
    assert "The title is 205 characters long; at most 200 are allowed." in text(response)
    assert fetch(app, brief_id).title != long_title[:200]


def test_receipts_are_typed_not_the_units_name(app, login_as, make_brief, clerk, series_id):
    from models import Recipient
    from workflows import distribution as lists

    with app.app_context():
        unit = Recipient(name="市委办公室", title="", organisation="中共苏州市委", category="报", default_copies=1)
        db.session.add(unit)
        db.session.flush()
        lists.replace_series_list(db.session, series_id, [(unit.id, "报", 1, "printed")])
        db.session.commit()
    brief_id = make_brief(State.PUBLISHED, special_report=[])
    http = english(login_as("clerk"))
    board = text(http.get(f"/briefs/{brief_id}/copies"))
    # 经办人 is the clerk on the board, as on a copy's page.
    assert re.search(r'name="person"[^>]*value="机要员小刘"', board)
    copy_id = re.search(r'href="/copies/(\d+)"', board).group(1)
    copy_page = text(http.get(f"/copies/{copy_id}"))
    assert re.search(r'name="dispatch-person"[^>]*value="机要员小刘"', copy_page)
    http.post(f"/briefs/{brief_id}/copies/dispatch", {"route": "courier", "person": "机要员小刘",
                                                     "version": str(fetch(app, brief_id).version)})
    board = text(http.get(f"/briefs/{brief_id}/copies"))
    signed = re.search(r'<input type="text" name="signed-(\d+)"[^>]*>', board)
    assert signed.group(1) == copy_id and 'value=""' in signed.group(0)  # not 市委办公室
    assert not re.search(r'name="receive-person"[^>]*value="[^"]', text(http.get(f"/copies/{copy_id}")))
    # Ticking without a name is refused, nothing recorded.
    response = http.post(f"/briefs/{brief_id}/copies/receipts", {"copy": copy_id, f"signed-{copy_id}": "",
                                                                "version": str(fetch(app, brief_id).version)})
    assert response.status_code == 422 and "please type the name of the person who signed" in text(response)
    with app.app_context():
        assert db.session.get(Copy, int(copy_id)).received_at is None


# --- 9. a new brief starts with the series' usual leaders --------------------------------------


def test_a_new_brief_starts_with_the_series_leaders(app, login_as, series_id):
    from models import Recipient
    from workflows import distribution as lists

    with app.app_context():
        ids = []
        for name, title in [("王建国", "书记"), ("李明", "代市长")]:
            leader = Recipient(name=name, title=title, organisation="", category="专报", default_copies=1)
            db.session.add(leader)
            db.session.flush()
            ids.append(leader.id)
        lists.replace_series_list(db.session, series_id, [(i, "专报", 1, "printed") for i in ids])
        db.session.commit()
        labels = lists.series_special_labels(db.session, series_id)
    assert labels
    page = text(login_as("drafter").get("/briefs/new"))
    box = re.search(r'<textarea[^>]*id="special_report"[^>]*>([^<]*)</textarea>', page).group(1)
    assert box.strip().split("\n") == labels


# --- 9. the admin's home; the new-user form -----------------------------------------------------


def test_the_admins_home_is_the_system_status(app, login_as, make_brief, series_id):
    from status.system import record_backup

    make_brief(State.PUBLISHED)
    admin = english(login_as("admin"))
    response = admin.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin")
    page = text(admin.get("/admin"))
    with app.app_context():
        from models import User as U
        total = db.session.scalar(select(db.func.count(U.id)))
    assert f"{total} accounts in all" in page
    assert "1 series in all" in page
    assert "No backup recorded yet" in page
    assert 'data-status="mail"' in page  # the failed-mail hook (templates/admin/_failed_mail.html)
    with app.app_context():
        record_backup(db.session, "/srv/backups/canyue-backup-20261201T2000Z.tar", 2048)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["archive", "verify"])
    assert result.exit_code == 0, result.output
    page = text(admin.get("/admin"))
    assert "canyue-backup-20261201T2000Z.tar" in page and "2 KB" in page
    assert 'data-failing="0"' in page and "0 never checked" in page
    assert login_as("drafter").get("/admin").status_code == 403


def test_a_backup_is_recorded_for_the_admins_home(app, login_as, tmp_path, make_brief):
    make_brief(State.PUBLISHED)
    out = tmp_path / "b.tar"
    result = app.test_cli_runner().invoke(args=["backup", "create", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in text(english(login_as("admin")).get("/admin"))


def test_the_new_user_form_asks_for_a_password(login_as, people):
    admin = english(login_as("admin"))
    page = text(admin.get("/admin/users/new"))
    assert "leave empty to keep it" not in page
    assert re.search(r'<label for="password">Password</label>', page)
    assert "leave empty to keep it" in text(admin.get(f"/admin/users/{people['drafter']}"))


# --- the 机要员's print run: every paper copy in one PDF -------------------------------------------


def _paper_world(app, series_id):
    from models import Recipient
    from workflows import distribution as lists

    with app.app_context():
        lines = []
        for name, medium, copies in [("市委办公室", "printed", 2), ("市政府办公室", "electronic", 1), ("各区党政办", "printed", 1)]:
            unit = Recipient(name=name, title="", organisation="", category="报", default_copies=copies)
            db.session.add(unit)
            db.session.flush()
            lines.append((unit.id, "报", copies, medium))
        lists.replace_series_list(db.session, series_id, lines)
        db.session.commit()


def test_the_clerk_prints_every_paper_copy_in_one_duplex_pdf(app, login_as, make_brief, clerk, series_id):
    import io

    from pypdf import PdfReader

    from models import DownloadLog

    _paper_world(app, series_id)
    brief_id = make_brief(State.PUBLISHED, special_report=[])
    http = login_as("clerk")
    assert f"/briefs/{brief_id}/copies/paper.pdf" in text(http.get(f"/briefs/{brief_id}/copies"))
    response = http.get(f"/briefs/{brief_id}/copies/paper.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    with app.app_context():
        copies = db.session.scalars(select(Copy).where(Copy.brief_id == brief_id).order_by(Copy.number)).all()
        paper = [c for c in copies if c.medium == "printed"]
        assert [c.serial for c in paper] == ["000001", "000002", "000004"]  # 000003 is electronic
        pages_each = [c.stored_file.pages for c in paper]
    reader = PdfReader(io.BytesIO(response.data))
    padded = [n + n % 2 for n in pages_each]
    assert len(reader.pages) == sum(padded)
    # Each copy starts on an odd (right-hand) page, in 份号 order; the page after an odd-length
    # copy is blank.
    start = 0
    for copy, n, width in zip(paper, pages_each, padded):
        assert copy.serial in reader.pages[start].extract_text()
        if n % 2:
            assert reader.pages[start + n].extract_text().strip() == ""
        start += width
    # Downloads are logged, one per copy in the run.
    with app.app_context():
        logged = db.session.scalars(select(DownloadLog.copy_id)).all()
        assert sorted(logged) == sorted(c.id for c in paper)


def test_a_two_page_copy_needs_no_blank(app, login_as, make_brief, clerk, series_id):
    import io

    from pypdf import PdfReader

    _paper_world(app, series_id)
    long_body = "\n\n".join(["当前，低空经济正成为各地竞相布局的新赛道，形成分析建议，供领导参阅。" * 6] * 12)
    brief_id = make_brief(State.PUBLISHED, special_report=[], body=long_body)
    with app.app_context():
        pages = [c.stored_file.pages for c in db.session.scalars(
            select(Copy).where(Copy.brief_id == brief_id, Copy.medium == "printed").order_by(Copy.number))]
    assert pages[0] >= 2
    reader = PdfReader(io.BytesIO(login_as("clerk").get(f"/briefs/{brief_id}/copies/paper.pdf").data))
    assert len(reader.pages) == sum(n + n % 2 for n in pages)


def test_the_print_run_is_for_those_who_dispatch(login_as, make_brief):
    brief_id = make_brief(State.PUBLISHED)
    assert login_as("drafter").get(f"/briefs/{brief_id}/copies/paper.pdf").status_code == 403
    assert login_as("archivist").get(f"/briefs/{brief_id}/copies/paper.pdf").status_code == 403


# --- 8. the diff reads like the text ----------------------------------------------------------


def test_the_body_diff_is_formatted_and_counted():
    from rendering.diff import body_diff

    old = "# 一、发展态势\n\n**1、加强顶层设计。**加快编制规划。\n\n第三段不变。\n\n第四段不变。\n\n第五段不变。"
    new = "# 一、发展态势\n\n**1、加强顶层设计。**抓紧编制规划。\n\n第三段不变。\n\n第四段不变。\n\n第五段改了。"
    diff = body_diff(old, new)
    assert diff.changes == 2
    heading, lead = diff.blocks[0], diff.blocks[1]
    assert heading.kind == "h1" and not heading.changed and "#" not in heading.pieces[0].text
    assert [(p.op, p.text, p.bold) for p in lead.pieces] == [
        ("equal", "1、加强顶层设计。", True), ("delete", "加快", False), ("insert", "抓紧", False),
        ("equal", "编制规划。", False)]
    assert len(diff.with_context(1)) == 5 and None not in diff.with_context(1)  # every block near a change
    far = body_diff("甲。\n\n乙。\n\n丙。\n\n丁。\n\n戊。", "甲改。\n\n乙。\n\n丙。\n\n丁。\n\n戊改。")
    assert [b.pieces[0].text if b else None for b in far.with_context(1)] == ["甲", "乙。", None, "丁。", "戊"]


def test_the_changes_page_shows_formatted_text_and_a_changes_only_view(app, login_as, make_brief):
    body = "# 一、发展态势\n\n**1、加强顶层设计。**加快编制规划。\n\n" + "\n\n".join(f"第{i}段不变。" for i in range(3, 9))
    brief_id = make_brief(State.IN_REVIEW, body=body)
    editor = english(login_as("editor"))
    saved = editor.post(f"/briefs/{brief_id}/edit", {"title": "关于加快我市低空经济产业发展的几点建议",
                                             "classification": "", "urgency": "", "author_line": "苏州太湖智库",
                                             "special_report": "王建国书记\n李明代市长",
                                             "body": body.replace("加快编制", "抓紧编制").replace("第8段不变", "第8段改了"),
                                             "version": str(fetch(app, brief_id).version)})
    assert saved.status_code == 302, text(saved)[-1500:]
    page = text(editor.get(f"/briefs/{brief_id}/changes?a=1&b=2"))
    assert 'data-changes="2"' in page and "2 changes" in page
    assert "**" not in page and "# 一" not in page  # no raw Markdown
    assert "<strong>1、加强顶层设计。</strong><del>加快</del><strong>" not in page
    assert "<del>加快</del><ins>抓紧</ins>" in page
    assert "第5段不变" in page
    only = text(editor.get(f"/briefs/{brief_id}/changes?a=1&b=2&only=1"))
    assert "第5段不变" not in only and "⋯" in only  # far from both changes: left out
    assert "第3段不变" in only and "第7段不变" in only  # the context either side


# --- 7. search and lists --------------------------------------------------------------------


def test_search_says_how_many_shows_states_and_helps_an_empty_query(app, login_as, make_brief):
    for _ in range(3):
        make_brief(State.PUBLISHED, issue_date=None)
    make_brief(State.ARCHIVED)
    drafter = english(login_as("drafter"))
    empty = text(drafter.get("/archive/search"))
    assert "data-search-help" in empty and "What to type" in empty
    page = text(drafter.get("/archive/search?q=低空经济"))
    assert 'data-total="4"' in page and "4 issues found" in page
    assert page.count('class="badge state-published"') == 3 and page.count('class="badge state-archived"') == 1
    # 密级 is chosen from the installation's levels, not typed.
    assert re.search(r'<select name="classification">', page)
    assert '<input type="text" name="classification"' not in page


def test_the_total_counts_beyond_one_page(app, login_as, make_brief):
    for _ in range(22):
        make_brief(State.PUBLISHED)
    page = text(english(login_as("editor")).get("/archive/search?q=低空经济"))
    assert 'data-total="22"' in page and page.count('<article class="hit">') == 20


def test_short_columns_do_not_wrap(login_as, make_brief):
    make_brief(State.IN_REVIEW)
    page = text(login_as("editor").get("/briefs"))
    assert '<td class="short">周明</td>' in page
    css = (__import__("pathlib").Path(__file__).parent.parent / "static" / "app.css").read_text()
    assert "table.list td.short { white-space: nowrap; }" in css


# --- 10. the demo, as the README describes it -----------------------------------------------------


def test_the_demo_has_a_clerk_and_makes_the_copies_the_readme_says(app, monkeypatch, tmp_path):
    from pathlib import Path

    from publishing.pipeline import publish
    from workflows.distribution import plan_copies, series_special_labels
    from workflows.transitions import apply_transition, create_brief

    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert any(row.strip().startswith("clerk ") and "(clerk)" in row for row in result.output.splitlines())
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    claimed = int(re.search(r"so publishing makes (\d+) numbered\s+copies", readme).group(1))
    with app.app_context():
        people = {u.username: u for u in db.session.scalars(select(User))}
        assert people["clerk"].role_set == {"clerk"}
        awaiting = db.session.scalar(select(Brief).where(Brief.state == State.AWAITING_SIGNOFF.value))
        apply_transition(db.session, awaiting, "sign", people["signer"])
        db.session.commit()
        publish(db.session, awaiting.id, people["editor"])
        made = db.session.scalar(select(db.func.count(Copy.id)).where(Copy.brief_id == awaiting.id))
        assert made == claimed
        # A new brief starts with the series' usual leaders, so it makes as many.
        series = awaiting.series
        fresh = create_brief(db.session, people["drafter"], series, {
            "title": "新稿", "special_report": series_special_labels(db.session, series.id), "body": "正文"})
        assert len(plan_copies(db.session, fresh)) == claimed
    assert "| `clerk` |" in readme


def test_every_page_has_a_favicon(app, login_as):
    page = text(login_as("drafter").get("/"))
    href = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)
    assert href != "data:,"
    response = app.test_client().get(href)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml" and b"<svg" in response.data
