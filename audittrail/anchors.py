"""Anchors: the installation's chain head and event count, written outside the database.

An append-only log (`instance/audit-anchors.log`, or CANYUE_AUDIT_ANCHOR_FILE), one JSON line
per anchor, each keyed (HMAC) and linked to the line before. A line is appended after every
commit that wrote audit events (so at every publish) and by `flask audit anchor`, which cron
or the worker runs every minute. Whoever cuts the newest events out of the database, and
moves the head back to match, is caught by `audit verify` up to the last anchor.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from workflows.audit import GENESIS, Keyring, MissingKey, NoKeyring, current_keyring


@dataclass(frozen=True)
class Anchor:
    n: int
    seq: int
    head: str
    at: str
    kid: str
    prev: str
    mac: str

    def body(self) -> dict[str, Any]:
        return {"n": self.n, "seq": self.seq, "head": self.head, "at": self.at, "kid": self.kid, "prev": self.prev}


def anchor_file(app: Flask) -> Path:
    configured = app.config.get("CANYUE_AUDIT_ANCHOR_FILE")
    return Path(configured) if configured else Path(app.instance_path) / "audit-anchors.log"


def _mac(body: dict[str, Any], secret: bytes) -> str:
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(secret, encoded, hashlib.sha256).hexdigest()


def read_anchors(path: Path) -> list[Anchor]:
    if not path.is_file():
        return []
    anchors = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            anchors.append(Anchor(**json.loads(line)))
    return anchors


def _last_line(handle: Any) -> str | None:
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    if end == 0:
        return None
    step = 4096
    position, tail = end, b""
    while position > 0 and tail.count(b"\n") < 2:
        position = max(0, position - step)
        handle.seek(position)
        tail = handle.read(end - position)
    lines = [line for line in tail.split(b"\n") if line.strip()]
    return lines[-1].decode() if lines else None


def append_anchor(path: Path, keyring: Keyring, seq: int, head: str) -> Anchor | None:
    """Append an anchor for (seq, head) unless the log already holds this one or a later one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # processes append one at a time, in order
        last_text = _last_line(handle)
        last = Anchor(**json.loads(last_text)) if last_text else None
        if last is not None and last.seq >= seq:
            return None
        body = {"n": (last.n + 1) if last else 1, "seq": seq, "head": head,
                "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "kid": keyring.current,
                "prev": last.mac if last else GENESIS}
        anchor = Anchor(**body, mac=_mac(body, keyring.secret(keyring.current)))
        handle.seek(0, os.SEEK_END)
        handle.write((json.dumps({**body, "mac": anchor.mac}, separators=(",", ":")) + "\n").encode())
        handle.flush()
        os.fsync(handle.fileno())
    return anchor


@dataclass(frozen=True)
class AnchorProblem:
    n: int
    problem: str


def check_anchor_log(anchors: list[Anchor], keyring: Keyring) -> tuple[list[AnchorProblem], set[str]]:
    """The log's own integrity: every line keyed, linked to the one before, counting up.
    Returns the problems and the key ids it could not check."""
    problems, missing = [], set()
    prev, last_seq = GENESIS, 0
    for index, anchor in enumerate(anchors, start=1):
        if anchor.n != index:
            problems.append(AnchorProblem(anchor.n, f"expected anchor #{index}"))
        if anchor.prev != prev:
            problems.append(AnchorProblem(anchor.n, "does not link to the anchor before it"))
        try:
            if not hmac.compare_digest(_mac(anchor.body(), keyring.secret(anchor.kid)), anchor.mac):
                problems.append(AnchorProblem(anchor.n, "its content does not match its key"))
        except MissingKey:
            missing.add(anchor.kid)
        if anchor.seq < last_seq:
            problems.append(AnchorProblem(anchor.n, "anchors an earlier event than the anchor before it"))
        prev, last_seq = anchor.mac, max(last_seq, anchor.seq)
    return problems, missing


# --- written after every commit that appended events ------------------------------------


def _after_commit(session: Session) -> None:
    appended = session.info.pop("audit_appended", None)
    if not appended or not has_app_context():
        return
    seq, head, _ = max(appended)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        append_anchor(anchor_file(app), current_keyring(), seq, head)
    except (OSError, NoKeyring):  # the commit stands; the next anchor (or the minutely one) covers it
        app.logger.exception("could not write the audit anchor for event %s", seq)


def _after_rollback(session: Session) -> None:
    session.info.pop("audit_appended", None)


def init_anchors(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
