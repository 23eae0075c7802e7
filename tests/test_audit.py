"""The audit trail: every move writes an event; the hash chain exposes any edit, insertion
or deletion of an event, the last one included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, insert, select, update

from commands.audit import find_breaks
from extensions import db
from models import AuditEvent, Brief
from workflows.audit import event_hash
from workflows.brief import State


def events(app, brief_id):
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.brief_id == brief_id).order_by(AuditEvent.seq)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def verify(app):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def test_every_move_is_recorded_with_actor_states_reason_and_revision(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    login_as("editor").act(brief_id, "return", "请补充数据来源")
    trail = events(app, brief_id)
    assert [(e.action, e.from_state, e.to_state) for e in trail] == [
        ("create", None, "draft"), ("submit", "draft", "in_review"), ("return", "in_review", "draft"),
    ]
    last = trail[-1]
    assert last.actor_name == "李青" and last.reason == "请补充数据来源" and last.revision == 1
    assert [e.seq for e in trail] == [1, 2, 3]
    assert trail[0].prev_hash == "0" * 64 and trail[1].prev_hash == trail[0].hash


def test_history_is_shown_on_the_brief_page(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    login_as("editor").act(brief_id, "return", "标题需要更精炼")
    page = login_as("drafter").get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert "标题需要更精炼" in page and "李青" in page


def test_intact_chains_verify(app, make_brief):
    make_brief(State.PUBLISHED)
    make_brief(State.IN_REVIEW)
    code, output = verify(app)
    assert code == 0, output
    assert "intact for 2 briefs" in output


def test_editing_an_event_is_detected(app, make_brief):
    brief_id = make_brief(State.SIGNED)
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.brief_id == brief_id, AuditEvent.seq == 2)
                           .values(actor_name="别人"))
        db.session.commit()
    code, output = verify(app)
    assert code == 1
    assert f"brief {brief_id}: event #2" in output


def test_deleting_the_last_event_is_detected(app, make_brief):
    brief_id = make_brief(State.SIGNED)
    last = events(app, brief_id)[-1]
    with app.app_context():
        db.session.execute(delete(AuditEvent).where(AuditEvent.id == last.id))
        db.session.commit()
    code, output = verify(app)
    assert code == 1
    assert f"brief {brief_id}: head" in output


def test_deleting_an_event_in_the_middle_is_detected(app, make_brief):
    brief_id = make_brief(State.SIGNED)
    with app.app_context():
        db.session.execute(delete(AuditEvent).where(AuditEvent.brief_id == brief_id, AuditEvent.seq == 2))
        db.session.commit()
    code, output = verify(app)
    assert code == 1 and f"brief {brief_id}: event #3" in output


def test_inserting_a_well_formed_event_is_detected(app, make_brief):
    """Even an event with a correct hash linked to the last one breaks the chain's head."""
    brief_id = make_brief(State.SIGNED)
    last = events(app, brief_id)[-1]
    forged = AuditEvent(
        brief_id=brief_id, seq=last.seq + 1, subject_type="brief", subject_id=brief_id, action="publish",
        from_state="signed", to_state="published", actor_id=None, actor_name="伪造者",
        created_at=datetime.now(UTC), reason=None, revision=1, prev_hash=last.hash, hash="",
    )
    forged.hash = event_hash(forged, last.hash)
    with app.app_context():
        values = {c.name: getattr(forged, c.key) for c in AuditEvent.__table__.columns if c.name != "id"}
        db.session.execute(insert(AuditEvent).values(**values))
        db.session.commit()
        assert find_breaks()[0].brief_id == brief_id
    assert verify(app)[0] == 1


def test_events_cannot_be_changed_through_the_application(app, make_brief):
    brief_id = make_brief(State.DRAFT)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.brief_id == brief_id))
        event.reason = "改写历史"
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEvent, event.id))
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()


def test_the_head_moves_with_every_event(app, make_brief):
    brief_id = make_brief(State.AWAITING_SIGNOFF)
    with app.app_context():
        head = db.session.get(Brief, brief_id).audit_head
    assert head == events(app, brief_id)[-1].hash
