"""The 签发单 in the browser: the signer picks a stock phrase (static/app.js puts it in the
opinion box) and signs on the sheet itself; the secretary records a paper sign-off with a scan.
Screenshots at desktop and phone size (test-artifacts/browser/signoff-*.png), and the filed PDF
as an image (pdftoppm), which docs/screenshots/ keeps for the README."""

from __future__ import annotations

import io
import subprocess
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import select

from extensions import db
from models import StoredFile
from publishing.services import file_store
from tests.conftest import PASSWORD, fetch
from tests.test_browser import ARTIFACTS, TIMEOUT_MS, chromium, live_server  # noqa: F401
from workflows.brief import State

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def sign_in(browser, base: str, username: str, size: str, locale: str = "zh-CN"):
    width, height = SIZES[size]
    context = browser.new_context(base_url=base, locale=locale, viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    return page


def test_the_signer_signs_on_the_sheet_and_the_secretary_records_one(app, live_server, make_brief,  # noqa: F811
                                                                     tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        walk(app, live_server, browser, make_brief, tmp_path)


def walk(app, live_server, chromium, make_brief, tmp_path):
    brief_id = make_brief(State.AWAITING_SIGNOFF)
    for size in SIZES:
        page = sign_in(chromium, live_server, "signer", size)
        page.goto(f"/briefs/{brief_id}/signoff")
        assert page.locator(".signoff-sheet").is_visible()
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (size, width)
        page.click("button[data-phrase='同意印发']")
        assert page.input_value("#sign-comment") == "同意印发"
        page.screenshot(path=str(ARTIFACTS / f"signoff-sheet-{size}.png"), full_page=True)
        page.context.close()
    page = sign_in(chromium, live_server, "signer", "desktop")
    page.goto(f"/briefs/{brief_id}/signoff")
    page.click("button[data-phrase='同意印发']")
    page.click("form[data-action=sign] button[type=submit]")
    page.wait_for_url(f"**/briefs/{brief_id}")
    assert fetch(app, brief_id).sign_opinion == "同意印发"
    page.goto(f"/briefs/{brief_id}/signoff")
    page.screenshot(path=str(ARTIFACTS / "signoff-sheet-signed.png"), full_page=True)
    page.context.close()
    with app.app_context():
        filed = db.session.scalar(select(StoredFile).where(StoredFile.brief_id == brief_id,
                                                           StoredFile.kind == "signoff_sheet"))
        pdf = file_store().read_verified(filed.path, filed.sha256)
    (tmp_path / "sheet.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", str(tmp_path / "sheet.pdf"),
                    str(ARTIFACTS / "signoff-sheet-pdf")], check=True, timeout=60)
    assert (ARTIFACTS / "signoff-sheet-pdf.png").stat().st_size > 1000

    # 代签: the secretary, with a scan of the sheet.
    other = make_brief(State.AWAITING_SIGNOFF)
    scan = tmp_path / "签发单扫描.png"
    Image.new("RGB", (300, 420), (250, 250, 245)).save(scan)
    page = sign_in(chromium, live_server, "secretary", "phone")
    page.goto(f"/briefs/{other}/signoff")
    page.click("a[data-action=sign_on_paper]")
    page.fill("input[name=signed_on]", date.today().isoformat())
    page.fill("textarea[name=opinion]", "同意。王志远")
    page.set_input_files("input[name=scan]", str(scan))
    page.screenshot(path=str(ARTIFACTS / "signoff-paper-phone.png"), full_page=True)
    page.click("form[data-form=paper-signoff] button[type=submit]")
    page.wait_for_load_state()
    # Signed, the brief stays the secretary's to read until it is published: back to its sheet,
    # which now carries the sign-off they recorded.
    assert page.url == f"{live_server}/briefs/{other}/signoff", page.url
    assert "纸面签发已录入" in page.inner_text("main") or "paper sign-off was recorded" in page.inner_text("main")
    assert "李秘书代为录入" in page.inner_text(".signoff-sheet")
    signed = fetch(app, other)
    assert signed.state == State.SIGNED.value and signed.signer_name == "王志远"
    page.context.close()
    page = sign_in(chromium, live_server, "editor", "desktop")
    page.goto(f"/briefs/{other}/signoff")
    assert "李秘书代为录入" in page.inner_text(".signoff-sheet")
    page.screenshot(path=str(ARTIFACTS / "signoff-sheet-paper.png"), full_page=True)
