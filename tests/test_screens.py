"""Every screen at phone size (390 × 844) and on a desktop (1280 × 800), in Debian's chromium:
no page is wider than the screen, and axe-core finds no serious or critical accessibility
violation (WCAG 2.1 A and AA rules).

The pages come from the app's URL map: every GET rule is filled in with ids of real rows
(a brief in every state, a copy, a recipient, a download link, …) and visited by a role that
may see it. A GET page that no visit reached fails the test, so a new screen cannot be left
out. Pages that are not HTML (PDF, CSV) are fetched in the same browser session and only
counted as visited. Screenshots: test-artifacts/browser/screens-<size>-<page>.png.
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request_finished
from pypdf import PdfReader
from sqlalchemy import select

from corrections.editions import open_correction
from corrections.operations import request_correction
from distribution.links import make_link
from extensions import db
from instructions.operations import NewInstruction, register_instruction
from models import Brief, Copy, Recipient, Series, User
from publishing.services import file_store, pdf_renderer
from signin import twofactor
from signoff.operations import record_paper_signoff
from tests.conftest import PASSWORD, PATHS, log_in_form
from workflows.transitions import apply_transition
from tests.test_browser import ARTIFACTS, CHROMIUM_ARGS, TIMEOUT_MS, chromium, live_server  # noqa: F401
from workflows import distribution as lists
from workflows.brief import State

pytestmark = pytest.mark.browser

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
# Whoever may see a page, the first in this order visits it.
ROLES = ["drafter", "editor", "signer", "archivist", "clerk", "admin", "security_admin", "auditor", "secretary"]
# Signing in, and the second step of it (reached through a real sign-in, below).
PUBLIC = {"auth.login"}
PENDING_SIGN_IN = {"auth.enrol_at_login", "auth.second_factor"}
# Images of a page, named by that page (the preview's page images carry its version token):
# loaded when the browser visits the page; tests/test_preview.py checks them.
PART_OF_A_PAGE = {"briefs.preview_page"}
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (30, 40), (255, 255, 255)).save(out, format="PNG")
    return out.getvalue()


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def build_world(app: Flask, make_brief: Any, series_id: int) -> dict[str, list[Any]]:
    """Rows for every kind of page; returns URL-map argument name -> candidate values."""
    with app.app_context():
        ids = []
        for name, title, category, copies in [("王建国", "书记", "专报", 1), ("市委办公室", "", "报", 2),
                                               ("各区党政办", "", "发", 2)]:
            recipient = Recipient(name=name, title=title, organisation="", category=category,
                                  default_copies=copies)
            db.session.add(recipient)
            db.session.flush()
            ids.append((recipient.id, category, copies))
        lists.replace_series_list(db.session, series_id, [(rid, cat, n, "printed") for rid, cat, n in ids])
        db.session.commit()
    briefs = {state: make_brief(state, special_report=[]) for state in [*PATHS, State.ANNULLED]}
    corrected = make_brief(State.PUBLISHED, special_report=[])
    # 更正: a correction notice draft, and a signed 更正版 draft (its own page: reissue).
    notice_of, edition_of = make_brief(State.PUBLISHED, special_report=[]), make_brief(State.PUBLISHED, special_report=[])
    with app.app_context():
        notice = open_correction(db.session, notice_of, _user("editor"), "第二段数据有误").id
        db.session.get(Series, series_id).correction_mode = "edition"
        db.session.commit()
        edition = open_correction(db.session, edition_of, _user("editor"), "标题有误")
        for action, who in (("submit", "editor"), ("approve", "editor2"), ("sign", "signer")):
            apply_transition(db.session, edition, action, _user(who))
        db.session.get(Series, series_id).correction_mode = "notice"
        db.session.commit()
        edition_id = edition.id
    with app.app_context():
        brief = db.session.get(Brief, corrected)
        request_correction(db.session, corrected, _user("editor"), issue_date=brief.issue_date,
                           issue_number=brief.issue_number, total_number=brief.total_number + 5,
                           reason="总期号有误")
        copy = db.session.scalars(select(Copy).where(Copy.brief_id == briefs[State.PUBLISHED])
                                  .order_by(Copy.number)).first()
        _link, token = make_link(db.session, copy, _user("editor"), app.config["SECRET_KEY"], 7)
        # 领导批示 with its follow-up and scan; a paper sign-off with its scan (代签).
        published = db.session.get(Brief, briefs[State.PUBLISHED])
        instruction = register_instruction(
            db.session, file_store(), published, _user("clerk"),
            NewInstruction(leader_name="王建国", level="市委书记/市长", given_on=published.issue_date, text="请研究落实。",
                           kind="act", responsible_name="市发改委", owner_id=_user("editor").id,
                           due_on=published.issue_date),
            levels=["市委书记/市长"], scan=_png(), scan_name="批示件.png")
        db.session.commit()
        paper_brief = make_brief(State.AWAITING_SIGNOFF, special_report=[])
        record = record_paper_signoff(
            db.session, file_store(), pdf_renderer(), db.session.get(Brief, paper_brief), _user("secretary"),
            leader_id=_user("signer").id, signed_on=date.today(), opinion="同意印发", scan=_png(),
            scan_name="签发单.png", expected_version=None)
        db.session.commit()
        users = [uid for uid in db.session.scalars(select(User.id).order_by(User.id))]
        copy_id = copy.id
        follow_up_ids, file_ids = [instruction.follow_up.id], [instruction.scan_id, record.scan_id]
    # Long work (views/work.py): a finished export (its download), and one running (its bar).
    from datetime import timedelta

    from jobs.worker import drain
    from longwork.operations import EXPORT, start
    from models.types import utcnow

    with app.app_context():
        archivist = _user("archivist")
        done_id = start(db.session, EXPORT, archivist, {"series": series_id, "year": None, "q": None}).id
        db.session.commit()
    drain(app)
    with app.app_context():
        running = start(db.session, EXPORT, _user("archivist"), {"series": series_id, "year": None, "q": None})
        running.state, running.progress, running.total = "running", 3, 10
        running.lease_until = utcnow() + timedelta(hours=1)
        db.session.commit()
        running_id = running.id
    return {
        "brief_id": [*briefs.values(), corrected, notice, edition_id],
        "copy_id": [copy_id],
        "recipient_id": [ids[0][0]],
        "series_id": [series_id],
        "user_id": users,
        "token": [token],
        "job_id": [running_id, done_id],
        "follow_up_id": follow_up_ids,
        "file_id": file_ids,
    }


def fill(rule: Any, values: dict[str, list[Any]]) -> list[str]:
    """Every URL of a rule with the candidate values of its arguments (one argument at most)."""
    args = sorted(rule.arguments)
    if not args:
        return [rule.rule]
    assert len(args) == 1, f"{rule.rule}: fill in more than one argument"
    name = args[0]
    assert name in values, f"{rule.rule}: no rows for <{name}>; add some to build_world"
    return [re.sub(r"<[^>]+>", str(value), rule.rule) for value in values[name]]


def plan_visits(app: Flask, values: dict[str, list[Any]]) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """(role -> HTML pages to visit, [(role, non-HTML URL)]): for each GET rule, each URL, the
    first role whose GET answers 200 (the test client finds out; the browser then visits)."""
    clients = {}
    for name in ROLES:
        client = app.test_client()
        assert log_in_form(client, name, PASSWORD).status_code == 302, name
        clients[name] = client
    pages: dict[str, list[str]] = {name: [] for name in ROLES}
    files: list[tuple[str, str]] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint in PENDING_SIGN_IN | PUBLIC | PART_OF_A_PAGE:
            continue
        every_state = rule.endpoint in {"briefs.show"}
        for url in fill(rule, values):
            for name in ROLES:
                response = clients[name].get(url)
                if response.status_code != 200:
                    continue
                if response.mimetype == "text/html":
                    pages[name].append(url)
                else:
                    files.append((name, url))
                break
            else:
                continue
            if not every_state:
                break
    return pages, files


def fits_and_passes_axe(page: Any, label: str, size: str) -> list[str]:
    """What is wrong with the page on screen: wider than the window, axe findings."""
    from axe_playwright_python.sync_playwright import Axe

    problems = []
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 3).map(e => e.tagName + '.' + e.className).join(' ')""")
        problems.append(f"{label} at {size}: {width[0]} px wide in a {width[1]} px window ({wide})")
    # The preview's 样稿 watermark is decoration (aria-hidden; WCAG 1.4.3 exempts it), faint on purpose.
    results = Axe().run(page, context={"exclude": [[".specimen-mark"]]}, options=AXE_OPTIONS)
    for violation in results.response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [n["target"] for n in violation["nodes"][:3]]
            problems.append(f"{label} at {size}: axe {violation['id']} ({violation['impact']}): {targets}")
    name = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "home"
    page.screenshot(path=str(ARTIFACTS / f"screens-{size}-{name}.png"), full_page=True)
    return problems


def new_page(browser: Any, base: str, size: str) -> Any:
    width, height = SIZES[size]
    context = browser.new_context(base_url=base, locale="zh-CN", viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def sign_in(browser: Any, base: str, size: str, username: str) -> Any:
    page = new_page(browser, base, size)
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    return page


def test_every_page_fits_both_screens_and_passes_axe(app: Flask, live_server: str, people: dict[str, int],
                                                    series_id: int, make_brief: Any) -> None:
    values = build_world(app, make_brief, series_id)
    pages, files = plan_visits(app, values)
    with app.app_context():
        # The second step of signing in: the clerk must enrol, the signer has an authenticator.
        twofactor.set_policy(db.session, "clerk", twofactor.REQUIRED, None)
        holder = User(username="authenticator", display_name="朱琳", password_hash=_user("drafter").password_hash)
        holder.set_roles({"drafter"})
        db.session.add(holder)
        db.session.flush()
        twofactor.start_enrolment(db.session, holder)
        holder.totp_enabled_at = holder.created_at
        db.session.commit()

    visited: set[str] = set()

    def record(sender: Flask, response: Any, **_extra: Any) -> None:
        from flask import request

        if request.method == "GET" and response.status_code == 200 and request.endpoint:
            visited.add(request.endpoint)

    request_finished.connect(record, app)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("screens-*.png"):
        old.unlink()
    problems: list[str] = []
    try:
        with chromium() as browser:
            for size in SIZES:
                page = new_page(browser, base=live_server, size=size)
                page.goto("/login")
                problems += fits_and_passes_axe(page, "login", size)
                page.context.close()
                # The enrolment and the code pages, reached as their users reach them.
                page = sign_in(browser, live_server, size, "clerk")
                assert "/login/enrol" in page.url, page.url
                problems += fits_and_passes_axe(page, "login-enrol", size)
                page.context.close()
                page = sign_in(browser, live_server, size, "authenticator")
                assert "/login/verify" in page.url, page.url
                problems += fits_and_passes_axe(page, "login-verify", size)
                page.context.close()
                for name, urls in pages.items():
                    if not urls:
                        continue
                    page = sign_in(browser, live_server, size, name)
                    assert "/login" not in page.url, (name, page.url)
                    for url in urls:
                        assert "/login" not in url
                        response = page.goto(url)
                        assert response.status == 200, (name, url, response.status)
                        problems += fits_and_passes_axe(page, f"{name}{url}", size)
                    for owner, url in files:
                        if owner == name and size == "phone":
                            assert page.context.request.get(url).status == 200, url
                    page.context.close()
    finally:
        request_finished.disconnect(record, app)
    assert not problems, "\n".join(problems)
    pages_of_app = {r.endpoint for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"}
    assert pages_of_app - visited == set(), f"GET pages never visited: {sorted(pages_of_app - visited)}"



# --- Every role's day, at both sizes ------------------------------------------------------------


def _small_list(app: Flask, series_id: int) -> None:
    with app.app_context():
        lines = []
        for name, title, category, copies in [("王建国", "书记", "专报", 1), ("市委办公室", "", "报", 2)]:
            recipient = Recipient(name=name, title=title, organisation="", category=category, default_copies=copies)
            db.session.add(recipient)
            db.session.flush()
            lines.append((recipient.id, category, copies, "printed"))
        lists.replace_series_list(db.session, series_id, lines)
        db.session.commit()


@pytest.mark.parametrize("size", list(SIZES))
def test_every_roles_day(app: Flask, live_server: str, people: dict[str, int], series_id: int, size: str) -> None:
    from playwright.sync_api import expect

    _small_list(app, series_id)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    step = iter(range(1, 100))

    def shot(page: Any, name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"day-{size}-{next(step):02d}-{name}.png"), full_page=True)

    def go(page: Any, href: str) -> None:
        """Follow a menu link; on a phone, open the menu first with its button."""
        link = page.locator(f"header nav a[href='{href}']")
        if size == "phone":
            expect(link).to_be_hidden()
            page.click(".menu-button")
            expect(page.locator(".menu-button")).to_have_attribute("aria-expanded", "true")
        link.click()
        page.wait_for_load_state()

    def fits(page: Any) -> None:
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 4).map(e => e.tagName + '.' + e.className + '#' + e.name).join(' ')""")
        assert width[0] <= width[1], (page.url, width, wide)

    with chromium() as browser:
        # The drafter: an empty save is refused, a stray draft deleted, the real one submitted.
        drafter = sign_in(browser, live_server, size, "drafter")
        expect(drafter.locator("main h1")).to_have_text("我的待办")
        go(drafter, "/briefs/new")
        expect(drafter.locator("textarea#special_report")).to_have_value("王建国书记")  # the series' leader
        drafter.click("button[name=then][value=edit]")
        expect(drafter.locator(".field.has-error #title")).to_be_visible()
        assert drafter.url.endswith("/briefs/new")
        shot(drafter, "drafter-title-needed")
        drafter.fill("#title", "写错了的稿子")
        drafter.click("button[name=then][value=edit]")
        drafter.wait_for_url(re.compile(r"/briefs/\d+/edit$"))
        stray = int(re.search(r"/briefs/(\d+)/edit$", drafter.url).group(1))
        drafter.goto(f"/briefs/{stray}")
        drafter.click("details.action-more:has(form[data-action='delete']) > summary")
        with drafter.expect_navigation():
            drafter.click("form[data-action='delete'] button[type=submit]")
        expect(drafter.locator(".flash.success")).to_be_visible()
        assert drafter.goto(f"/briefs/{stray}").status == 404
        drafter.goto("/briefs/new")
        drafter.fill("#title", "关于加快我市低空经济产业发展的几点建议")
        drafter.fill("textarea#body", "# 一、发展态势\n\n**1、加强顶层设计。**加快编制低空经济发展规划。")
        drafter.click("button[name=then][value=edit]")
        drafter.wait_for_url(re.compile(r"/briefs/\d+/edit$"))
        brief_id = int(re.search(r"/briefs/(\d+)/edit$", drafter.url).group(1))
        drafter.goto(f"/briefs/{brief_id}")
        with drafter.expect_navigation():
            drafter.click("form[data-action='submit'] button")
        expect(drafter.locator(".brief-head .badge")).to_have_text("审核中")
        fits(drafter)
        shot(drafter, "drafter-submitted")

        # The editor: a return without a reason is refused on the brief's own address; approves.
        editor = sign_in(browser, live_server, size, "editor")
        editor.goto(f"/briefs/{brief_id}")
        editor.click("details.action-more:has(form[data-action='return']) > summary")
        with editor.expect_navigation():
            editor.click("form[data-action='return'] button[type=submit]")
        expect(editor.locator(".flash.error")).to_be_visible()
        assert editor.url.endswith(f"/briefs/{brief_id}"), editor.url
        shot(editor, "editor-return-refused")
        with editor.expect_navigation():
            editor.click("form[data-action='approve'] button")
        expect(editor.locator(".brief-head .badge")).to_have_text("待签发")

        # The signer signs on the phone as on the desktop.
        signer = sign_in(browser, live_server, size, "signer")
        signer.goto(f"/briefs/{brief_id}")
        signer.fill("form[data-action='sign'] textarea", "同意印发。")
        fits(signer)
        shot(signer, "signer-brief")
        with signer.expect_navigation():
            signer.click("form[data-action='sign'] button")
        expect(signer.locator(".brief-head .badge")).to_have_text("已签发")

        # The editor publishes: the form says the numbers and the copies first.
        editor.goto(f"/briefs/{brief_id}/publish")
        expect(editor.locator("[data-numbers]")).to_contain_text("第1期（总第31期）")
        expect(editor.locator("[data-copies]")).to_have_attribute("data-copies", "3")
        fits(editor)
        shot(editor, "editor-publish-form")
        editor.click("main form button.primary")
        editor.wait_for_url(re.compile(rf"/briefs/{brief_id}$"))
        expect(editor.locator(".brief-head .meta")).to_contain_text("第1期（总第31期）")

        # The clerk: the print run in one PDF, everything dispatched, one receipt typed in.
        clerk = sign_in(browser, live_server, size, "clerk")
        clerk.goto(f"/briefs/{brief_id}/copies")
        with clerk.expect_download() as download:
            clerk.click("a[data-link='paper-copies']")
        data = Path(download.value.path()).read_bytes()
        assert data.startswith(b"%PDF") and len(PdfReader(io.BytesIO(data)).pages) == 6  # 3 copies, each padded
        with clerk.expect_navigation():
            clerk.click("form[action$='/copies/dispatch'] button[type=submit]")
        first = clerk.locator("form[data-form='receipts'] input[type=checkbox]").first
        first.check()
        name_box = clerk.locator("form[data-form='receipts'] input[type=text]").first
        expect(name_box).to_have_value("")  # typed, never the unit's name
        name_box.fill("王建国")
        with clerk.expect_navigation():
            clerk.click("form[data-form='receipts'] button[type=submit]")
        expect(clerk.locator(".flash.success")).to_be_visible()
        fits(clerk)
        shot(clerk, "clerk-board")

        # The archivist files it, seeing the 档号 before.
        archivist = sign_in(browser, live_server, size, "archivist")
        archivist.goto(f"/briefs/{brief_id}/file")
        code = archivist.locator("[data-archive-code]").get_attribute("data-archive-code")
        assert code and code.endswith("-0001")
        archivist.click("main form button.primary")
        archivist.wait_for_url(re.compile(rf"/briefs/{brief_id}$"))
        expect(archivist.locator("dl.facts")).to_contain_text(code)
        shot(archivist, "archivist-filed")

        # The administrators: the admin's home is the system status; the others their pages.
        admin = sign_in(browser, live_server, size, "admin")
        assert admin.url.endswith("/admin")
        expect(admin.locator("[data-status]")).to_have_count(5)
        fits(admin)
        shot(admin, "admin-home")
        security = sign_in(browser, live_server, size, "security_admin")
        go(security, "/security/2fa-policy")
        fits(security)
        shot(security, "security-policy")
        auditor = sign_in(browser, live_server, size, "auditor")
        assert "/audit/security-log" in auditor.url
        expect(auditor.locator("#security-log")).to_contain_text("周明")
        shot(auditor, "auditor-log")
