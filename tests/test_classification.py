"""Classified issues (a 密级 the series classifies) are read only by the roles the series allows,
besides their author and reviewers and archivists — on the page, in lists and in search. No
administrator's role reads them (三员分立), and who reads them is the security administrator's
setting, not the system administrator's."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from extensions import db
from models import Brief, Series, User
from workflows.brief import State
from workflows.policy import can_read, readable_clause


def classify(app, series_id, levels="内部", readers=""):
    with app.app_context():
        series = db.session.get(Series, series_id)
        series.classified_levels, series.classified_readers = levels, readers
        db.session.commit()


@pytest.fixture
def classified(app, make_brief, series_id):
    classify(app, series_id)
    return make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5), classification="内部",
                      title="关于某项内部事项的专题报告")


@pytest.mark.parametrize("persona,visible", [
    ("drafter", True),  # the author
    ("editor", True), ("signer", True),  # reviewed it
    ("archivist", True),
    ("admin", False), ("security_admin", False), ("auditor", False), ("clerk", False),
    ("drafter2", False), ("editor_signer", True),
])
def test_a_classified_issue_is_read_only_by_those_allowed(app, classified, login_as, persona, visible):
    client = login_as(persona)
    assert client.get(f"/briefs/{classified}").status_code == (200 if visible else 404)
    assert client.get(f"/briefs/{classified}/issue.pdf").status_code == (200 if visible else 404)
    if persona == "auditor":  # reads no brief: not even the lists
        for url in ("/briefs", "/archive", "/archive/search?q=内部事项"):
            assert client.get(url).status_code == 403, url
        return
    assert (f"/briefs/{classified}\"" in client.get("/briefs").get_data(as_text=True)) == visible
    assert (f"/briefs/{classified}\"" in client.get("/archive").get_data(as_text=True)) == visible
    found = client.get("/archive/search?q=内部事项").get_data(as_text=True)
    assert (f"/briefs/{classified}\"" in found) == visible


def test_an_administrator_role_listed_as_reader_reads_nothing(app, classified, series_id, login_as):
    """Even if a series' readers name an administrator's role (set before 三员分立), it does not count."""
    classify(app, series_id, readers="admin,security_admin,auditor")
    for persona in ("admin", "security_admin", "auditor"):
        assert login_as(persona).get(f"/briefs/{classified}").status_code == 404, persona
    classify(app, series_id, readers="clerk")
    assert login_as("clerk").get(f"/briefs/{classified}").status_code == 200


def test_the_series_can_let_a_role_read_them(app, classified, series_id, login_as):
    assert login_as("drafter2").get(f"/briefs/{classified}").status_code == 404
    classify(app, series_id, readers="drafter")
    assert login_as("drafter2").get(f"/briefs/{classified}").status_code == 200


def test_other_levels_stay_open(app, make_brief, series_id, login_as):
    classify(app, series_id, levels="秘密")
    brief_id = make_brief(State.PUBLISHED, classification="内部")
    assert login_as("drafter2").get(f"/briefs/{brief_id}").status_code == 200


def test_lists_agree_with_the_page_for_classified_issues(app, classified, make_brief, people, series_id):
    make_brief(State.PUBLISHED, issue_date=date(2026, 2, 1), classification="")
    with app.app_context():
        briefs = db.session.scalars(select(Brief)).all()
        for name, user_id in people.items():
            user = db.session.get(User, user_id)
            listed = set(db.session.scalars(select(Brief.id).where(readable_clause(user, Brief))))
            assert listed == {b.id for b in briefs if can_read(user, b)}, name


def test_the_security_admin_sets_classified_levels_and_readers(app, series_id, login_as):
    with app.app_context():
        version = db.session.get(Series, series_id).version
    url = f"/admin/series/{series_id}/classification"
    # Not the system administrator: their series form has no such fields, and this page is not theirs.
    admin = login_as("admin")
    assert 'name="classified_levels"' not in admin.get(f"/admin/series/{series_id}").get_data(as_text=True)
    assert admin.get(url).status_code == 403
    assert admin.post(url, {"classified_levels": "", "version": str(version)}).status_code == 403
    security = login_as("security_admin")
    page = security.get(url).get_data(as_text=True)
    assert 'name="classified_levels"' in page and 'value="editor"' in page
    for role in ("admin", "security_admin", "auditor"):  # an administrator's role is not offered
        assert f'value="{role}"' not in page
    refused = security.post(url, {"classified_levels": "秘密", "classified_readers": ["admin"], "version": str(version)})
    assert refused.status_code == 422
    response = security.post(url, {"classified_levels": "秘密，机密", "classified_readers": ["editor", "signer"],
                                   "version": str(version)})
    assert response.status_code == 302
    with app.app_context():
        series = db.session.get(Series, series_id)
        assert series.classified_level_set == {"秘密", "机密"}
        assert series.classified_reader_set == {"editor", "signer"}
        assert series.name == "领导参阅"
    # A stale form is refused and saves nothing.
    stale = security.post(url, {"classified_levels": "", "classified_readers": [], "version": str(version)})
    assert stale.status_code == 409
    with app.app_context():
        assert db.session.get(Series, series_id).classified_level_set == {"秘密", "机密"}
