"""The audit trail: append-only events, hash-chained per brief.

Each event's hash covers its fields and the previous event's hash; the brief keeps the
latest hash as `audit_head`. Editing, inserting or deleting any event, the last one
included, breaks either a link or the head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

GENESIS = "0" * 64


class EventRecord(Protocol):
    brief_id: int
    seq: int
    subject_type: str
    subject_id: int
    action: str
    from_state: str | None
    to_state: str | None
    actor_id: int | None
    actor_name: str
    created_at: datetime
    reason: str | None
    revision: int | None
    prev_hash: str
    hash: str


def event_hash(event: EventRecord, prev_hash: str) -> str:
    payload = [
        prev_hash,
        event.brief_id,
        event.seq,
        event.subject_type,
        event.subject_id,
        event.action,
        event.from_state,
        event.to_state,
        event.actor_id,
        event.actor_name,
        event.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        event.reason,
        event.revision,
    ]
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    brief_id: int
    seq: int | None  # the first event that does not verify; None when only the head is wrong
    problem: str


def verify_chain(brief_id: int, head: str | None, events: Iterable[EventRecord]) -> ChainBreak | None:
    """The first broken link of one brief's chain (events in `seq` order), or None."""
    prev = GENESIS
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq:
            return ChainBreak(brief_id, ev.seq, f"expected event #{expected_seq}, found #{ev.seq}")
        if ev.prev_hash != prev:
            return ChainBreak(brief_id, ev.seq, "does not link to the previous event")
        if event_hash(ev, prev) != ev.hash:
            return ChainBreak(brief_id, ev.seq, "its content does not match its hash")
        prev = ev.hash
        expected_seq += 1
    if (head or GENESIS) != prev:
        return ChainBreak(brief_id, None, "the brief's chain head does not match its last event")
    return None


