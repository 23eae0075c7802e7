"""The operations that change a brief: create, save a revision, apply a transition.

Each re-checks the policy inside the transaction, writes its audit event, flushes and never
commits; the caller (a view, a command, the publishing pipeline) commits once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Brief, Revision
from models.brief import CONTENT_FIELDS, EMPTY_CONTENT
from models.types import utcnow
from workflows import distribution
from workflows.audit import GENESIS, event_hash
from workflows.brief import TRANSITIONS, State
from workflows.i18n import N_
from workflows.policy import EDIT, Decision, can, may

LockT = TypeVar("LockT")


class ActionRefused(Exception):
    """The policy refused the action; `decision` says why (and which HTTP answer fits)."""

    def __init__(self, decision: Decision):
        super().__init__(decision.message)
        self.decision = decision


class StaleBrief(Exception):
    """The brief changed since the user loaded the form."""


class InvalidAction(Exception):
    """The action is permitted but its input is not acceptable (a missing reason, an empty body)."""


def _check(actor: Any, brief: Brief, action: str, expected_version: int | None) -> None:
    decision = can(actor, brief, action)
    if not decision:
        raise ActionRefused(decision)
    if expected_version is not None and expected_version != brief.version:
        raise StaleBrief(N_("Someone else changed this brief after you opened it."))


def record_event(
    session: Session,
    brief: Brief,
    action: str,
    actor: Any,
    *,
    from_state: str | None,
    to_state: str | None,
    reason: str | None = None,
    subject_type: str = "brief",
    subject_id: int | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Append an event to the brief's chain and move the chain's head."""
    if brief.id is None:
        session.flush()
    # No autoflush: the brief's pending changes and its new head are written in one UPDATE.
    with session.no_autoflush:
        last_seq = session.scalar(
            select(AuditEvent.seq).where(AuditEvent.brief_id == brief.id).order_by(AuditEvent.seq.desc()).limit(1)
        )
    event = AuditEvent(
        brief_id=brief.id,
        seq=(last_seq or 0) + 1,
        subject_type=subject_type,
        subject_id=subject_id if subject_id is not None else brief.id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.display_name if actor is not None else "system",
        created_at=now or utcnow(),
        reason=reason or None,
        revision=brief.revision_number or None,
        prev_hash=brief.audit_head or GENESIS,
    )
    event.hash = event_hash(event, event.prev_hash)
    session.add(event)
    brief.audit_head = event.hash
    return event


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
    unknown = set(content) - set(CONTENT_FIELDS)
    if unknown:
        raise ValueError(f"not content fields: {sorted(unknown)}")
    return dict(content)


def create_brief(session: Session, author: Any, series: Any, content: Mapping[str, Any]) -> Brief:
    """A new draft with its first revision, authored by `author`."""
    decision = may(author, "create_brief")
    if not decision:
        raise ActionRefused(decision)
    now = utcnow()
    fields = {**EMPTY_CONTENT, **normalise_content(content)}
    if not fields["special_report"] and series.id is not None:
        # A brief starts from its series' default distribution list (workflows.distribution).
        fields["special_report"] = distribution.series_special_labels(session, series.id)
    brief = Brief(series=series, author_id=author.id, state=State.DRAFT.value, created_at=now, revision_number=0)
    for field, value in fields.items():
        setattr(brief, field, value)
    session.add(brief)
    _snapshot(session, brief, author, now)
    session.flush()
    distribution.start_distribution(session, brief)
    record_event(session, brief, "create", author, from_state=None, to_state=State.DRAFT.value, now=now)
    session.flush()
    return brief


def save_revision(
    session: Session,
    brief: Brief,
    actor: Any,
    content: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Revision | None:
    """Save an edit as a new immutable revision; None when nothing changed."""
    _check(actor, brief, EDIT, expected_version)
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
) -> AuditEvent:
    """Move `brief` by `action`: re-check, record, write the audit event, flush."""
    transition = TRANSITIONS[action]
    _check(actor, brief, action, expected_version)
    comment = (comment or "").strip() or None
    if transition.reason_required and not comment:
        raise InvalidAction(N_("Please give a reason."))
    if transition.comment is None:
        comment = None
    if action == "submit" and not (brief.title.strip() and brief.body.strip()):
        raise InvalidAction(N_("A brief needs a title and a body before it can be submitted."))
    now = now or utcnow()
    source = brief.state
    if transition.effect is not None:
        transition.effect(brief, actor, now, comment)
    brief._transition_in_progress = True
    try:
        brief.state = transition.target.value
    finally:
        brief._transition_in_progress = False
    event = record_event(
        session, brief, action, actor, from_state=source, to_state=transition.target.value, reason=comment, now=now
    )
    session.flush()
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
        _check(actor, brief, action, None)  # refuse before waiting for any lock
        held = take_lock(brief)
        session.refresh(brief)
        _check(actor, brief, action, expected_version)
    except BaseException:
        session.rollback()
        raise
    return brief, held
