"""The audit trail: append-only events, keyed and chained twice.

Each event's hash is an HMAC-SHA256 under a key that is not in the database (its id is
stored with the event, so keys can be rotated). The hash covers the event's fields and two
links: the previous event of the same brief (`prev_hash`, the brief's chain, whose latest
hash the brief keeps as `audit_head`) and the previous event of the whole installation
(`global_prev_hash`, with a gap-free `global_seq`). Without the key, nobody with database
access can rewrite an event and recompute the hashes after it; deleting a brief with all its
events leaves a gap in the global sequence; cutting off the newest events is caught against
the anchors written outside the database (audittrail/anchors.py).

Events written before keys existed keep their plain SHA-256 (key id `legacy`) and are sealed
by one keyed checkpoint event covering all of them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

GENESIS = "0" * 64
LEGACY_KEY_ID = "legacy"


class EventRecord(Protocol):
    brief_id: int | None
    seq: int | None
    subject_type: str
    subject_id: int | None
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
    key_id: str
    global_seq: int
    global_prev_hash: str


class MissingKey(Exception):
    """An event names a key id this installation does not hold."""


@dataclass(frozen=True)
class Keyring:
    """The audit keys: id -> secret. New events are keyed with `current`."""

    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError(f"the current audit key {self.current!r} is not in the keyring")
        if LEGACY_KEY_ID in self.keys:
            raise ValueError(f"{LEGACY_KEY_ID!r} is reserved for events written before keys existed")

    def secret(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise MissingKey(key_id) from None


def _fields(event: EventRecord, prev_hash: str) -> list[object]:
    return [
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


def _encode(payload: list[object]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def legacy_hash(event: EventRecord, prev_hash: str) -> str:
    """How events were hashed before keys: plain SHA-256, the brief's chain only."""
    return hashlib.sha256(_encode(_fields(event, prev_hash))).hexdigest()


def keyed_hash(event: EventRecord, prev_hash: str, secret: bytes) -> str:
    payload = [*_fields(event, prev_hash), event.global_seq, event.global_prev_hash, event.key_id]
    return hmac.new(secret, _encode(payload), hashlib.sha256).hexdigest()


def event_hash(event: EventRecord, prev_hash: str, keyring: Keyring) -> str:
    """The hash the event must carry; raises MissingKey for a key this keyring lacks."""
    if event.key_id == LEGACY_KEY_ID:
        return legacy_hash(event, prev_hash)
    return keyed_hash(event, prev_hash, keyring.secret(event.key_id))


def legacy_digest(events: Iterable[tuple[int, str]]) -> str:
    """What a checkpoint seals: the (global seq, hash) of every legacy event, in order."""
    digest = hashlib.sha256()
    for global_seq, event_hash_ in events:
        digest.update(f"{global_seq}:{event_hash_}\n".encode())
    return digest.hexdigest()


def checkpoint_reason(count: int, digest: str) -> str:
    return f"legacy events 1-{count} sealed; sha256 {digest}"


@dataclass(frozen=True)
class ChainBreak:
    brief_id: int | None  # None for the installation's global chain and its anchors
    seq: int | None  # the first event that does not verify; None when only the head is wrong
    problem: str


def verify_chain(
    brief_id: int, head: str | None, events: Iterable[EventRecord], keyring: Keyring
) -> ChainBreak | None:
    """The first broken link of one brief's chain (events in `seq` order), or None.

    Raises MissingKey when an event was keyed with a key this keyring does not hold: the
    chain is then unverifiable, not broken."""
    prev = GENESIS
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq:
            return ChainBreak(brief_id, ev.seq, f"expected event #{expected_seq}, found #{ev.seq}")
        if ev.prev_hash != prev:
            return ChainBreak(brief_id, ev.seq, "does not link to the previous event")
        if not hmac.compare_digest(event_hash(ev, prev, keyring), ev.hash):
            return ChainBreak(brief_id, ev.seq, "its content does not match its hash")
        prev = ev.hash
        expected_seq += 1
    if (head or GENESIS) != prev:
        return ChainBreak(brief_id, None, "the brief's chain head does not match its last event")
    return None


class NoKeyring(Exception):
    """No audit key is configured, so no event can be written."""


_keyring_provider: Callable[[], Keyring] | None = None


def provide_keyring(provider: Callable[[], Keyring]) -> None:
    """Where `current_keyring` finds the keys (set by the app: audittrail.keys)."""
    global _keyring_provider
    _keyring_provider = provider


def current_keyring() -> Keyring:
    if _keyring_provider is None:
        raise NoKeyring("no audit keyring is configured")
    return _keyring_provider()
