"""从 Word 导入 in a real browser (Debian's chromium, driven by Playwright): the drafter opens
新建稿件, follows 从 Word 导入, uploads a .docx typed as drafters type it, and lands on the new
draft with its title, headings, table and picture; then 下载 Word 版 hands back a .docx.
Screenshots at desktop (1280×800) and phone (390×844) sizes land in
test-artifacts/browser/word-*.png (the README shows the import page)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests import wordsamples as ws
from tests.test_browser import ARTIFACTS, TIMEOUT_MS, chromium, live_server, log_in  # noqa: F401, F811 (fixture)
from wordfiles.reader import read_docx

pytestmark = pytest.mark.browser


def test_import_from_word_in_the_browser(app: Flask, live_server: str, series_id: int, tmp_path: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "低空经济调研.docx"
    source.write_bytes(ws.typed_docx())
    with chromium() as browser:
        page = log_in(browser, live_server, "drafter")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.click("header nav a[href='/briefs/new']")
        page.click("a[data-import-word]")
        page.wait_for_url(re.compile(r"/briefs/import-word$"))
        page.screenshot(path=str(ARTIFACTS / "word-import-desktop.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / "word-import-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.select_option("select#series_id", str(series_id))
        page.set_input_files("input#file", str(source))
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r"/briefs/\d+/edit$"))
        expect(page.locator("#title")).to_have_value(ws.TITLE)
        body = page.locator("textarea#body").input_value()
        assert "# 一、发展态势" in body and "| 深圳 | 1700 | 960 |" in body and "![图1 各地低空经济规模](image:" in body
        page.screenshot(path=str(ARTIFACTS / "word-imported-draft.png"), full_page=True)
        brief_id = re.search(r"/briefs/(\d+)/edit", page.url).group(1)
        page.goto(f"/briefs/{brief_id}")
        with page.expect_download() as download:
            page.click("a[data-file=docx]")
        data = open(download.value.path(), "rb").read()
        assert read_docx(data, "export.docx").title == ws.TITLE
        page.goto(f"/briefs/{brief_id}")
        expect(page.locator("p.figure img")).to_have_count(1)
        assert page.locator("p.figure img").evaluate("img => img.naturalWidth") == 600
        # The preview shows the specimen's pages; the figure's caption is in their text layer.
        page.goto(f"/briefs/{brief_id}/preview")
        expect(page.locator(".preview-text text", has_text="图1 各地低空经济规模")).to_have_count(1)
        assert page.locator(".preview-sheet img").first.evaluate("img => img.naturalWidth") > 0
        page.screenshot(path=str(ARTIFACTS / "word-preview.png"), full_page=True)
        page.context.close()
