"""The progress bar in a real browser: an archivist starts an export from the archive, the
job's page shows a <progress> that static/jobs.js moves as the worker writes issue after
issue, and when the job ends the page shows the download link, which downloads the bag.
Screenshots (1280 × 800 and 390 × 844): test-artifacts/browser/job-*.png (the README shows copies
of them from docs/screenshots/; a test run never rewrites the checkout)."""

from __future__ import annotations

import threading
import zipfile
from datetime import date
from pathlib import Path

import pytest

from jobs.worker import drain
from tests.test_browser import chromium, live_server, log_in  # noqa: F401
from workflows.brief import State

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"


def test_the_progress_bar_moves_and_the_result_downloads(app, make_brief, live_server, monkeypatch,  # noqa: F811
                                                        tmp_path):
    with chromium() as browser:
        run(app, make_brief, browser, live_server, monkeypatch, tmp_path)


def run(app, make_brief, browser, live_server, monkeypatch, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    for month in (1, 2, 3):
        make_brief(State.PUBLISHED, issue_date=date(2026, month, 1))
    monkeypatch.setitem(app.config, "CANYUE_JOB_STEP_DELAY", 2.5)  # time to look at the bar
    page = log_in(browser, live_server, "archivist")
    page.click("form.language-switch button[value=en]")
    page.goto("/archive")
    page.click("form.inline-export button[type=submit]")
    page.wait_for_url(f"{live_server}/jobs/*")
    bar = page.locator("progress#job-progress")
    expect(bar).to_be_visible()
    assert bar.get_attribute("value") is None  # queued: no steps known yet

    worker = threading.Thread(target=drain, args=(app,), daemon=True)
    worker.start()
    try:
        expect(bar).to_have_attribute("value", "1", timeout=10_000)  # jobs.js read the JSON status
        expect(bar).to_have_attribute("max", "4")
        expect(page.locator("[data-job-count]")).to_have_text("1 of 4 steps")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(SHOTS / "job-progress-desktop.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / "job-progress-phone.png"))
        expect(bar).to_have_attribute("value", "2", timeout=10_000)

        link = page.locator("a[href$='/download']")
        expect(link).to_be_visible(timeout=20_000)  # done: the page reloaded with the result
        expect(page.locator("[data-state=done]")).to_contain_text("3 issues, bag validated")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(SHOTS / "job-done-desktop.png"))
        with page.expect_download() as download:
            link.click()
        saved = tmp_path / "bag.zip"
        download.value.save_as(saved)
        assert zipfile.is_zipfile(saved)
    finally:
        worker.join(timeout=60)
