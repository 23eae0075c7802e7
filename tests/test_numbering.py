"""Issue numbers: yearly restart, 总期号 from the configured start, 增刊 both ways, no
backdating, one past the highest held, gap-free under a race, nothing consumed on failure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from extensions import db
from models import AuditEvent, Brief, Series, User
from publishing import pipeline
from publishing.pipeline import default_issue_date, publish
from tests.conftest import FILES_DIR, act_together, fetch
from workflows.brief import State
from workflows.numbering import SupplementNumbering
from workflows.transitions import InvalidAction


def _publish(app, brief_id, issue_date=None, commit=None):
    with app.app_context():
        editor = db.session.scalar(select(User).where(User.username == "editor"))
        return publish(db.session, brief_id, editor, issue_date=issue_date, commit=commit)


def numbers(app, brief_id):
    b = fetch(app, brief_id)
    return (b.issue_year, b.issue_number, b.total_number)


def set_series(app, series_id, **settings):
    with app.app_context():
        series = db.session.get(Series, series_id)
        for key, value in settings.items():
            setattr(series, key, value)
        db.session.commit()


def test_first_issue_takes_the_configured_total_then_counts_on(app, make_brief):
    first = make_brief(State.PUBLISHED, issue_date=date(2026, 3, 2))
    second = make_brief(State.PUBLISHED, issue_date=date(2026, 3, 9))
    assert numbers(app, first) == (2026, 1, 31)
    assert numbers(app, second) == (2026, 2, 32)


def test_issue_number_restarts_each_year_total_does_not(app, make_brief):
    december = make_brief(State.PUBLISHED, issue_date=date(2025, 12, 30))
    january = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5))
    assert numbers(app, december) == (2025, 1, 31)
    assert numbers(app, january) == (2026, 1, 32)


def test_default_issue_date_is_the_signoff_day_in_the_series_time_zone(app, make_brief):
    brief_id = make_brief(State.SIGNED)
    with app.app_context():
        brief = db.session.get(Brief, brief_id)
        # 17:30 UTC on New Year's Eve is already 1 January in Shanghai.
        db.session.execute(update(Brief).where(Brief.id == brief_id).values(
            signed_at=datetime(2025, 12, 31, 17, 30, tzinfo=UTC)))
        db.session.commit()
        db.session.refresh(brief)
        assert default_issue_date(brief) == date(2026, 1, 1)
    _publish(app, brief_id)
    assert fetch(app, brief_id).issue_date == date(2026, 1, 1)
    assert numbers(app, brief_id) == (2026, 1, 31)


def test_supplement_shares_the_regular_sequence_by_default(app, make_brief):
    regular = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 10))
    supplement = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 28), supplement=True)
    after = make_brief(State.PUBLISHED, issue_date=date(2026, 2, 1))
    assert numbers(app, regular) == (2026, 1, 31)
    assert numbers(app, supplement) == (2026, 2, 32)
    assert numbers(app, after) == (2026, 3, 33)


def test_supplement_can_have_its_own_sequence(app, make_brief, series_id):
    set_series(app, series_id, supplement_numbering=SupplementNumbering.SEPARATE.value)
    regular = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 10))
    supplement = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 28), supplement=True)
    after = make_brief(State.PUBLISHED, issue_date=date(2026, 2, 1))
    supplement2 = make_brief(State.PUBLISHED, issue_date=date(2026, 2, 3), supplement=True)
    assert numbers(app, regular) == (2026, 1, 31)
    assert numbers(app, supplement) == (2026, 1, 1)
    assert numbers(app, after) == (2026, 2, 32)
    assert numbers(app, supplement2) == (2026, 2, 2)
    assert fetch(app, supplement).number_sequence == "supplement"


def test_backdated_issue_date_is_refused_and_nothing_changes(app, make_brief):
    make_brief(State.PUBLISHED, issue_date=date(2026, 3, 1))
    late = make_brief(State.SIGNED)
    with pytest.raises(InvalidAction):
        _publish(app, late, issue_date=date(2026, 2, 1))
    brief = fetch(app, late)
    assert brief.state == State.SIGNED.value and brief.issue_number is None and brief.total_number is None


def test_backdating_over_http_shows_the_reason(app, make_brief, login_as):
    make_brief(State.PUBLISHED, issue_date=date(2026, 3, 1))
    late = make_brief(State.SIGNED)
    client = login_as("editor")
    response = client.post(f"/briefs/{late}/publish", {"issue_date": "2026-02-01", "version": str(fetch(app, late).version)})
    assert response.status_code == 422
    assert "早于" in response.get_data(as_text=True)
    assert fetch(app, late).state == State.SIGNED.value


def test_next_number_is_one_past_the_highest_held(app, make_brief, series_id):
    # An imported past issue holds 总第99期; Canyue continues from it.
    imported = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5))
    with app.app_context():
        db.session.execute(update(Brief).where(Brief.id == imported).values(issue_number=7, total_number=99))
        db.session.commit()
    nxt = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 12))
    assert numbers(app, nxt) == (2026, 8, 100)


def test_configured_start_above_held_numbers_wins(app, make_brief, series_id):
    make_brief(State.PUBLISHED, issue_date=date(2026, 1, 5))
    set_series(app, series_id, first_total_number=200)
    assert numbers(app, make_brief(State.PUBLISHED, issue_date=date(2026, 1, 6))) == (2026, 2, 200)


def test_a_failing_step_rolls_everything_back(app, make_brief):
    brief_id = make_brief(State.SIGNED)
    events_before = _count_events(app, brief_id)
    stored = []

    def record_then_fail(ctx):
        stored.extend(ctx.written)
        raise RuntimeError("the disk went away")

    with pytest.raises(RuntimeError):
        _publish(app, brief_id, issue_date=date(2026, 5, 1), commit=[*pipeline.COMMIT_STEPS, record_then_fail])
    brief = fetch(app, brief_id)
    assert brief.state == State.SIGNED.value
    assert brief.issue_number is None and brief.published_at is None
    assert _count_events(app, brief_id) == events_before
    # The master and its copies had been stored; the failed attempt removed them again.
    assert len(stored) > 1 and not any((FILES_DIR / path).exists() for path in stored)
    # No number was consumed: the next publish takes 第1期.
    _publish(app, brief_id, issue_date=date(2026, 5, 1))
    assert numbers(app, brief_id) == (2026, 1, 31)


def _count_events(app, brief_id):
    with app.app_context():
        return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.brief_id == brief_id))


def test_twenty_concurrent_publishes_get_distinct_gap_free_numbers(app, make_brief, people):
    brief_ids = [make_brief(State.SIGNED) for _ in range(20)]
    act_together(app, people["editor"], brief_ids,
                 lambda editor, b: publish(db.session, b, editor, issue_date=date(2026, 6, 1)))
    got = sorted(numbers(app, b)[1:] for b in brief_ids)
    assert [issue for issue, _ in got] == list(range(1, 21))
    assert [total for _, total in got] == list(range(31, 51))
    assert all(fetch(app, b).state == State.PUBLISHED.value for b in brief_ids)


def publish_on(app, login_as, brief_id, day):
    return login_as("editor").post(f"/briefs/{brief_id}/publish",
                                   {"issue_date": day, "version": str(fetch(app, brief_id).version)})


def test_an_issue_date_far_ahead_is_refused_with_the_reason(app, make_brief, login_as):
    """2062 for 2026 is a typing error; accepted, it would make every later issue 'earlier
    than the latest'. Refused, nothing kept; a date within the horizon goes through."""
    brief_id = make_brief(State.SIGNED)
    response = publish_on(app, login_as, brief_id, "2062-01-05")
    assert response.status_code == 422
    assert "印发日期过于超前（超过 31 天之后）" in response.get_data(as_text=True)
    brief = fetch(app, brief_id)
    assert brief.state == State.SIGNED.value and brief.issue_number is None
    assert not [p for p in FILES_DIR.rglob("*") if p.is_file()]
    soon = (date.today() + timedelta(days=20)).isoformat()
    assert publish_on(app, login_as, brief_id, soon).status_code == 302


def test_a_print_run_over_the_cap_is_refused(app, make_brief, login_as, series_id):
    set_series(app, series_id, default_print_run=2001)
    brief_id = make_brief(State.SIGNED, special_report=[])
    response = publish_on(app, login_as, brief_id, "2026-05-04")
    assert response.status_code == 422
    assert "至多 2000 份" in response.get_data(as_text=True)
    assert fetch(app, brief_id).state == State.SIGNED.value
