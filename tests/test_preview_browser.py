"""The paged preview in a real browser (Debian's chromium through Playwright), on a desktop
(1280×800) and a phone (390×844): every page of the specimen is there and drawn, scaled to the
screen without a horizontal scroll bar, with its text over the image where the image shows it,
selectable. Screenshots land in test-artifacts/preview/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, chromium, live_server  # noqa: F401 (fixtures)
from tests.test_preview import LONG_BODY
from workflows.brief import State

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts" / "preview"


@pytest.mark.parametrize("device, viewport", [("desktop", (1280, 800)), ("phone", (390, 844))])
def test_the_paged_preview_on_a_desktop_and_a_phone(app, live_server, make_brief, device, viewport):  # noqa: F811
    brief_id = make_brief(State.AWAITING_SIGNOFF, body=LONG_BODY)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width, height = viewport
    with chromium() as browser:
        context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": width, "height": height},
                                      device_scale_factor=3 if device == "phone" else 1, is_mobile=device == "phone",
                                      has_touch=device == "phone")
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=username]", "signer")
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        page.goto(f"/briefs/{brief_id}/preview")
        figures = page.locator("figure.preview-page")
        count = figures.count()
        assert count >= 9
        page.screenshot(path=str(ARTIFACTS / f"{device}-first-page.png"))
        # Every page drawn (the lazy ones once scrolled to), none wider than the screen.
        for index in range(count):
            figures.nth(index).scroll_into_view_if_needed()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                                   arg=figures.nth(index).locator("img").element_handle())
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        box = figures.nth(0).locator("img").bounding_box()
        assert box["width"] <= width and box["width"] >= min(width - 80, 600)
        # The text layer lies over the image: the title's line inside the page, in its upper half.
        title = figures.nth(0).locator("svg.preview-text text", has_text="关于加快我市低空经济产业发展的几点建议")
        line = title.bounding_box()
        assert box["x"] <= line["x"] and line["x"] + line["width"] <= box["x"] + box["width"] + 1
        assert box["y"] + 0.3 * box["height"] < line["y"] < box["y"] + 0.6 * box["height"]
        # … and can be selected and copied as text.
        selected = title.evaluate("""node => {
            const range = document.createRange(); range.selectNodeContents(node);
            const selection = window.getSelection(); selection.removeAllRanges(); selection.addRange(range);
            return selection.toString(); }""")
        assert selected == "关于加快我市低空经济产业发展的几点建议"
        # A screen reader gets the page's text, in reading order, not an image to guess at.
        tree = figures.nth(0).aria_snapshot()
        assert "- group:" in tree and "本期专报：王建国书记、李明代市长" in tree and "关于加快我市低空经济产业发展的几点建议" in tree
        assert tree.index("本期专报") < tree.index("关于加快我市") < tree.index("当前，")
        # The last page: its folio and the colophon with the print run, at the foot.
        last = figures.nth(count - 1)
        last.scroll_into_view_if_needed()
        colophon = last.locator("svg.preview-text text", has_text="共印").bounding_box()
        last_box = last.locator("img").bounding_box()
        assert colophon["y"] > last_box["y"] + 0.8 * last_box["height"]
        page.screenshot(path=str(ARTIFACTS / f"{device}-last-page.png"))
        page.screenshot(path=str(ARTIFACTS / f"{device}-full.png"), full_page=True)
        context.close()
