"""The whole life of a brief, clicked through in a real browser (Debian's chromium, driven by
Playwright): written, previewed, submitted, edited and returned by the editor, revised,
resubmitted, approved, signed off and published — each person in their own browser context,
logged in through the login form, reading the Chinese UI.

A full-page screenshot of every step lands in test-artifacts/browser/NN-name.png.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale, gettext
from werkzeug.serving import make_server

from extensions import db
from models import Brief
from tests.conftest import PASSWORD
from workflows.brief import EVENT_LABELS

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts" / "browser"
TIMEOUT_MS = 10_000

TITLE = "关于加快我市低空经济产业发展的几点建议"
BODY = (
    "当前，低空经济正成为各地竞相布局的新赛道。现根据初步调研，形成分析建议，供领导参阅。\n\n"
    "# 一、发展态势\n\n"
    "**1、加强顶层设计。**结合我市实际，加快编制低空经济发展规划。"
)
# The editor changes two characters: 加快 -> 抓紧.
EDITED_BODY = BODY.replace("加快编制", "抓紧编制")
# The drafter then adds a sentence, as asked.
REVISED_BODY = EDITED_BODY + "预计到2027年，全市低空经济规模突破300亿元。"
RETURN_REASON = "请补充产业规模的具体数据。"
SIGN_OPINION = "同意印发。"


# --- the live server and the browser -----------------------------------------------------------

@pytest.fixture
def live_server(app: Flask, people: dict[str, int], series_id: int) -> Iterator[str]:
    """The session app served over HTTP on a free port, for as long as the test runs.

    The test config's SERVER_NAME (canyue.test) would make url_for build links for another
    host, so it is lifted while the server runs and put back afterwards.
    """
    saved = app.config["SERVER_NAME"]
    app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="canyue-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.config["SERVER_NAME"] = saved


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright. A missing browser fails the test (never a skip):
    the check runs inside the test so that it is reported as FAILED, not as a setup error."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests drive Debian's chromium "
                    "(Playwright's own download is not used). Run scripts/install --test.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed in this environment. Run scripts/install --test.")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def shots() -> Any:
    """shots(page, "name") saves test-artifacts/browser/NN-name.png, numbered in order."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    counter = iter(range(1, 100))

    def shoot(page: Any, name: str) -> Path:
        path = ARTIFACTS / f"{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot


def zh(app: Flask, message: str) -> str:
    """A message as the Chinese UI shows it."""
    with app.test_request_context(), force_locale("zh_CN"):
        return gettext(message)


# --- steps a person takes -----------------------------------------------------------------------

def log_in(browser: Any, base_url: str, username: str, shots: Any = None) -> Any:
    """A fresh browser context for one person, logged in through the login form."""
    from playwright.sync_api import expect

    context = browser.new_context(base_url=base_url, locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    if shots is not None:
        shots(page, "login")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    expect(page.locator("main h1")).to_have_text("我的待办")
    return page


def go_to_dashboard(page: Any) -> None:
    page.click("header nav a[href='/']")
    page.wait_for_url(re.compile(r"/$"))


def open_from_todo(page: Any, group: str, heading: str, brief_id: int) -> None:
    """On 我的待办, find the brief in its group (e.g. #todo-approve, 待审核) and open it."""
    from playwright.sync_api import expect

    section = page.locator(f"#todo-{group}")
    expect(section.locator("h2")).to_contain_text(heading)
    section.locator(f"a[href='/briefs/{brief_id}']").click()
    page.wait_for_url(re.compile(rf"/briefs/{brief_id}$"))


def act(page: Any, action: str, comment: str | None = None) -> None:
    """Press an action button on the brief page (the form with data-action=...)."""
    form = page.locator(f"form[data-action='{action}']")
    # Moves that undo or refuse are folded in a <details>: open it as a person would.
    folded = page.locator(f"details.action-more:has(form[data-action='{action}']) > summary")
    if folded.count() and not form.is_visible():
        folded.click()
    if comment is not None:
        form.locator("textarea").fill(comment)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def edit_body(page: Any, brief_id: int, body: str) -> None:
    """From the brief page: Edit, replace the body, 保存并查看."""
    page.click(f".actions a[href='/briefs/{brief_id}/edit']")
    page.wait_for_url(re.compile(rf"/briefs/{brief_id}/edit$"))
    page.fill("textarea#body", body)
    page.click("button[name=then][value=view]")
    page.wait_for_url(re.compile(rf"/briefs/{brief_id}$"))


def expect_state(page: Any, label: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator(".brief-head .badge")).to_have_text(label)


# --- the test -----------------------------------------------------------------------------------

def test_whole_lifecycle_in_the_browser(app: Flask, live_server: str, shots: Any, series_id: int) -> None:
    with chromium() as browser:
        walk_the_lifecycle(app, live_server, browser, shots, series_id)


def walk_the_lifecycle(app: Flask, base: str, browser: Any, shots: Any, series_id: int) -> None:
    from playwright.sync_api import expect


    # 1. The drafter writes the brief, previews it and submits it.
    drafter = log_in(browser, base, "drafter", shots)
    shots(drafter, "drafter-dashboard")
    drafter.click("header nav a[href='/briefs/new']")
    drafter.wait_for_url(re.compile(r"/briefs/new$"))
    drafter.select_option("select#series_id", str(series_id))
    drafter.fill("textarea#title", TITLE)
    drafter.fill("input#author_line", "苏州太湖智库")
    drafter.fill("textarea#special_report", "王建国书记\n李明代市长")
    drafter.fill("textarea#body", BODY)
    shots(drafter, "drafter-new-brief-form")
    drafter.click("button[name=then][value=edit]")
    drafter.wait_for_url(re.compile(r"/briefs/\d+/edit$"))
    brief_id = int(re.search(r"/briefs/(\d+)/edit$", drafter.url).group(1))
    expect(drafter.locator(".flash.success")).to_be_visible()
    expect(drafter.locator("textarea#body")).to_have_value(BODY)
    shots(drafter, "drafter-saved")

    drafter.click(f"form.brief-form a[href='/briefs/{brief_id}']")
    drafter.wait_for_url(re.compile(rf"/briefs/{brief_id}$"))
    expect_state(drafter, "草稿")
    expect(drafter.locator("form[data-action='submit'] button")).to_have_text("提交审核")
    shots(drafter, "drafter-brief")
    with drafter.context.expect_page() as popup:
        drafter.click(f".actions a[href='/briefs/{brief_id}/preview']")
    preview = popup.value
    preview.wait_for_load_state()
    # The specimen's own page, its text laid over the image (tests/test_preview_browser.py).
    expect(preview.locator("figure.preview-page")).to_have_count(1)
    text = preview.locator("figure.preview-page svg.preview-text")
    expect(text).to_contain_text("领 导 参 阅")
    expect(text).to_contain_text("本期专报：王建国书记、李明代市长")
    expect(text).to_contain_text(TITLE)
    expect(text).to_contain_text("一、发展态势")
    expect(text).to_contain_text("1、加强顶层设计。")
    expect(preview.locator("figure.preview-page figcaption")).to_contain_text("样稿")
    shots(preview, "drafter-preview")
    preview.close()

    act(drafter, "submit")
    expect_state(drafter, "审核中")
    shots(drafter, "drafter-submitted")

    # 2. The editor finds it under 待审核, corrects two characters, looks at the changes and
    #    returns it with a reason.
    editor = log_in(browser, base, "editor")
    expect(editor.locator("#todo-approve")).to_contain_text(TITLE)
    shots(editor, "editor-dashboard")
    open_from_todo(editor, "approve", "待审核", brief_id)
    expect(editor.locator("form[data-action='approve'] button")).to_have_text("审核通过")
    expect(editor.locator("form[data-action='return'] button")).to_have_text("退回修改")
    edit_body(editor, brief_id, EDITED_BODY)
    expect(editor.locator(".body-text")).to_contain_text("抓紧编制")
    shots(editor, "editor-edited")

    editor.click(f".actions a[href='/briefs/{brief_id}/changes']")
    editor.wait_for_url(re.compile(rf"/briefs/{brief_id}/changes$"))
    diff = editor.locator(".diff-text")
    expect(diff).to_have_count(1)  # only the body changed
    expect(diff.locator("del")).to_have_text(["加快"])
    expect(diff.locator("ins")).to_have_text(["抓紧"])
    expect(editor.locator(".diff h3")).to_contain_text("正文")
    expect(editor.locator(".diff-summary")).to_have_attribute("data-changes", "1")
    shots(editor, "editor-changes")

    editor.click(f"main h1 a[href='/briefs/{brief_id}']")
    editor.wait_for_url(re.compile(rf"/briefs/{brief_id}$"))
    act(editor, "return", RETURN_REASON)
    # A returned brief is a draft again, which only its author may read: the editor is told
    # it is done and taken back to 我的待办, not to a page saying the brief cannot be seen.
    expect(editor.locator(".flash.success")).to_contain_text("退回修改")
    editor.wait_for_url(re.compile(r"/$"))
    expect(editor.locator("main h1")).to_have_text("我的待办")
    shots(editor, "editor-returned")

    # 3. The drafter reads why, revises and resubmits.
    go_to_dashboard(drafter)
    returned_note = drafter.locator("#todo-submit .note.returned")
    expect(returned_note).to_contain_text(RETURN_REASON)
    shots(drafter, "drafter-dashboard-returned")
    open_from_todo(drafter, "submit", zh(app, "Drafts to submit"), brief_id)
    expect(drafter.locator(".flash.warning")).to_contain_text(RETURN_REASON)
    expect(drafter.locator(".flash.warning")).to_contain_text("李青")
    shots(drafter, "drafter-brief-returned")
    edit_body(drafter, brief_id, REVISED_BODY)
    act(drafter, "submit")
    expect_state(drafter, "审核中")
    expect(drafter.locator(".flash.warning")).to_have_count(0)  # answered by resubmitting
    shots(drafter, "drafter-resubmitted")

    # 4. The editor approves.
    go_to_dashboard(editor)
    open_from_todo(editor, "approve", "待审核", brief_id)
    act(editor, "approve")
    expect_state(editor, "待签发")
    shots(editor, "editor-approved")

    # 5. The signer finds it under 待签发 and signs it off with an opinion.
    signer = log_in(browser, base, "signer")
    shots(signer, "signer-dashboard")
    open_from_todo(signer, "sign", "待签发", brief_id)
    expect(signer.locator("form[data-action='sign'] button")).to_have_text("签发")
    expect(signer.locator("form[data-action='send_back'] button")).to_have_text("退回审核")
    shots(signer, "signer-brief")
    act(signer, "sign", SIGN_OPINION)
    expect_state(signer, "已签发")
    expect(signer.locator("dl.facts")).to_contain_text("王志远")
    expect(signer.locator("dl.facts")).to_contain_text(SIGN_OPINION)
    shots(signer, "signer-signed")

    # 6. The editor publishes it; the issue gets its numbers.
    go_to_dashboard(editor)
    open_from_todo(editor, "publish", "待印发", brief_id)
    expect(editor.locator("form[data-action='reopen'] button")).to_have_text("撤销签发")
    publish_link = editor.locator(f".actions a[href='/briefs/{brief_id}/publish']")
    expect(publish_link).to_have_text("印发")
    shots(editor, "editor-brief-signed")
    publish_link.click()
    editor.wait_for_url(re.compile(rf"/briefs/{brief_id}/publish$"))
    issue_date = editor.locator("input[name=issue_date]")
    expect(issue_date).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2}$"))  # the sign-off date
    shots(editor, "editor-publish-form")
    editor.click("main form button[type=submit]")
    editor.wait_for_url(re.compile(rf"/briefs/{brief_id}$"))
    expect_state(editor, "已印发")
    expect(editor.locator(".brief-head .meta")).to_contain_text("第1期（总第31期）")
    stored_date = _stored_issue_date(app, brief_id)
    assert stored_date, "published without an issue date"
    expect(editor.locator(".brief-head .meta")).to_contain_text(stored_date)

    # The history names every step, with who took it.
    events = editor.locator("ol.events li")
    steps = [
        ("周明", "create"), ("周明", "submit"), ("李青", "edit"), ("李青", "return"), ("周明", "edit"),
        ("周明", "submit"), ("李青", "approve"), ("王志远", "sign"), ("李青", "publish"),
    ]
    for actor, action in steps:
        label = zh(app, EVENT_LABELS[action])
        assert label != EVENT_LABELS[action], f"history label not translated: {EVENT_LABELS[action]!r}"
        expect(events.filter(has_text=actor).filter(has_text=label).first).to_be_visible()
    expect(events.filter(has_text=RETURN_REASON)).to_have_count(1)
    shots(editor, "editor-published")

    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        assert (brief.state, brief.issue_number, brief.total_number) == ("published", 1, 31)
        assert brief.body == REVISED_BODY
        assert brief.sign_opinion == SIGN_OPINION
        db.session.remove()

    for page in (drafter, editor, signer):
        page.context.close()


def _stored_issue_date(app: Flask, brief_id: int) -> str:
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        text = brief.issue_date.isoformat() if brief and brief.issue_date else ""
        db.session.remove()
        return text
