"""`audit verify`: every brief's chain, the installation's chain, the anchors outside the
database, and the audit head printed in each archival PDF.

What it tells apart: a *break* (something was changed, inserted or deleted: exit 1) and what
it cannot check (*unverifiable*: events keyed with a key this installation does not hold, as
after a restore with `--no-keys`), which is reported but is not evidence of tampering.
"""

from __future__ import annotations

import hmac
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from audittrail.anchors import check_anchor_log, read_anchors
from models import AuditChain, AuditEvent, Brief, StoredFile
from publishing.storage import Store, FixityError
from workflows.audit import (
    GENESIS,
    LEGACY_KEY_ID,
    ChainBreak,
    Keyring,
    MissingKey,
    checkpoint_reason,
    event_hash,
    legacy_digest,
    verify_chain,
)


@dataclass
class AuditReport:
    briefs: int = 0
    events: int = 0
    anchors: int = 0
    pdfs: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)
    missing_keys: set[str] = field(default_factory=set)
    unverifiable_briefs: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def tampered(self) -> bool:
        return bool(self.breaks)

    @property
    def verifiable(self) -> bool:
        return not self.missing_keys


class _NoKeys:
    """The keyring of an installation that holds no audit key at all (say, restored from a
    backup with --no-keys): every keyed event and anchor is unverifiable, none is tampered."""

    keys: dict[str, bytes] = {}

    def secret(self, key_id: str) -> bytes:
        raise MissingKey(key_id)


def verify_audit(session: Session, keyring: Keyring | None, anchor_path: Path | None,
                 store: Store | None) -> AuditReport:
    report = AuditReport()
    keyring = keyring if keyring is not None else _NoKeys()  # type: ignore[assignment]
    anchored = _anchored_seqs(report, keyring, anchor_path)
    seen = _verify_global_chain(session, keyring, report, anchored)
    _verify_briefs(session, keyring, report)
    _verify_anchors_against_chain(report, anchored, seen)
    if store is not None:
        _verify_pdf_heads(session, store, report)
    return report


def _anchored_seqs(report: AuditReport, keyring: Keyring, path: Path | None) -> dict[int, tuple[int, str]]:
    """global seq -> (anchor number, head) for every anchor; problems of the log itself."""
    if path is None:
        return {}
    anchors = read_anchors(path)
    report.anchors = len(anchors)
    problems, missing = check_anchor_log(anchors, keyring)
    report.missing_keys |= missing
    for problem in problems:
        report.breaks.append(ChainBreak(None, None, f"anchor #{problem.n}: {problem.problem}"))
    return {a.seq: (a.n, a.head) for a in anchors}


def _verify_global_chain(
    session: Session, keyring: Keyring, report: AuditReport, anchored: dict[int, tuple[int, str]]
) -> dict[int, str]:
    """Walk every event in global order; returns the hashes found at anchored positions."""
    seen: dict[int, str] = {}
    expected, prev = 1, GENESIS
    legacy: list[tuple[int, str]] = []
    keyed_seen = False
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.global_seq).execution_options(yield_per=1000))
    for ev in rows:
        report.events += 1
        where = f"global event #{ev.global_seq}"
        if ev.global_seq != expected:
            report.breaks.append(ChainBreak(None, ev.global_seq, f"events #{expected}–#{ev.global_seq - 1} of the "
                                                                 "installation's chain are missing"))
        elif ev.global_prev_hash != prev:
            report.breaks.append(ChainBreak(None, ev.global_seq, f"{where} does not link to the event before it"))
        if ev.key_id == LEGACY_KEY_ID:
            if keyed_seen:
                report.breaks.append(ChainBreak(None, ev.global_seq, f"{where} claims to predate the audit keys "
                                                                     "but follows keyed events"))
            legacy.append((ev.global_seq, ev.hash))
        else:
            keyed_seen = True
            try:
                if not hmac.compare_digest(event_hash(ev, ev.prev_hash, keyring), ev.hash):
                    report.breaks.append(ChainBreak(ev.brief_id, ev.seq, f"{where}: its content does not match "
                                                                         "its keyed hash"))
            except MissingKey as missing:
                report.missing_keys.add(str(missing))
            if ev.action == "checkpoint" and ev.brief_id is None:
                if ev.reason != checkpoint_reason(len(legacy), legacy_digest(legacy)):
                    report.breaks.append(ChainBreak(None, ev.global_seq, "the events written before the audit "
                                                                         "keys no longer match their seal"))
                legacy = []
        if ev.global_seq in anchored:
            seen[ev.global_seq] = ev.hash
        expected, prev = ev.global_seq + 1, ev.hash
    if legacy:
        report.notes.append(f"{len(legacy)} events written before the audit keys are not sealed yet "
                            "(the next event seals them)")
    chain = session.get(AuditChain, 1)
    if chain is not None and (chain.seq, chain.head) != (expected - 1, prev):
        report.breaks.append(ChainBreak(None, None, "the installation's chain head does not match its last event"))
    if chain is None and report.events:
        report.breaks.append(ChainBreak(None, None, "the installation's chain head is missing"))
    return seen


def _verify_briefs(session: Session, keyring: Keyring, report: AuditReport) -> None:
    """Every brief's chain, in one streamed pass over the events in brief order."""
    heads: dict[int, str | None] = {brief_id: head for brief_id, head in
                                    session.execute(select(Brief.id, Brief.audit_head))}
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.brief_id.is_not(None))
        .order_by(AuditEvent.brief_id, AuditEvent.seq, AuditEvent.id).execution_options(yield_per=1000)
    )
    seen: set[int] = set()
    for brief_id, chain in groupby(events, key=lambda event: event.brief_id):
        if brief_id in heads:  # events of a deleted brief: the installation's chain reports them
            seen.add(brief_id)
            _verify_brief(brief_id, heads[brief_id], chain, keyring, report)
    for brief_id in sorted(heads.keys() - seen):  # a brief without events: its head must be empty
        _verify_brief(brief_id, heads[brief_id], [], keyring, report)


def _verify_brief(brief_id: int, head: str | None, chain: Iterable[AuditEvent], keyring: Keyring,
                  report: AuditReport) -> None:
    report.briefs += 1
    try:
        broken = verify_chain(brief_id, head, chain, keyring)
    except MissingKey as missing:
        report.missing_keys.add(str(missing))
        report.unverifiable_briefs.append(brief_id)
        return
    if broken:
        report.breaks.append(broken)


def _verify_anchors_against_chain(report: AuditReport, anchored: dict[int, tuple[int, str]],
                                  seen: dict[int, str]) -> None:
    for seq, (n, head) in sorted(anchored.items()):
        found = seen.get(seq)
        if found is None:
            report.breaks.append(ChainBreak(None, seq, f"anchor #{n} names event #{seq}, which the database no "
                                                       "longer holds (events were removed)"))
        elif found != head:
            report.breaks.append(ChainBreak(None, seq, f"event #{seq} differs from what anchor #{n} recorded"))


def _verify_pdf_heads(session: Session, store: Store, report: AuditReport) -> None:
    """Each master made for an event carries that event's prev_hash: the brief's head as it
    stood before the event (publish, import, correction)."""
    rows = session.execute(
        select(StoredFile, AuditEvent.prev_hash)
        .join(AuditEvent, (AuditEvent.brief_id == StoredFile.brief_id) & (AuditEvent.seq == StoredFile.event_seq))
        .where(StoredFile.kind == "master", StoredFile.event_seq.is_not(None))
        .order_by(StoredFile.id)
    )
    for stored, expected in rows:
        try:
            data = store.read_verified(stored.path, stored.sha256)
        except FixityError:
            report.notes.append(f"{stored.name}: not readable or changed (see archive verify); its audit head "
                                "was not compared")
            continue
        report.pdfs += 1
        printed = (PdfReader(io.BytesIO(data)).metadata or {}).get("/canyue-audit-head")
        if printed != expected:
            report.breaks.append(ChainBreak(stored.brief_id, stored.event_seq,
                                            f"the archival PDF {stored.name} carries another audit head than "
                                            "the trail holds for its publication"))
