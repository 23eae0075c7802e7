"""Classified issues (a 密级 the series classifies) are read only by the roles the series allows,
besides their author and reviewers, archivists and admins — on the page, in lists and in search."""

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
    ("archivist", True), ("admin", True),
    ("drafter2", False), ("editor_signer", True),
])
def test_a_classified_issue_is_read_only_by_those_allowed(app, classified, login_as, persona, visible):
    client = login_as(persona)
    assert client.get(f"/briefs/{classified}").status_code == (200 if visible else 404)
    assert client.get(f"/briefs/{classified}/issue.pdf").status_code == (200 if visible else 404)
    assert (f"/briefs/{classified}\"" in client.get("/briefs").get_data(as_text=True)) == visible
    assert (f"/briefs/{classified}\"" in client.get("/archive").get_data(as_text=True)) == visible
    found = client.get("/archive/search?q=内部事项").get_data(as_text=True)
    assert (f"/briefs/{classified}\"" in found) == visible


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


def test_the_admin_sets_classified_levels_and_readers(app, series_id, login_as):
    admin = login_as("admin")
    page = admin.get(f"/admin/series/{series_id}").get_data(as_text=True)
    assert 'name="classified_levels"' in page
    with app.app_context():
        version = db.session.get(Series, series_id).version
    response = admin.post(f"/admin/series/{series_id}", {
        "name": "领导参阅", "hosts": "苏州太湖书院\n苏州太湖智库", "contact_phone": "", "address": "",
        "default_print_run": "30", "timezone": "Asia/Shanghai", "first_total_number": "31",
        "supplement_numbering": "shared", "active": "y", "version": str(version),
        "classified_levels": "秘密，机密", "classified_readers": ["editor", "signer"],
    })
    assert response.status_code == 302
    with app.app_context():
        series = db.session.get(Series, series_id)
        assert series.classified_level_set == {"秘密", "机密"}
        assert series.classified_reader_set == {"editor", "signer"}
