"""The operations that move copies (workflows/copy.py) and recall an issue.

`apply_copy_transition` is the one function that moves a copy: it re-checks the policy and
the copy's state inside the transaction, records what it was told on the copy, writes the
audit event (subject "copy") into the issue's hash chain, flushes and never commits. The bulk
moves and the recall are loops over it. The caller (a view, a command) commits once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Brief, Copy, DistributionRecall
from models.types import utcnow
from workflows.copy import CLOSED_STATES, COPY_TRANSITIONS, CopyState, Medium, MoveDetails, Route
from workflows.i18n import N_
from workflows.policy import BULK_MOVES, RECALL, Decision, Refusal, can
from workflows.transitions import ActionRefused, InvalidAction, StaleBrief, record_event

# How a move reads in the audit trail: the organisation's own terms, like the names it records.
ROUTE_TERMS = {Route.COURIER: "机要交通", Route.HAND: "专人", Route.ELECTRONIC: "电子"}
PERSON_TERMS = {"dispatch": "经办人", "receive": "签收人", "return_copy": "交回人", "destroy": "销毁人"}
WITNESS_TERMS = {"return_copy": "见证人", "destroy": "监销人"}
# Clocks differ a little; a time further ahead than this is a typing error.
CLOCK_SKEW = timedelta(minutes=5)


class StaleCopy(StaleBrief):
    """The copy changed since the user loaded the form."""


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _summary(copy: Copy, action: str, details: MoveDetails) -> str:
    zone = ZoneInfo(copy.brief.series.timezone)
    parts = [f"份号 {copy.serial}"]
    if details.route is not None:
        parts.append(ROUTE_TERMS[details.route])
    if details.person:
        parts.append(f"{PERSON_TERMS.get(action, '')}：{details.person}")
    if details.witness:
        parts.append(f"{WITNESS_TERMS.get(action, '')}：{details.witness}")
    parts.append(details.when.astimezone(zone).strftime("%Y-%m-%d %H:%M"))
    if details.comment:
        parts.append(details.comment)
    return "；".join(parts)


def apply_copy_transition(
    session: Session,
    copy: Copy,
    action: str,
    actor: Any,
    *,
    when: datetime | None = None,
    person: str | None = None,
    route: Route | str | None = None,
    witness: str | None = None,
    comment: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Move `copy` by `action`: re-check, record, write the audit event, flush."""
    transition = COPY_TRANSITIONS[action]
    decision = can(actor, copy, action)
    if not decision:
        raise ActionRefused(decision)
    if expected_version is not None and expected_version != copy.version:
        raise StaleCopy(N_("Someone else changed this copy after you opened it."))
    now = now or utcnow()
    when = when or now
    if when.tzinfo is None:
        raise ValueError("naive datetime given for a copy move")
    person = _clean(person) if transition.person else None
    witness = _clean(witness) if transition.witness else None
    comment = _clean(comment) if transition.comment else None
    chosen_route = Route(route) if (transition.route and route) else None
    if transition.route and chosen_route is None:
        raise InvalidAction(N_("Please choose how the copy was sent."))
    if transition.person_required and not person:
        raise InvalidAction(N_("Please give the name of the person."))
    if transition.witness_required and not witness:
        raise InvalidAction(N_("A destruction needs a witness (监销人)."))
    if transition.reason_required and not comment:
        raise InvalidAction(N_("Please say what happened."))
    if when > now + CLOCK_SKEW:
        raise InvalidAction(N_("The time cannot be in the future."))
    published = copy.brief.published_at or copy.created_at
    if published is not None and when < published - CLOCK_SKEW:
        raise InvalidAction(N_("The time cannot be before the issue was published."))
    earlier = getattr(copy, transition.after_field) if transition.after_field else None
    if earlier is not None and when < earlier:
        raise InvalidAction(N_("The time cannot be before the copy was dispatched."))
    details = MoveDetails(actor=actor, when=when, person=person, route=chosen_route, witness=witness, comment=comment)
    source = copy.state
    if transition.effect is not None:
        transition.effect(copy, details)
    copy._transition_in_progress = True
    try:
        copy.state = transition.target.value
    finally:
        copy._transition_in_progress = False
    event = record_event(
        session, copy.brief, action, actor, from_state=source, to_state=transition.target.value,
        reason=_summary(copy, action, details), subject_type="copy", subject_id=copy.id, now=now,
    )
    session.flush()
    return event


def copies_of(session: Session, brief_id: int) -> list[Copy]:
    return list(session.scalars(select(Copy).where(Copy.brief_id == brief_id).order_by(Copy.number)))


def _check_bulk(session: Session, brief: Brief, actor: Any, expected_version: int | None) -> None:
    decision = can(actor, brief, BULK_MOVES)
    if not decision:
        raise ActionRefused(decision)
    if expected_version is not None and expected_version != brief.version:
        raise StaleBrief(N_("Someone else changed this issue's distribution after you opened it."))


def dispatch_all(
    session: Session, brief: Brief, actor: Any, *, route: Route | str, person: str | None = None,
    when: datetime | None = None, expected_version: int | None = None,
) -> int:
    """Dispatch every copy of the issue still in the office; electronic ones electronically."""
    _check_bulk(session, brief, actor, expected_version)
    count = 0
    for copy in copies_of(session, brief.id):
        if copy.state != CopyState.PRINTED.value or copy.recalled:
            continue
        chosen = Route.ELECTRONIC if copy.medium == Medium.ELECTRONIC.value else Route(route)
        apply_copy_transition(session, copy, "dispatch", actor, route=chosen, person=person, when=when)
        count += 1
    return count


def record_receipts(
    session: Session, brief: Brief, actor: Any, receipts: Iterable[tuple[int, str]], *,
    when: datetime | None = None, expected_version: int | None = None,
) -> int:
    """Record a batch of receipts (签收): (copy id, who signed) for copies of this issue."""
    _check_bulk(session, brief, actor, expected_version)
    wanted = dict(receipts)
    count = 0
    for copy in copies_of(session, brief.id):
        if copy.id in wanted:
            apply_copy_transition(session, copy, "receive", actor, person=wanted.pop(copy.id), when=when)
            count += 1
    if wanted:
        raise InvalidAction(N_("Some of the chosen copies are not copies of this issue."))
    return count


def recall_of(session: Session, brief_id: int) -> DistributionRecall | None:
    return session.get(DistributionRecall, brief_id)


def recall_issue(session: Session, brief: Brief, actor: Any, reason: str | None, *,
                 expected_version: int | None = None) -> int:
    """收回: flag every copy not yet returned (or destroyed); the number flagged."""
    decision = can(actor, brief, RECALL)
    if not decision:
        raise ActionRefused(decision)
    if recall_of(session, brief.id) is not None:
        raise ActionRefused(Decision(Refusal.STATE, N_("This issue has been recalled already.")))
    if expected_version is not None and expected_version != brief.version:
        raise StaleBrief(N_("Someone else changed this issue's distribution after you opened it."))
    reason = _clean(reason)
    if not reason:
        raise InvalidAction(N_("Please give a reason."))
    return recall_copies(session, brief, actor, reason)


def recall_copies(session: Session, brief: Brief, actor: Any, reason: str, now: datetime | None = None) -> int:
    """The recall itself, for a move already allowed (收回, or 作废 which recalls the issue):
    flag every copy not yet returned (or destroyed), record it; the number flagged. An issue
    recalled already stays as it was (0)."""
    if recall_of(session, brief.id) is not None:
        return 0
    now = now or utcnow()
    flagged = 0
    for copy in copies_of(session, brief.id):
        if CopyState(copy.state) not in CLOSED_STATES:
            copy.recalled = True
            flagged += 1
    session.add(DistributionRecall(brief_id=brief.id, reason=reason, recalled_at=now, recalled_by_id=actor.id,
                                   recalled_by_name=actor.display_name))
    record_event(session, brief, "recall", actor, from_state=brief.state, to_state=brief.state,
                 reason=reason, now=now)
    session.flush()
    return flagged
