"""The security log lives in the keyed audit trail: its events are chained and anchored with
the rest, so removing one is detected."""

from __future__ import annotations

from sqlalchemy import delete

from extensions import db
from models import AuditEvent, User
from securitylog.operations import event_detail, log_security_event, security_events


def test_security_events_are_part_of_the_verified_trail(app, people):
    with app.app_context():
        admin = db.session.get(User, people["admin"])
        log_security_event(db.session, "roles_changed", admin, subject_id=people["editor"],
                           detail={"added": ["signer"], "ip": "127.0.0.1"})
        log_security_event(db.session, "login_failed", None, actor_name="nobody", detail={"username": "nobody"})
        db.session.commit()
        rows = db.session.scalars(security_events()).all()
        assert [r.action for r in rows] == ["login_failed", "roles_changed"]
        assert event_detail(rows[1]) == {"added": ["signer"], "ip": "127.0.0.1"}
        assert rows[0].actor_name == "nobody" and rows[0].brief_id is None
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
    with app.app_context():
        first = db.session.scalars(security_events(actions=["roles_changed"])).one()
        db.session.execute(delete(AuditEvent.__table__).where(AuditEvent.__table__.c.id == first.id))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "missing" in result.output
