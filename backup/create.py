"""`backup create`: the database snapshot first, then what the snapshot names."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask

from audittrail.anchors import anchor_file
from audittrail.keys import load_keyring
from backup.container import Source, sha256_file, write_tar
from backup.encryption import encrypting, parse_recipients
from backup.manifest import ANCHORS, FILES_PREFIX, BackupError, Manifest, Member, key_check, safe_store_path
from backup.snapshot import Snapshot, snapshot_postgresql, snapshot_sqlite
from extensions import db
from publishing.services import file_store
from publishing.storage import fsync_dir


@dataclass
class Created:
    path: Path
    size: int
    manifest: Manifest
    seconds: float
    recipients: int
    notes: list[str] = field(default_factory=list)


def default_output(app: Flask, when: datetime, encrypted: bool) -> Path:
    name = f"canyue-backup-{when:%Y%m%dT%H%M%SZ}.tar" + (".age" if encrypted else "")
    return Path(app.instance_path) / "backups" / name


def anchor_lines(path: Path, up_to_seq: int) -> tuple[bytes, int, set[str], str | None]:
    """The anchor log's lines for events up to the snapshot's head: the log only grows, and a
    line is written after its commit, so these are exactly the anchors of what the snapshot
    holds (later lines would name events a restore does not have). Returns the bytes, their
    number, the key ids they were made with, and a note if a line could not be read."""
    if not path.is_file():
        return b"", 0, set(), None
    kept, kids = [], set()
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                anchor = json.loads(line)
                seq, kid = int(anchor["seq"]), str(anchor["kid"])
            except (ValueError, KeyError, TypeError):
                return b"".join(kept), len(kept), kids, (f"line {number} of the anchor log {path} is not "
                                                         "readable; the lines before it were kept")
            if seq > up_to_seq:
                break
            kept.append(line if line.endswith(b"\n") else line + b"\n")
            kids.add(kid)
    return b"".join(kept), len(kept), kids, None


def create_backup(app: Flask, output: Path | None, recipients: Sequence[str] = ()) -> Created:
    started = time.monotonic()
    parsed = parse_recipients(recipients) if recipients else []
    now = datetime.now(UTC)
    output = output or default_output(app, now, encrypted=bool(parsed))
    if output.is_dir():
        raise BackupError(f"{output} is a folder: give a file name with -o")
    output.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        keyring = load_keyring(app)
    except (OSError, ValueError, KeyError) as error:
        raise BackupError(f"the audit key file cannot be read ({error})") from None
    store = file_store()
    workdir = Path(tempfile.mkdtemp(prefix=".canyue-backup-", dir=output.parent))
    partial = output.with_name(f".{output.name}.part")
    try:
        engine = db.engine
        db.session.remove()
        snapshot: Snapshot
        if engine.dialect.name == "sqlite":
            snapshot = snapshot_sqlite(engine.url, workdir)
        elif engine.dialect.name == "postgresql":
            snapshot = snapshot_postgresql(engine.url, workdir)
        else:
            raise BackupError(f"backups of {engine.dialect.name} databases are not supported")
        facts = snapshot.facts
        # Only now, after the snapshot: the anchors and files it names.
        anchors, anchor_count, anchor_kids, anchor_note = anchor_lines(anchor_file(app), facts.chain_seq)
        anchors_path = workdir / ANCHORS
        anchors_path.write_bytes(anchors)
        sources = [
            Source(Member(snapshot.member, sha256_file(snapshot.path), snapshot.path.stat().st_size), snapshot.path,
                   "the database snapshot"),
            Source(Member(ANCHORS, sha256_file(anchors_path), len(anchors)), anchors_path, "the anchor lines"),
        ]
        for relative, sha256, size in sorted(facts.files):
            if not safe_store_path(relative):
                raise BackupError(f"a stored_file row names a path outside the store: {relative!r}")
            found = store.size_of(relative)
            if found is None:
                raise BackupError(f"the stored file {relative} is missing; run `flask --app app archive verify` "
                                  "(and take the file from an earlier backup)") from None
            if found != size:
                raise BackupError(f"the stored file {relative} is {found} bytes, its record says {size}; run "
                                  "`flask --app app archive verify`")
            sources.append(Source(Member(FILES_PREFIX + relative, sha256, size), None, f"the stored file {relative}",
                                  opener=functools.partial(store.open, relative)))
        key_ids = sorted(facts.key_ids | anchor_kids)
        held = dict(keyring.keys) if keyring is not None else {}
        notes = [anchor_note] if anchor_note else []
        unheld = [kid for kid in key_ids if kid not in held]
        if unheld:
            notes.append(f"this installation does not hold the audit keys {', '.join(unheld)} that the backup's "
                         "events need: a restore will need them (keep their key file offline)")
        manifest = Manifest(
            created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"), engine=snapshot.engine, alembic_revision=facts.revision,
            database=snapshot.member, database_tool=snapshot.tool, audit_seq=facts.chain_seq,
            audit_head=facts.chain_head, key_ids=key_ids,
            key_checks={kid: key_check(held[kid]) for kid in key_ids if kid in held},
            counts={**facts.counts, "anchors": anchor_count}, members=[s.member for s in sources],
        )
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            if parsed:
                with encrypting(handle, parsed) as stream:
                    write_tar(stream, manifest, sources, int(now.timestamp()))
            else:
                write_tar(handle, manifest, sources, int(now.timestamp()))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, output)
        fsync_dir(output.parent)
    except OSError as error:
        raise BackupError(f"cannot write the backup {output}: {error.strerror or error}") from None
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return Created(output, output.stat().st_size, manifest, time.monotonic() - started, len(parsed), notes)
