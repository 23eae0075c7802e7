"""Every role × every screen and general action: what each of the eight roles reaches and what
it is refused, with the three administrators (三员分立) kept apart. Written from the issue and
DESIGN.md ("Who uses it"), not read from the code. The brief lifecycle's own matrix is in
test_lifecycle_matrix.py, the copies' in test_copy_matrix.py."""

from __future__ import annotations

import re

from datetime import date

import pytest
from sqlalchemy import select

from extensions import db
from models import Series, User
from tests.conftest import fetch
from workflows.brief import State
from workflows.policy import BROWSE_BRIEFS, GENERAL_ACTIONS, can, may

ROLES = ["drafter", "editor", "signer", "archivist", "admin", "clerk", "security_admin", "auditor", "secretary"]
ALL = set(ROLES)

# General actions (may): who is granted; every other role is refused.
MAY: dict[str, set[str]] = {
    BROWSE_BRIEFS: ALL - {"auditor"},
    "create_brief": {"drafter"},
    "view_users": {"admin", "security_admin"},
    "manage_users": {"admin"},
    "assign_roles": {"security_admin"},
    "unlock_accounts": {"security_admin"},
    "set_security_policy": {"security_admin"},
    "view_series": {"admin", "security_admin"},
    "manage_series": {"admin"},
    "classify_series": {"security_admin"},
    "manage_archive": {"archivist"},
    "manage_recipients": {"editor", "admin"},
    "view_recipients": {"editor", "clerk", "archivist", "admin"},
    "distribution": {"editor", "clerk"},
    "follow_ups": {"editor", "clerk"},  # 批示落实
    "manage_secretaries": {"security_admin"},  # 代签: who acts for whom
    "view_security_log": {"auditor"},
    "view_audit_trail": {"auditor"},
    "verify_audit": {"auditor"},
    # Issue 12: 委托 (a role that works briefs or copies), the organisation's days off (admin).
    "delegate": {"drafter", "editor", "signer", "archivist", "clerk"},
    "manage_days_off": {"admin"},
    # The admin retries a failed background job (jobs/); 成果统计 for editors and leaders.
    "retry_jobs": {"admin"},
    # Issue 15: the admin runs backup, fixity verification, reindex, PDF backfill as jobs.
    "run_maintenance": {"admin"},
    "view_statistics": {"editor", "signer"},
}


def test_every_general_action_has_its_expectation():
    assert set(MAY) == set(GENERAL_ACTIONS) | {BROWSE_BRIEFS}


@pytest.mark.parametrize("role", ROLES)
def test_general_actions(app, people, role):
    with app.app_context():
        user = db.session.get(User, people[role])
        for action, granted in MAY.items():
            assert bool(may(user, action)) == (role in granted), (role, action)


# Screens (GET) → the roles that get 200. `expected_status` says what the others get.
SCREENS: dict[str, set[str]] = {
    "/briefs": ALL - {"auditor"},
    "/archive": ALL - {"auditor"},
    "/archive/search?q=低空": ALL - {"auditor"},
    "/briefs/new": {"drafter"},
    "/admin/users": {"admin", "security_admin"},
    "/admin/users/new": {"admin"},
    "/admin/users/{drafter2}": {"admin"},
    "/admin/users/{drafter2}/roles": {"security_admin"},
    "/admin/series": {"admin", "security_admin"},
    "/admin/series/new": {"admin"},
    "/admin/series/{series}": {"admin"},
    "/admin/series/{series}/classification": {"security_admin"},
    "/archive/sequences": {"archivist"},
    "/archive/import": {"archivist"},
    "/distribution": {"editor", "clerk"},
    "/recipients": {"editor", "clerk", "archivist", "admin"},
    "/recipients/new": {"editor", "admin"},
    "/series/{series}/distribution": {"editor", "admin"},
    "/audit/security-log": {"auditor"},
    "/audit/security-log.csv": {"auditor"},
    "/audit/trail": {"auditor"},
    "/audit/trail.csv": {"auditor"},
    "/follow-ups": {"editor", "clerk"},
    "/security/secretaries": {"security_admin"},
    "/admin/days-off": {"admin"},
    "/statistics": {"editor", "signer"},
    "/notifications": ALL,
    "/jobs": {"archivist", "admin"},  # long work they started (views/work.py)
}
# A brief's pages: published and open, published at a classified level, a draft.
BRIEF_PAGES = ["/briefs/{id}", "/briefs/{id}/preview", "/briefs/{id}/changes", "/briefs/{id}/issue.pdf"]
READS = {
    "open": ALL - {"auditor"},  # every account, except the auditor's
    # Its author, those who reviewed and signed it, archivists; no administrator, no other account.
    "classified": {"drafter", "editor", "signer", "archivist"},
    "draft": {"drafter"},
}


def fill(url: str, values: dict[str, int]) -> str:
    for key, value in values.items():
        url = url.replace("{" + key + "}", str(value))
    return url


@pytest.fixture
def briefs(app, make_brief, series_id) -> dict[str, int]:
    with app.app_context():
        series = db.session.get(Series, series_id)
        series.classified_levels, series.classified_readers = "秘密", ""
        db.session.commit()
    return {
        "open": make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5), classification=""),
        "classified": make_brief(State.PUBLISHED, issue_date=date(2026, 1, 6), classification="秘密"),
        "draft": make_brief(State.DRAFT),
    }


@pytest.mark.parametrize("role", ROLES)
def test_screens(app, people, series_id, briefs, login_as, role):
    client = login_as(role)
    values = {"drafter2": people["drafter2"], "series": series_id}
    problems = []
    for url, granted in SCREENS.items():
        status = client.get(fill(url, values)).status_code
        if status != (200 if role in granted else 403):
            problems.append(f"{url}: {status}")
    for kind, brief_id in briefs.items():
        for url in BRIEF_PAGES:
            if url.endswith("issue.pdf") and kind == "draft":
                continue
            status = client.get(fill(url, {"id": brief_id})).status_code
            if status != (200 if role in READS[kind] else 404):
                problems.append(f"{kind} {url}: {status}")
    # 我的待办: the auditor, who reads no brief, starts at the security log instead.
    home = client.get("/")
    # The admin, who moves no brief, starts at the system status.
    if role == "auditor":
        assert home.status_code == 302 and home.headers["Location"].endswith("/audit/security-log")
    elif role == "admin":
        assert home.status_code == 302 and home.headers["Location"].endswith("/admin")
    else:
        assert home.status_code == 200
    assert not problems, problems


# The menu shows each role's entries (and only those), as the policy allows them.
MENU: dict[str, set[str]] = {
    "/": ALL - {"auditor"},
    "/briefs": ALL - {"auditor"},
    "/archive": ALL - {"auditor"},
    "/briefs/new": {"drafter"},
    "/admin/users": {"admin", "security_admin"},
    "/admin/series": {"admin", "security_admin"},
    "/archive/sequences": {"archivist"},
    "/distribution": {"editor", "clerk"},
    "/recipients": {"archivist", "admin"},  # editors and clerks reach it through 分发
    "/audit/security-log": {"auditor"},
    "/audit/trail": {"auditor"},
    "/follow-ups": {"editor", "clerk"},
    "/security/secretaries": {"security_admin"},
    "/admin/days-off": {"admin"},
    "/jobs": {"archivist", "admin"},
}


@pytest.mark.parametrize("role", ROLES)
def test_the_menu(app, people, login_as, role):
    page = login_as(role).get("/account").get_data(as_text=True)
    nav = re.split(r"<nav[^>]*>", page, maxsplit=1)[1].split("</nav>", 1)[0]
    shown = {href for href in MENU if f'href="{href}"' in nav}
    assert shown == {href for href, roles in MENU.items() if role in roles}


# POSTs that only one administrator may make.
@pytest.mark.parametrize("role", ROLES)
def test_administrators_acts(app, people, series_id, login_as, role):
    client = login_as(role)
    # Grant a role: the security administrator only.
    response = client.post(f"/admin/users/{people['drafter2']}/roles", {"roles": ["drafter", "archivist"]})
    assert response.status_code == (302 if role == "security_admin" else 403)
    with app.app_context():
        held = db.session.get(User, people["drafter2"]).role_set
    assert held == ({"drafter", "archivist"} if role == "security_admin" else {"drafter"})
    # Create an account: the admin only (and it holds no role).
    response = client.post("/admin/users/new", {"username": f"new_{role}", "display_name": "新人", "locale": "zh_CN",
                                                "active": "y", "password": "long enough password"})
    assert response.status_code == (302 if role == "admin" else 403)
    with app.app_context():
        created = db.session.scalar(select(User).where(User.username == f"new_{role}"))
        assert (created is not None) == (role == "admin")
        assert created is None or created.role_set == frozenset()
    # Classify a series' levels: the security administrator only.
    with app.app_context():
        version = db.session.get(Series, series_id).version
    response = client.post(f"/admin/series/{series_id}/classification",
                           {"classified_levels": "秘密", "classified_readers": ["editor"], "version": str(version)})
    assert response.status_code == (302 if role == "security_admin" else 403)
    # Verify the audit trail: the auditor only.
    response = client.post("/audit/verify", {})
    assert response.status_code == (200 if role == "auditor" else 403)


ACCOUNT_ACTIONS = ["edit_account", "reset_password", "deactivate", "activate", "assign_roles"]


@pytest.mark.parametrize("role", ROLES)
def test_account_actions(app, people, role):
    """can(user, account, action): on an ordinary account, on each administrator's, on one's own."""
    with app.app_context():
        actor = db.session.get(User, people[role])
        for target in ("drafter2", "admin", "security_admin", "auditor"):
            account = db.session.get(User, people[target])
            for action in ACCOUNT_ACTIONS:
                if action == "assign_roles":
                    granted = role == "security_admin" and target != role
                else:
                    # The admin changes accounts, except those of the two who watch them, and
                    # does not deactivate themselves.
                    granted = role == "admin" and target not in ("security_admin", "auditor") and not (
                        target == "admin" and action == "deactivate")
                assert bool(can(actor, account, action)) == granted, (role, target, action)


def test_the_auditor_reads_no_brief_anywhere(app, make_brief, login_as, briefs):
    """Not a page, not a PDF, not a list entry, not a search hit — but the log and the trail."""
    auditor = login_as("auditor")
    published = briefs["open"]
    for url in (f"/briefs/{published}", f"/briefs/{published}/issue.pdf", f"/briefs/{published}/preview",
                f"/briefs/{published}/preview.pdf", f"/briefs/{published}/changes", f"/briefs/{published}/edit",
                f"/briefs/{published}/distribution", f"/briefs/{published}/copies", f"/briefs/{published}/file"):
        assert auditor.get(url).status_code == 404, url
    assert auditor.act(published, "archive").status_code == 404
    trail = auditor.get("/audit/trail").get_data(as_text=True)
    assert "关于加快我市低空经济产业发展的几点建议" not in trail  # the trail names briefs by number only
    assert f"稿件 {published}" in trail or f"Brief {published}" in trail
    assert fetch(app, published).state == State.PUBLISHED.value
