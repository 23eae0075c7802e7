"""Registering a 批示 and keeping its follow-up. Set, flush, audit; never commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Brief, FollowUp, FollowUpNote, Instruction, Recipient, User
from models.types import utcnow
from publishing.storage import Store
from signoff.scans import store_scan
from workflows.i18n import N_
from workflows.instructions import ACT, INSTRUCTION_KINDS
from workflows.policy import FOLLOW_UP, REGISTER_INSTRUCTION, can
from workflows.roles import Role
from workflows.transitions import ActionRefused, InvalidAction, record_event


@dataclass(frozen=True)
class NewInstruction:
    leader_name: str
    level: str
    given_on: date | None
    text: str
    kind: str
    recipient_id: int | None = None
    responsible_name: str = ""
    owner_id: int | None = None
    due_on: date | None = None


def _today(brief: Brief) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(brief.series.timezone)).date()


def register_instruction(session: Session, store: Store, brief: Brief, actor: Any, new: NewInstruction, *,
                         levels: Sequence[str], scan: bytes = b"", scan_name: str = "",
                         today: date | None = None) -> Instruction:
    """Register one 批示 on an issued brief (an audit event of the brief); one that asks for
    action gets its follow-up."""
    decision = can(actor, brief, REGISTER_INSTRUCTION)
    if not decision:
        raise ActionRefused(decision)
    leader_name = new.leader_name.strip()
    recipient = session.get(Recipient, new.recipient_id) if new.recipient_id else None
    if new.recipient_id and recipient is None:
        raise InvalidAction(N_("That leader is not in the recipients directory."))
    if recipient is not None and not leader_name:
        leader_name = recipient.label
    if not leader_name:
        raise InvalidAction(N_("Please choose the leader from the directory or type their name."))
    if new.level not in levels:
        raise InvalidAction(N_("Please choose one of the levels."))
    if new.kind not in INSTRUCTION_KINDS:
        raise InvalidAction(N_("Please choose the kind of instruction."))
    text = new.text.strip()
    if not text:
        raise InvalidAction(N_("Please type the text of the instruction as written."))
    today = today or _today(brief)
    if new.given_on is None:
        raise InvalidAction(N_("Please give the date of the instruction."))
    if new.given_on > today:
        raise InvalidAction(N_("The date of the instruction cannot be in the future."))
    if brief.issue_date is not None and new.given_on < brief.issue_date:
        raise InvalidAction(N_("The date of the instruction cannot be before the issue's date (%(date)s)."),
                            date=brief.issue_date.isoformat())
    owner = None
    if new.kind == ACT:
        owner = session.get(User, new.owner_id) if new.owner_id else None
        if not new.responsible_name.strip():
            raise InvalidAction(N_("An instruction that asks for action needs someone responsible for it."))
        if owner is None or Role.EDITOR not in owner.role_set:
            raise InvalidAction(N_("Please choose the editor who follows the instruction up."))
        if new.due_on is None:
            raise InvalidAction(N_("An instruction that asks for action needs a due date."))
        if new.due_on < new.given_on:
            raise InvalidAction(N_("The due date cannot be before the instruction's date."))
    scan_row = store_scan(session, store, brief, "instruction_scan", scan, scan_name) if scan else None
    instruction = Instruction(brief_id=brief.id, leader_name=leader_name[:64], recipient_id=recipient.id if recipient else None,
                              level=new.level, given_on=new.given_on, text=text, kind=new.kind,
                              scan_id=scan_row.id if scan_row else None, registered_by_id=actor.id)
    session.add(instruction)
    session.flush()
    if owner is not None:
        session.add(FollowUp(instruction_id=instruction.id, responsible_name=new.responsible_name.strip()[:64],
                             owner_id=owner.id, due_on=new.due_on))
    record_event(session, brief, "register_instruction", actor, from_state=brief.state, to_state=brief.state,
                 reason=f"{leader_name}（{new.level}，{new.given_on.isoformat()}）：{text}",
                 subject_type="instruction", subject_id=instruction.id)
    session.flush()
    return instruction


def update_follow_up(session: Session, follow_up: FollowUp, actor: Any, *, note: str, done: bool) -> FollowUpNote | None:
    """A progress note and/or the done flag of a follow-up; an audit event of the brief."""
    brief = session.get(Brief, follow_up.instruction.brief_id)
    assert brief is not None
    decision = can(actor, brief, FOLLOW_UP)
    if not decision:
        raise ActionRefused(decision)
    note = (note or "").strip()
    if not note and done == follow_up.done:
        raise InvalidAction(N_("Please write a progress note or change the status."))
    row = None
    if note:
        row = FollowUpNote(follow_up_id=follow_up.id, author_id=actor.id, author_name=actor.display_name, text=note)
        session.add(row)
    if done != follow_up.done:
        follow_up.done = done
        follow_up.done_at = utcnow() if done else None
    status = "done" if follow_up.done else "open"
    record_event(session, brief, "follow_up", actor, from_state=brief.state, to_state=brief.state,
                 reason=f"[{status}] {note}".strip(), subject_type="instruction",
                 subject_id=follow_up.instruction_id)
    session.flush()
    session.expire(follow_up, ["notes"])
    return row


# --- reading ---------------------------------------------------------------------------------

def instructions_of(session: Session, brief: Brief) -> list[Instruction]:
    if brief.id is None:
        return []
    return list(session.scalars(select(Instruction).where(Instruction.brief_id == brief.id)
                                .order_by(Instruction.given_on, Instruction.id)))


def instructions_by_brief(session: Session, brief_ids: Sequence[int]) -> dict[int, list[Instruction]]:
    found: dict[int, list[Instruction]] = defaultdict(list)
    if brief_ids:
        for row in session.scalars(select(Instruction).where(Instruction.brief_id.in_(list(brief_ids)))
                                   .order_by(Instruction.given_on, Instruction.id)):
            found[row.brief_id].append(row)
    return dict(found)


def overdue_follow_ups(session: Session, user: Any, today: date | None = None) -> list[FollowUp]:
    """The follow-ups `user` (an editor) answers for that are past their due date and not
    done, oldest due first: what the inbox shows."""
    today = today or datetime.now(UTC).date()
    return list(session.scalars(select(FollowUp).where(
        FollowUp.owner_id == user.id, FollowUp.done.is_(False), FollowUp.due_on < today)
        .order_by(FollowUp.due_on, FollowUp.id)))
