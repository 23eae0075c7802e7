"""The audit trail: every move writes an event; the keyed, twice-chained trail and its anchors
outside the database expose an edited, inserted or deleted event, a rewritten history whose
hashes were all recomputed, a brief deleted with all its events, the newest events cut off,
and an archival PDF swapped for another."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, func, insert, select, text, update

from audittrail.verify import verify_audit
from extensions import db
from models import AuditChain, AuditEvent, Brief, Revision, StoredFile
from publishing.storage import FileStore
from tests.conftest import ANCHOR_FILE, FILES_DIR, make_app
from workflows.audit import GENESIS, LEGACY_KEY_ID, current_keyring, legacy_hash
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


def recompute_everything_without_the_key(app):
    """What an attacker with full database access can do: recompute every hash in both chains
    and both heads, the way the unkeyed trail was hashed."""
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.global_seq)).all()
        brief_heads: dict[int, str] = {}
        global_prev = GENESIS
        for number, ev in enumerate(rows, start=1):
            prev = brief_heads.get(ev.brief_id, GENESIS) if ev.brief_id is not None else GENESIS
            ev_hash = legacy_hash(ev, prev)
            db.session.execute(update(AuditEvent.__table__).where(AuditEvent.__table__.c.id == ev.id).values(
                prev_hash=prev, hash=ev_hash, global_seq=number, global_prev_hash=global_prev))
            if ev.brief_id is not None:
                brief_heads[ev.brief_id] = ev_hash
            global_prev = ev_hash
        for brief_id, head in brief_heads.items():
            db.session.execute(update(Brief.__table__).where(Brief.__table__.c.id == brief_id).values(audit_head=head))
        db.session.execute(update(AuditChain).values(seq=len(rows), head=global_prev))
        db.session.commit()


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
    assert trail[0].prev_hash == GENESIS and trail[1].prev_hash == trail[0].hash
    # The installation's chain runs through the same events, keyed with the current key (the
    # editor's sign-in, a security event, took the number between the second and the third).
    assert [e.global_seq for e in trail] == [1, 2, 4]
    assert trail[1].global_prev_hash == trail[0].hash and {e.key_id for e in trail} == {"test1"}


def test_history_is_shown_on_the_brief_page(app, make_brief, login_as):
    brief_id = make_brief(State.IN_REVIEW)
    login_as("editor").act(brief_id, "return", "标题需要更精炼")
    page = login_as("drafter").get(f"/briefs/{brief_id}").get_data(as_text=True)
    assert "标题需要更精炼" in page and "李青" in page


def test_intact_trail_verifies_and_every_commit_is_anchored(app, make_brief):
    make_brief(State.PUBLISHED)
    make_brief(State.IN_REVIEW)
    code, output = verify(app)
    assert code == 0, output
    assert "audit trail intact" in output and "of 2 briefs" in output and "1 archival PDFs" in output
    anchors = [json.loads(line) for line in ANCHOR_FILE.read_text().splitlines()]
    with app.app_context():
        chain = db.session.get(AuditChain, 1)
        assert anchors[-1]["seq"] == chain.seq and anchors[-1]["head"] == chain.head
        publication = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "publish"))
    assert [a["n"] for a in anchors] == list(range(1, len(anchors) + 1))
    assert {"seq": publication.global_seq, "head": publication.hash}.items() <= next(
        a for a in anchors if a["seq"] == publication.global_seq).items()  # anchored at its publish


def test_editing_an_event_is_detected(app, make_brief):
    brief_id = make_brief(State.SIGNED)
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.brief_id == brief_id, AuditEvent.seq == 2)
                           .values(actor_name="别人"))
        db.session.commit()
    code, output = verify(app)
    assert code == 1
    assert f"TAMPERED brief {brief_id}: event #2" in output


def test_a_rewritten_history_with_every_hash_recomputed_is_detected(app, make_brief):
    brief_id = make_brief(State.SIGNED)
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.brief_id == brief_id, AuditEvent.action == "sign")
                           .values(actor_name="另一位领导"))
        db.session.commit()
    recompute_everything_without_the_key(app)
    code, output = verify(app)
    assert code == 1, output
    assert "does not match its keyed hash" in output


def test_deleting_a_whole_brief_with_all_its_events_is_detected(app, make_brief):
    doomed = make_brief(State.IN_REVIEW, title="要被抹去的稿件")
    make_brief(State.DRAFT)  # written later, so the doomed brief's events are not the newest
    with app.app_context():
        for table in ("distribution_entry", "revision", "audit_event"):
            db.session.execute(text(f"DELETE FROM {table} WHERE brief_id = :b"), {"b": doomed})
        db.session.execute(delete(Brief).where(Brief.id == doomed))
        db.session.commit()
        assert db.session.get(Brief, doomed) is None
    code, output = verify(app)
    assert code == 1, output
    assert "of the installation's chain are missing" in output


def test_cutting_off_the_newest_event_and_moving_the_heads_back_is_detected(app, make_brief):
    brief_id = make_brief(State.SIGNED)
    with app.app_context():
        last = db.session.scalar(select(AuditEvent).order_by(AuditEvent.global_seq.desc()).limit(1))
        assert last.brief_id == brief_id and last.action == "sign"
        db.session.execute(delete(AuditEvent.__table__).where(AuditEvent.__table__.c.id == last.id))
        # Both heads moved back to the event before, as a careful attacker would.
        db.session.execute(update(Brief.__table__).where(Brief.__table__.c.id == brief_id)
                           .values(audit_head=last.prev_hash))
        db.session.execute(update(AuditChain).values(seq=last.global_seq - 1, head=last.global_prev_hash))
        db.session.commit()
    with app.app_context():  # without the anchors, the database alone looks consistent
        report = verify_audit(db.session, current_keyring(), None, None)
        assert not report.tampered, report.breaks
    code, output = verify(app)
    assert code == 1, output
    assert "which the database no longer holds" in output


def test_deleting_an_event_in_the_middle_is_detected(app, make_brief):
    brief_id = make_brief(State.SIGNED)
    with app.app_context():
        db.session.execute(delete(AuditEvent).where(AuditEvent.brief_id == brief_id, AuditEvent.seq == 2))
        db.session.commit()
    code, output = verify(app)
    assert code == 1 and f"TAMPERED brief {brief_id}: event #3" in output


def test_inserting_a_well_formed_unkeyed_event_is_detected(app, make_brief):
    brief_id = make_brief(State.SIGNED)
    last = events(app, brief_id)[-1]
    forged = AuditEvent(
        brief_id=brief_id, seq=last.seq + 1, subject_type="brief", subject_id=brief_id, action="publish",
        from_state="signed", to_state="published", actor_id=None, actor_name="伪造者",
        created_at=datetime.now(UTC), reason=None, revision=1, prev_hash=last.hash, hash="",
        global_seq=last.global_seq + 1, global_prev_hash=last.hash, key_id=LEGACY_KEY_ID,
    )
    forged.hash = legacy_hash(forged, last.hash)
    with app.app_context():
        values = {c.name: getattr(forged, c.key) for c in AuditEvent.__table__.columns if c.name != "id"}
        db.session.execute(insert(AuditEvent).values(**values))
        db.session.execute(update(Brief.__table__).where(Brief.__table__.c.id == brief_id).values(audit_head=forged.hash))
        db.session.execute(update(AuditChain).values(seq=forged.global_seq, head=forged.hash))
        db.session.commit()
    code, output = verify(app)
    assert code == 1 and "predate the audit keys" in output


def test_the_pdf_must_carry_the_head_before_publication(app, make_brief):
    """A master swapped for another PDF, its row updated to match (so fixity passes), is caught:
    the PDF no longer carries the head the trail holds for its publication."""
    from publishing.services import pdf_renderer
    from rendering.printing import printed_issue_from_brief

    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 3, 2))
    with app.app_context(), app.test_request_context():
        brief = db.session.get(Brief, brief_id)
        fake = pdf_renderer().render(printed_issue_from_brief(brief, specimen=False),
                                     extra_metadata={"canyue-audit-head": "f" * 64})
        blob = FileStore(FILES_DIR).put(fake.data)
        (FILES_DIR / brief.master.path).unlink()
        db.session.execute(update(StoredFile).where(StoredFile.brief_id == brief_id, StoredFile.kind == "master")
                           .values(path=blob.path, sha256=blob.sha256, size=blob.size))
        db.session.commit()
    assert app.test_cli_runner().invoke(args=["archive", "verify"]).exit_code == 0  # fixity alone is satisfied
    code, output = verify(app)
    assert code == 1 and "carries another audit head" in output


def test_legacy_events_are_sealed_by_a_keyed_checkpoint(app, make_brief):
    """Events from before the keys: plain SHA-256, key id legacy. The next event seals them;
    rewriting one afterwards (recomputing its brief's unkeyed chain) breaks the seal."""
    brief_id = make_brief(State.IN_REVIEW)
    with app.app_context():  # turn the trail into what the migration leaves of an old one
        for ev in db.session.scalars(select(AuditEvent).order_by(AuditEvent.global_seq)).all():
            db.session.execute(update(AuditEvent.__table__).where(AuditEvent.__table__.c.id == ev.id)
                               .values(key_id=LEGACY_KEY_ID))
        db.session.commit()
        prev = GENESIS
        for ev in db.session.scalars(select(AuditEvent).order_by(AuditEvent.global_seq)).all():
            new_hash = legacy_hash(ev, prev)
            db.session.execute(update(AuditEvent.__table__).where(AuditEvent.__table__.c.id == ev.id)
                               .values(prev_hash=prev, hash=new_hash, global_prev_hash=prev))
            prev = new_hash
        count = db.session.scalar(select(func.count(AuditEvent.id)))
        db.session.execute(update(Brief.__table__).values(audit_head=prev))
        db.session.execute(update(AuditChain).values(seq=count, head=prev, legacy_sealed=False))
        db.session.commit()
    ANCHOR_FILE.unlink()  # the old trail had no anchors
    code, output = verify(app)
    assert code == 0 and "not sealed yet" in output

    result = app.test_cli_runner().invoke(args=["audit", "seal"])
    assert result.exit_code == 0 and "sealed" in result.output
    with app.app_context():
        checkpoint = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "checkpoint"))
        assert checkpoint.global_seq == count + 1 and checkpoint.key_id == "test1"
        assert db.session.get(AuditChain, 1).legacy_sealed
    code, output = verify(app)
    assert code == 0, output

    with app.app_context():  # rewrite the legacy submit event and its brief's unkeyed chain
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.brief_id == brief_id)
                                  .order_by(AuditEvent.seq)).all()
        db.session.execute(update(AuditEvent.__table__).where(AuditEvent.__table__.c.id == rows[1].id)
                           .values(actor_name="冒名者"))
        db.session.commit()
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.brief_id == brief_id)
                                  .order_by(AuditEvent.seq)).all()
        prev = GENESIS
        for ev in rows:
            new_hash = legacy_hash(ev, prev)
            db.session.execute(update(AuditEvent.__table__).where(AuditEvent.__table__.c.id == ev.id)
                               .values(prev_hash=prev, hash=new_hash))
            prev = new_hash
        db.session.execute(update(Brief.__table__).where(Brief.__table__.c.id == brief_id).values(audit_head=prev))
        db.session.commit()
    code, output = verify(app)
    assert code == 1 and "no longer match their seal" in output


def test_keys_rotate_and_a_missing_key_is_unverifiable_not_tampered(make_brief, tmp_path):
    keys_file = tmp_path / "audit-keys.json"
    keyed = make_app(CANYUE_AUDIT_KEYS=None, CANYUE_AUDIT_KEY_ID=None, CANYUE_AUDIT_KEYS_FILE=str(keys_file))
    runner = keyed.test_cli_runner()
    assert "written" in runner.invoke(args=["audit", "keygen"]).output
    assert keys_file.stat().st_mode & 0o777 == 0o600
    first = json.loads(keys_file.read_text())["current"]
    with keyed.app_context():
        brief_id = make_brief(State.DRAFT)  # (the factory uses the session app; keys differ)
    ANCHOR_FILE.unlink(missing_ok=True)
    with keyed.app_context():
        db.session.execute(delete(AuditEvent.__table__))
        db.session.execute(delete(AuditChain))
        db.session.execute(update(Brief.__table__).values(audit_head=None))
        db.session.commit()
    result = runner.invoke(args=["brief", "export", str(brief_id)])  # any read; now write two events
    assert result.exit_code == 0
    from workflows.transitions import record_event

    with keyed.app_context():
        brief = db.session.get(Brief, brief_id)
        record_event(db.session, brief, "note", None, from_state="draft", to_state="draft")
        db.session.commit()
    rotated = runner.invoke(args=["audit", "rotate-key"])
    assert rotated.exit_code == 0, rotated.output
    second = json.loads(keys_file.read_text())["current"]
    assert second != first and set(json.loads(keys_file.read_text())["keys"]) == {first, second}
    with keyed.app_context():
        record_event(db.session, db.session.get(Brief, brief_id), "note", None, from_state="draft", to_state="draft")
        db.session.commit()
        assert [e.key_id for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.global_seq))] == [
            first, second]
    code, output = verify(keyed)
    assert code == 0, output

    stored = json.loads(keys_file.read_text())
    del stored["keys"][first]
    keys_file.write_text(json.dumps(stored))
    code, output = verify(make_app(CANYUE_AUDIT_KEYS=None, CANYUE_AUDIT_KEY_ID=None,
                                   CANYUE_AUDIT_KEYS_FILE=str(keys_file)))
    assert code == 2, output
    assert "UNVERIFIABLE" in output and first in output and "TAMPERED" not in output


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
        chain = db.session.get(AuditChain, 1)
    trail = events(app, brief_id)
    assert head == trail[-1].hash == chain.head and chain.seq == trail[-1].global_seq
    assert Revision  # (imported for the deletion test's table list)
