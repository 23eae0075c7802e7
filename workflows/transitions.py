"""The operations that change a brief: create, save a revision, apply a transition.

Each re-checks the policy inside the transaction, writes its audit event, flushes and never
commits; the caller (a view, a command, the publishing pipeline) commits once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from inbox import due
from models import AuditChain, AuditEvent, Brief, Revision
from models.brief import CONTENT_FIELDS, EMPTY_CONTENT
from models.types import utcnow
from workflows import distribution, limits
from workflows.audit import (
    GENESIS,
    LEGACY_KEY_ID,
    Keyring,
    checkpoint_reason,
    current_keyring,
    event_hash,
    legacy_digest,
)
from workflows.brief import TRANSITIONS, State
from workflows.i18n import N_
from workflows.policy import EDIT, Decision, can, may

LockT = TypeVar("LockT")

# Called by apply_transition after every move, in its transaction, with (session, brief, actor,
# event): side effects of a move that are written with it (notifications/moves.py registers the
# notifications). A listener writes rows, flushes and never commits; if it raises, the move fails.
MOVE_LISTENERS: list[Callable[[Session, Brief, Any, AuditEvent], None]] = []


class ActionRefused(Exception):
    """The policy refused the action; `decision` says why (and which HTTP answer fits)."""

    def __init__(self, decision: Decision):
        super().__init__(decision.message)
        self.decision = decision


class StaleBrief(Exception):
    """The brief changed since the user loaded the form."""


class InvalidAction(Exception):
    """The action is permitted but its input is not acceptable (a missing reason, an empty body).
    The message is marked for translation; `params` fill its %(name)s places."""

    def __init__(self, message: str, **params: Any):
        super().__init__(message)
        self.params = params


def check_move(actor: Any, brief: Brief, action: str, expected_version: int | None) -> None:
    decision = can(actor, brief, action)
    if not decision:
        raise ActionRefused(decision)
    if expected_version is not None and expected_version != brief.version:
        raise StaleBrief(N_("Someone else changed this brief after you opened it."))


def record_event(
    session: Session,
    brief: Brief | None,
    action: str,
    actor: Any,
    *,
    from_state: str | None,
    to_state: str | None,
    reason: str | None = None,
    subject_type: str = "brief",
    subject_id: int | None = None,
    now: datetime | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """Append an event to the brief's chain and the installation's, and move both heads.
    With no brief, an event of the installation's own (the security log, a checkpoint).

    Locks in a fixed order, so that concurrent writers wait rather than collide or deadlock:
    what the session has pending is flushed first (a stale brief fails there, as a conflict),
    then the brief's row, then the installation's chain; the sequence numbers are read only
    under those locks. The locks are held until the caller commits.
    """
    if brief is not None and brief.id is None:
        session.flush()
    session.flush()
    keyring = current_keyring()
    if brief is not None:
        _lock_brief_row(session, brief)
    global_seq, global_prev = _lock_global_chain(session, keyring, now)
    with session.no_autoflush:
        last_seq = None if brief is None else session.scalar(
            select(AuditEvent.seq).where(AuditEvent.brief_id == brief.id).order_by(AuditEvent.seq.desc()).limit(1)
        )
    event = AuditEvent(
        brief_id=brief.id if brief is not None else None,
        seq=(last_seq or 0) + 1 if brief is not None else None,
        subject_type=subject_type,
        subject_id=subject_id if subject_id is not None else (brief.id if brief is not None else 0),
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor_id=_doer(actor).id if actor is not None else None,
        actor_name=actor_name or _actor_name(actor),
        created_at=now or utcnow(),
        reason=reason or None,
        revision=(brief.revision_number or None) if brief is not None else None,
        prev_hash=(brief.audit_head or GENESIS) if brief is not None else GENESIS,
        global_seq=global_seq,
        global_prev_hash=global_prev,
        key_id=keyring.current,
    )
    event.hash = event_hash(event, event.prev_hash, keyring)
    session.add(event)
    session.execute(update(AuditChain).where(AuditChain.id == 1).values(head=event.hash))
    if brief is not None:
        brief.audit_head = event.hash
    session.info.setdefault("audit_appended", []).append((event.global_seq, event.hash, action))
    return event


def _doer(actor: Any) -> Any:
    """Who made the move: the delegate when one acts for a colleague (委托)."""
    return getattr(actor, "delegate", None) or actor


def _actor_name(actor: Any) -> str:
    """The name the audit trail records: "吴刚（代李青办理）" for a delegate's move."""
    if actor is None:
        return "system"
    delegate = getattr(actor, "delegate", None)
    if delegate is None:
        return str(actor.display_name)
    return f"{delegate.display_name}（代{actor.display_name}办理）"[:64]


def _lock_brief_row(session: Session, brief: Brief) -> None:
    """Lock the brief's row and adopt its committed head and version.

    The session has no pending change to the brief here (it was just flushed, and a stale
    brief was refused by that flush), so what another transaction committed meanwhile (a
    copy move of the same issue moving the head) is taken over rather than overwritten."""
    locked = session.execute(
        update(Brief.__table__)
        .where(Brief.__table__.c.id == brief.id)
        .values(audit_head=Brief.__table__.c.audit_head, updated_at=Brief.__table__.c.updated_at)
        .returning(Brief.__table__.c.version, Brief.__table__.c.audit_head)
    ).one()
    set_committed_value(brief, "version", locked.version)
    set_committed_value(brief, "audit_head", locked.audit_head)


def _lock_global_chain(session: Session, keyring: Keyring, now: datetime | None) -> tuple[int, str]:
    """Take the next global sequence number under the chain's lock: (seq, previous hash).
    Legacy events waiting for their seal are sealed first, by a checkpoint event."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(AuditChain).values(id=1, seq=0, head=GENESIS, legacy_sealed=True).on_conflict_do_nothing())
    seq, head, sealed = session.execute(
        update(AuditChain).where(AuditChain.id == 1).values(seq=AuditChain.seq + 1)
        .returning(AuditChain.seq, AuditChain.head, AuditChain.legacy_sealed)
    ).one()
    if sealed:
        return seq, head
    digest = legacy_digest(session.execute(
        select(AuditEvent.global_seq, AuditEvent.hash).where(AuditEvent.key_id == LEGACY_KEY_ID)
        .order_by(AuditEvent.global_seq)
    ).all())
    checkpoint = AuditEvent(
        brief_id=None, seq=None, subject_type="audit", subject_id=0, action="checkpoint",
        from_state=None, to_state=None, actor_id=None, actor_name="system", created_at=now or utcnow(),
        reason=checkpoint_reason(seq - 1, digest), revision=None, prev_hash=GENESIS,
        global_seq=seq, global_prev_hash=head, key_id=keyring.current,
    )
    checkpoint.hash = event_hash(checkpoint, GENESIS, keyring)
    session.add(checkpoint)
    session.flush()
    session.execute(update(AuditChain).where(AuditChain.id == 1).values(
        seq=seq + 1, head=checkpoint.hash, legacy_sealed=True))
    session.info.setdefault("audit_appended", []).append((seq, checkpoint.hash, "checkpoint"))
    return seq + 1, checkpoint.hash


def _snapshot(session: Session, brief: Brief, actor: Any, now: datetime) -> Revision:
    brief.revision_number += 1
    revision = Revision(
        brief=brief,
        number=brief.revision_number,
        created_by_id=actor.id,
        created_at=now,
        state=brief.state,
        **brief.content(),
    )
    session.add(revision)
    return revision


def normalise_content(content: Mapping[str, Any]) -> dict[str, Any]:
    """The content given, checked against the limits of workflows/limits.py (ContentRefused)."""
    unknown = set(content) - set(CONTENT_FIELDS)
    if unknown:
        raise ValueError(f"not content fields: {sorted(unknown)}")
    limits.check_content(dict(content))
    return dict(content)


def create_brief(session: Session, author: Any, series: Any, content: Mapping[str, Any], *,
                 correction_of: Brief | None = None, correction_kind: str | None = None,
                 reason: str | None = None) -> Brief:
    """A new draft with its first revision, authored by `author`.

    With `correction_of`, the correction draft (更正) of that issue: allowed by the issue's
    `correct` move rather than by the drafter's role (corrections/editions.py makes it)."""
    decision = can(author, correction_of, "correct") if correction_of is not None else may(author, "create_brief")
    if not decision:
        raise ActionRefused(decision)
    now = utcnow()
    fields = {**EMPTY_CONTENT, **normalise_content(content)}
    if not fields["special_report"] and series.id is not None and correction_of is None:
        # A brief starts from its series' default distribution list (workflows.distribution).
        fields["special_report"] = distribution.series_special_labels(session, series.id)
    brief = Brief(series=series, author_id=author.id, state=State.DRAFT.value, created_at=now, revision_number=0,
                  state_since=now)
    if correction_of is not None:
        brief.corrects_id = correction_of.id
        brief.correction_kind = correction_kind
    for field, value in fields.items():
        setattr(brief, field, value)
    session.add(brief)
    _snapshot(session, brief, author, now)
    session.flush()
    distribution.start_distribution(session, brief)
    record_event(session, brief, "create" if correction_of is None else "correction_of", author,
                 from_state=None, to_state=State.DRAFT.value, reason=reason, now=now)
    session.flush()
    return brief


def snapshot_revision(session: Session, brief: Brief, actor: Any, now: datetime) -> Revision:
    """A new immutable revision of the brief's content as it is now (for moves that set the
    content themselves, such as a 更正版 replacing an issue's text)."""
    return _snapshot(session, brief, actor, now)


def save_revision(
    session: Session,
    brief: Brief,
    actor: Any,
    content: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Revision | None:
    """Save an edit as a new immutable revision; None when nothing changed."""
    check_move(actor, brief, EDIT, expected_version)
    changes = {k: v for k, v in normalise_content(content).items() if getattr(brief, k) != v}
    if not changes:
        return None
    now = utcnow()
    for field, value in changes.items():
        setattr(brief, field, value)
    revision = _snapshot(session, brief, actor, now)
    if "special_report" in changes:
        distribution.sync_special_entries(session, brief)  # the 专报 entries are this line
    record_event(session, brief, "edit", actor, from_state=brief.state, to_state=brief.state, now=now)
    session.flush()
    return revision


def apply_transition(
    session: Session,
    brief: Brief,
    action: str,
    actor: Any,
    *,
    comment: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """Move `brief` by `action`: re-check, record, write the audit event, flush.
    `actor_name`: how the event names its actor, when not just by their name (代签:
    "李秘书代王志远")."""
    transition = TRANSITIONS[action]
    check_move(actor, brief, action, expected_version)
    comment = (comment or "").strip() or None
    if transition.reason_required and not comment:
        raise InvalidAction(N_("Please give a reason."))
    if transition.comment is None:
        comment = None
    if action == "submit" and not (brief.title.strip() and brief.body.strip()):
        raise InvalidAction(N_("A brief needs a title and a body before it can be submitted."))
    now = now or utcnow()
    source = brief.state
    target = transition.target_for(State(source)).value
    if transition.effect is not None:
        transition.effect(brief, actor, now, comment)
    brief._transition_in_progress = True
    try:
        brief.state = target
    finally:
        brief._transition_in_progress = False
    if target != source:
        brief.state_since = now
    due.refresh(session, brief)
    event = record_event(session, brief, action, actor, from_state=source, to_state=target, reason=comment, now=now,
                         actor_name=actor_name)
    session.flush()
    for listener in MOVE_LISTENERS:
        listener(session, brief, actor, event)
    return event


def begin_locked_move(
    session: Session,
    brief_id: int,
    actor: Any,
    action: str,
    take_lock: Callable[[Brief], LockT],
    *,
    expected_version: int | None = None,
) -> tuple[Brief, LockT]:
    """Start a move that must hold a lock until commit (publishing's numbering, filing's 件号).

    The lock must be the transaction's first write, so the session starts clean; the brief is
    reloaded after the lock, as the winner of a race left it, and checked again. On refusal
    everything is rolled back.
    """
    session.rollback()
    brief = session.get(Brief, brief_id)
    if brief is None:
        raise LookupError(brief_id)
    try:
        check_move(actor, brief, action, None)  # refuse before waiting for any lock
        held = take_lock(brief)
        session.refresh(brief)
        check_move(actor, brief, action, expected_version)
    except BaseException:
        session.rollback()
        raise
    return brief, held
