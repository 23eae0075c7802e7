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
