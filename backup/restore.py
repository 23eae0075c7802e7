"""`backup restore`: into an empty instance (or, with --force, over a non-empty one).

What is checked before anything is changed: the manifest (first member), the engine, the
schema revision, the audit keys the manifest lists (held here, and the same keys: each key's
check value) and that the instance is empty. Then one pass over the backup, each member
checked against the manifest as it is read: the snapshot is staged, the stored files are
written into the store under names that were free (as the store writes: a temporary file,
then a link). If any member is changed, missing or extra, or the file ends early, the files
written are removed again and nothing else was touched. Only then: the files made durable,
the database put in place (SQLite: the snapshot renamed over the configured file;
PostgreSQL: pg_restore in one transaction), and last the anchor lines, so that no anchor
ever names an event the database does not hold. The app must not be running against the
instance meanwhile.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from flask import Flask
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from audittrail.anchors import anchor_file
from audittrail.keys import keys_file, load_keyring
from backup.container import copy_member, open_backup
from backup.manifest import ANCHORS, FILES_PREFIX, BackupError, Manifest, Member, key_check
from backup.snapshot import (
    nonempty_tables,
    place_sqlite,
    restore_postgresql,
    sqlite_path,
    sqlite_staging,
)
from extensions import db
from models.base import Base
from publishing.storage import TEMP_PREFIX, Store, fsync_dir

# Tables whose rows make an instance non-empty: every model's (audit_chain: a head past 0),
# and the search index's.
CONTENT_TABLES = sorted({*Base.metadata.tables, "search_doc"} - {"audit_chain"})


@dataclass
class Restored:
    manifest: Manifest
    seconds: float = 0.0
    database: str = ""
    files_written: int = 0
    files_present: int = 0
    size_written: int = 0
    anchors: int = 0
    quarantined: int = 0
    moved_aside: list[str] = field(default_factory=list)
    missing_keys: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def known_revisions(app: Flask) -> tuple[set[str], str | None]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    return {rev.revision for rev in script.walk_revisions()}, script.get_current_head()


def key_problems(app: Flask, manifest: Manifest) -> tuple[list[str], list[str]]:
    """(key ids this installation does not hold, key ids it holds but as another key)."""
    try:
        keyring = load_keyring(app)
    except (OSError, ValueError, KeyError) as error:
        raise BackupError(f"this installation's audit key file cannot be read ({error})") from None
    held = dict(keyring.keys) if keyring is not None else {}
    missing = [kid for kid in manifest.key_ids if kid not in held]
    wrong = [kid for kid in manifest.key_ids
             if kid in held and kid in manifest.key_checks and key_check(held[kid]) != manifest.key_checks[kid]]
    return missing, wrong


def instance_contents(store: Store, anchors: Path) -> dict[str, str]:
    """What this instance holds already: database rows, stored files, anchors."""
    found = {}
    engine = db.engine
    exists = True
    if engine.dialect.name == "sqlite":
        path = sqlite_path(engine.url)
        exists = path.is_file() and path.stat().st_size > 0
    if exists:
        try:
            with engine.connect() as conn:
                present = set(inspect(conn).get_table_names())
                tables = nonempty_tables(lambda sql: conn.exec_driver_sql(sql).fetchall(), present, CONTENT_TABLES)
        except SQLAlchemyError as error:
            raise BackupError(f"cannot read the configured database: {str(error.orig or error).strip()}") from None
        if tables:
            more = "…" if len(tables) > 6 else ""
            found["database"] = f"the database has rows in {', '.join(tables[:6])}{more}"
    files = sum(1 for _ in store.walk())
    if files:
        found["files"] = f"the file store {store.describe()} holds {files} files"
    if anchors.is_file() and anchors.stat().st_size > 0:
        found["anchors"] = f"the anchor log {anchors} is not empty"
    return found


def restore_backup(app: Flask, path: Path, identity: Path | None = None, *, force: bool = False,
                   no_keys: bool = False) -> Restored:
    from publishing.services import file_store

    started = time.monotonic()
    with open_backup(path, identity) as reader:  # only its start: the manifest
        manifest = reader.manifest
    result = Restored(manifest)
    engine = db.engine
    if manifest.engine != engine.dialect.name:
        raise BackupError(f"this is a backup of a {manifest.engine} database, and the configured database is "
                          f"{engine.dialect.name}: restore it into a {manifest.engine} installation")
    revisions, head = known_revisions(app)
    if manifest.alembic_revision not in revisions:
        raise BackupError(f"the backup's schema revision {manifest.alembic_revision} is unknown to this version of "
                          "Canyue (a newer one made it?): restore it with the version that made it")
    missing, wrong = key_problems(app, manifest)
    if (missing or wrong) and not no_keys:
        where = "CANYUE_AUDIT_KEYS" if app.config.get("CANYUE_AUDIT_KEYS") else str(keys_file(app))
        problems = []
        if missing:
            problems.append(f"the audit keys {', '.join(missing)} are not in this installation's keyring ({where})")
        if wrong:
            problems.append(f"the audit keys {', '.join(wrong)} held here are not the keys the backup's events were "
                            "made with")
        raise BackupError("; ".join(problems) + ": copy the audit key file from its offline copy, or restore with "
                          "--no-keys (audit verify then reports the trail unverifiable); nothing was restored")
    result.missing_keys = missing + wrong
    store = file_store()
    anchors_path = anchor_file(app)
    contents = instance_contents(store, anchors_path)
    if contents and not force:
        raise BackupError(f"this instance is not empty ({'; '.join(contents.values())}): restore into an empty "
                          "one, or give --force to replace it; nothing was restored")

    db.session.remove()
    engine.dispose()  # no connection of ours keeps the old database open
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="canyue-restore-"))
    staged = sqlite_staging(engine.url) if manifest.engine == "sqlite" else workdir / "canyue.pgdump"
    try:
        # One pass over the backup, every member checked; if anything fails, what it wrote
        # is removed again and the instance is as it was.
        anchors, damaged = _read_and_stage(path, identity, manifest, store, staged, result)
        # Everything matched: from here on, nothing is taken back.
        for relative, temp in damaged:
            store.quarantine(relative)  # a damaged file in the way (only a --force restore meets one)
            store.place(relative, temp)
            os.unlink(temp)
        if force:
            names = {m.name[len(FILES_PREFIX):] for m in manifest.files()}
            for found in list(store.walk()):
                if found.path not in names:
                    store.quarantine(found.path)  # kept aside, never deleted
                    result.quarantined += 1
        os.sync()  # every file durable before a database row names it
        if manifest.engine == "sqlite":
            aside = f"replaced-{stamp}" if "database" in contents else None
            result.moved_aside += [str(p) for p in place_sqlite(staged, engine.url, aside_suffix=aside)]
            result.database = str(sqlite_path(engine.url))
        else:
            restore_postgresql(staged, engine.url)
            result.database = f"{engine.url.database} (PostgreSQL)"
        if anchors_path.is_file() and anchors_path.stat().st_size > 0:
            aside_path = anchors_path.with_name(f"{anchors_path.name}.replaced-{stamp}")
            os.replace(anchors_path, aside_path)
            result.moved_aside.append(str(aside_path))
        _write_atomically(anchors_path, anchors)
        result.anchors = anchors.count(b"\n")
    except OSError as error:
        raise BackupError(f"the restore stopped: {error.strerror or error} ({getattr(error, 'filename', '')})") from None
    finally:
        staged.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)
    if manifest.alembic_revision != head:
        result.notes.append(f"the backup's schema is at revision {manifest.alembic_revision}, this code's at {head}: "
                            "run `flask --app app db upgrade`")
    if result.missing_keys:
        result.notes.append(f"restored without the audit keys {', '.join(result.missing_keys)}: `audit verify` "
                            "reports the trail unverifiable until their key file is restored")
    result.seconds = time.monotonic() - started
    return result


def _read_and_stage(path: Path, identity: Path | None, manifest: Manifest, store: Store, staged: Path,
                    result: Restored) -> tuple[bytes, list[tuple[str, Path]]]:
    """Every member checked against the manifest as it is read: the snapshot to `staged`,
    the stored files into the store (new names only), the anchor lines kept. Returns the
    anchor lines and, for stored files found damaged in the way, where the good copy waits.
    On any failure, the files it wrote are removed and BackupError says what was wrong."""
    created: list[str] = []
    damaged: list[tuple[str, Path]] = []
    anchors: bytes | None = None
    seen: set[str] = set()
    mismatch = (f"does not match its manifest (see `flask --app app backup verify {path}`); nothing was "
                "restored")
    try:
        with open_backup(path, identity) as reader:
            if reader.manifest.to_json() != manifest.to_json():
                raise BackupError(f"{path} changed during the restore; nothing was restored")
            for info, member, data in reader.members():
                if member is None or data is None or info.name in seen:
                    raise BackupError(f"{path} holds {info.name}, which its manifest does not list: it {mismatch}")
                seen.add(info.name)
                if info.name == manifest.database:
                    with staged.open("wb") as sink:
                        found = copy_member(data, sink, path)
                        sink.flush()
                        os.fsync(sink.fileno())
                elif info.name == ANCHORS:
                    buffer = io.BytesIO()
                    found = copy_member(data, buffer, path)
                    anchors = buffer.getvalue()
                else:
                    found, present = _stage_file(store, info.name[len(FILES_PREFIX):], member, data, path, created,
                                                 damaged)
                    result.files_present += present
                    result.files_written += not present
                    result.size_written += 0 if present else member.size
                if found != (member.sha256, member.size):
                    raise BackupError(f"{info.name} in {path} {mismatch}")
            reader.finish()
        absent = sorted(set(manifest.by_name()) - seen)
        if absent:
            raise BackupError(f"{path} is damaged or truncated: it lacks {len(absent)} of the members its manifest "
                              f"lists ({absent[0]}, …); nothing was restored")
    except BaseException:
        for written in created:
            store.discard(written)
        for _, temp in damaged:
            temp.unlink(missing_ok=True)
        raise
    return anchors or b"", damaged


def _stage_file(store: Store, relative: str, member: Member, data: IO[bytes], path: Path,
                created: list[str], damaged: list[tuple[str, Path]]) -> tuple[tuple[str, int], bool]:
    """Write one stored file as the store does (a temporary file, then a link that never
    replaces anything); returns its (sha256, size) and whether it was there already. A file
    already there with this content is left as it is; one with other content (damaged) is
    not touched yet: the good copy waits beside it (in `damaged`) until the whole backup has
    been read."""
    if store.sha256_of_file(relative) == member.sha256:
        return copy_member(data, None, path), True
    fd, temp = tempfile.mkstemp(dir=store.staging_dir(relative), prefix=TEMP_PREFIX, suffix=".part")
    keep = False
    try:
        with os.fdopen(fd, "wb") as sink:
            found = copy_member(data, sink, path)
        if found != (member.sha256, member.size):
            return found, False
        try:
            store.place(relative, Path(temp))  # never replaces: a taken name is a damaged file
            created.append(relative)
        except FileExistsError:
            damaged.append((relative, Path(temp)))
            keep = True
    finally:
        if not keep:
            os.unlink(temp)
    return found, False


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.restoring")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    fsync_dir(path.parent)
