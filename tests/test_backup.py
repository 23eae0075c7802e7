"""Backups with real processes: a backup made while another process publishes restores into a
fresh instance (a new SQLite file, or a new PostgreSQL database) whose audit trail and files
verify, byte for byte; verify finds any change; restore refuses a non-empty instance and
missing audit keys; an encrypted round trip; bad input gets one line and exit 1."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import make_url, text, update

from extensions import db
from models import Series
from tests.conftest import (
    ANCHOR_FILE,
    AUDIT_KEY,
    AUDIT_KEY_ID,
    DATABASE_URL,
    ENGINE,
    FILES_DIR,
    SAMPLE_BODY,
    make_app,
)
from workflows.brief import State

REPO = Path(__file__).resolve().parents[1]

# Publishes signed briefs in a loop, in its own process, until told to stop.
PUBLISHER = r"""
import json, sys
from pathlib import Path

from app import create_app
from extensions import db
from models import Series, User
from publishing.pipeline import publish
from workflows.transitions import apply_transition, create_brief

config = json.loads(sys.argv[1])
app = create_app(config["app"])
stop = Path(config["stop"])
with app.app_context():
    def user(name):
        return db.session.scalar(db.select(User).where(User.username == name))

    for n in range(1, config["max"] + 1):
        if stop.exists():
            break
        brief = create_brief(db.session, user("drafter"), db.session.get(Series, config["series"]), {
            "title": f"关于并发发布与在线备份的第{n}篇参阅", "author_line": "苏州太湖智库",
            "special_report": ["王建国书记"], "body": config["body"]})
        for action, who in (("submit", "drafter"), ("approve", "editor"), ("sign", "signer")):
            apply_transition(db.session, brief, action, user(who))
        db.session.commit()
        publish(db.session, brief.id, user("editor"))
        print(f"published {brief.id}", flush=True)
"""


def cli(app: Flask, *args: Any) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=[str(a) for a in args])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        f"{args}: {result.exception!r}\n{result.output}")
    return result.exit_code, result.output


def rows(app: Flask, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with app.app_context():
        found = [tuple(row) for row in db.session.execute(text(sql), params)]
        db.session.remove()
        return found


@pytest.fixture
def fresh_instance(app: Flask, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """fresh_instance(name, migrated=False, **config) -> a new, empty instance: its own database
    (a new SQLite file; on PostgreSQL a database created in the cluster), file store and
    anchor log; the test audit keys unless the config says otherwise."""
    made: list[Flask] = []
    databases: list[str] = []

    def factory(name: str = "restored", migrated: bool = False, **config: Any) -> Flask:
        folder = tmp_path / name
        folder.mkdir()
        if ENGINE == "postgresql":
            database = f"canyue_{name}_{uuid.uuid4().hex[:8]}"
            with app.app_context():
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql(f"CREATE DATABASE {database}")
            databases.append(database)
            url = make_url(DATABASE_URL).set(database=database).render_as_string(hide_password=False)
        else:
            url = f"sqlite:///{folder / 'canyue.sqlite3'}"
        instance = make_app(SQLALCHEMY_DATABASE_URI=url, CANYUE_FILES_DIR=str(folder / "files"),
                            CANYUE_AUDIT_ANCHOR_FILE=str(folder / "audit-anchors.log"), **config)
        if migrated:
            from flask_migrate import upgrade

            with instance.app_context():
                upgrade()
                db.session.remove()
        made.append(instance)
        return instance

    yield factory
    for instance in made:
        with instance.app_context():
            db.session.remove()
            db.engine.dispose()
    with app.app_context():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for database in databases:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def files_dir(instance: Flask) -> Path:
    return Path(instance.config["CANYUE_FILES_DIR"])


def anchor_lines(instance: Flask) -> list[str]:
    path = Path(instance.config["CANYUE_AUDIT_ANCHOR_FILE"])
    return path.read_text().splitlines() if path.exists() else []


def assert_verifies(instance: Flask) -> None:
    code, output = cli(instance, "audit", "verify")
    assert code == 0 and "audit trail intact" in output, output
    code, output = cli(instance, "archive", "verify")
    assert code == 0 and "0 missing, 0 changed, 0 unexpected" in output, output


def published_briefs(instance: Flask) -> int:
    return rows(instance, "SELECT count(*) FROM brief WHERE issue_number IS NOT NULL")[0][0]


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the publisher ended before {what}: {process.stderr.read() if process.stderr else ''}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_backup_made_while_another_process_publishes_restores_byte_for_byte(app, people, series_id,
                                                                              fresh_instance, tmp_path):
    with app.app_context():
        db.session.execute(update(Series).values(default_print_run=3))  # 3 numbered copies per issue
        db.session.commit()
    stop = tmp_path / "stop"
    config = {"app": {"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
                      "SERVER_NAME": "canyue.test", "CANYUE_FILES_DIR": str(FILES_DIR),
                      "CANYUE_AUDIT_KEYS": {AUDIT_KEY_ID: AUDIT_KEY}, "CANYUE_AUDIT_KEY_ID": AUDIT_KEY_ID,
                      "CANYUE_AUDIT_ANCHOR_FILE": str(ANCHOR_FILE)},
              "series": series_id, "stop": str(stop), "max": 40, "body": SAMPLE_BODY}
    publisher = subprocess.Popen([sys.executable, "-c", PUBLISHER, json.dumps(config)], cwd=REPO, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    backup = tmp_path / "nightly.tar"
    try:
        wait_for(lambda: published_briefs(app) >= 2, publisher, "two issues were published")
        code, output = cli(app, "backup", "create", "-o", backup)
        assert code == 0, output
        assert publisher.poll() is None, "the publisher was still publishing while the backup was made"
        at_backup = published_briefs(app)
        wait_for(lambda: published_briefs(app) > at_backup, publisher, "one more issue was published")
    finally:
        stop.touch()
        publisher.wait(timeout=120)
    assert publisher.returncode == 0, publisher.stderr.read() if publisher.stderr else ""
    assert "backup written" in output and "stored files" in output

    code, output = cli(app, "backup", "verify", backup)
    assert code == 0 and "backup intact" in output, output

    restored = fresh_instance()
    code, output = cli(restored, "backup", "restore", backup)
    assert code == 0, output
    assert_verifies(restored)

    # The restore holds the snapshot: a consistent prefix of the source, which went on meanwhile.
    (seq, head), = rows(restored, "SELECT seq, head FROM audit_chain")
    assert rows(app, "SELECT seq FROM audit_chain")[0][0] > seq
    event_columns = "global_seq, brief_id, seq, action, from_state, to_state, actor_name, hash, key_id, created_at"
    restored_events = rows(restored, f"SELECT {event_columns} FROM audit_event ORDER BY global_seq")
    assert restored_events == rows(app, f"SELECT {event_columns} FROM audit_event WHERE global_seq <= :s "
                                        "ORDER BY global_seq", s=seq)
    assert restored_events[-1][7] == head
    brief_columns = "id, title, state, issue_year, issue_number, total_number, issue_date, print_run, audit_head"
    restored_briefs = rows(restored, f"SELECT {brief_columns} FROM brief ORDER BY id")
    source_briefs = {row[0]: row for row in rows(app, f"SELECT {brief_columns} FROM brief")}
    issued = [row for row in restored_briefs if row[4] is not None]
    issued_at_source = [row for row in source_briefs.values() if row[4] is not None]
    assert len(issued) >= 2 and len(issued_at_source) > len(issued)  # the publisher issued more after the snapshot
    for row in issued:  # numbers never change once issued
        assert row == source_briefs[row[0]]
    for row in restored_briefs:  # each brief as it stood at its last event in the snapshot
        last = max((e for e in restored_events if e[1] == row[0]), key=lambda e: e[2])
        assert row[2] == last[5] and row[8] == last[7]
    file_columns = "id, brief_id, kind, copy_id, path, name, sha256, size"
    stored = rows(restored, f"SELECT {file_columns} FROM stored_file ORDER BY id")
    assert stored == rows(app, f"SELECT {file_columns} FROM stored_file WHERE brief_id IN "
                               f"({', '.join(str(r[0]) for r in issued)}) ORDER BY id")
    assert len(stored) == len(issued) * 4  # a master and three copies each
    for *_, path, _name, _sha, _size in stored:
        assert (files_dir(restored) / path).read_bytes() == (FILES_DIR / path).read_bytes()
    on_disk = {p.relative_to(files_dir(restored)).as_posix() for p in files_dir(restored).rglob("*") if p.is_file()}
    assert on_disk == {row[4] for row in stored}  # nothing the snapshot does not name
    # The anchor log's lines up to the snapshot's head, none after it (the head's own anchor
    # may have been appended by the publisher just after the backup read the log).
    source_anchors, restored_anchors = anchor_lines(app), anchor_lines(restored)
    assert restored_anchors and restored_anchors == source_anchors[:len(restored_anchors)]
    assert all(json.loads(line)["seq"] <= seq for line in restored_anchors)
    assert any(json.loads(line)["seq"] > seq for line in source_anchors[len(restored_anchors):])


def rewrite(source: Path, target: Path, change: Callable[[tarfile.TarInfo, bytes], list[tuple[str, bytes]]]) -> None:
    """Copy a backup member by member, each through `change` (-> the members to write instead)."""
    with tarfile.open(source) as old, tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as new:
        for info in old.getmembers():
            for name, data in change(info, old.extractfile(info).read()):
                copy = tarfile.TarInfo(name)
                copy.size, copy.mode = len(data), 0o600
                new.addfile(copy, io.BytesIO(data))


def test_verify_finds_a_changed_a_missing_and_an_extra_member(app, make_brief, fresh_instance, tmp_path):
    make_brief(State.PUBLISHED)
    backup = tmp_path / "b.tar"
    assert cli(app, "backup", "create", "-o", backup)[0] == 0
    code, output = cli(app, "backup", "verify", backup)
    assert code == 0 and "backup intact" in output, output
    with tarfile.open(backup) as tar:
        pdf = next(m for m in tar.getmembers() if m.name.startswith("files/"))

    flipped = tmp_path / "changed.tar"
    data = bytearray(backup.read_bytes())
    data[pdf.offset_data + 1000] ^= 0xFF
    flipped.write_bytes(bytes(data))
    code, output = cli(app, "backup", "verify", flipped)
    assert code == 1 and f"changed: {pdf.name}" in output and "backup BROKEN" in output, output

    rewrite(backup, tmp_path / "missing.tar", lambda i, d: [] if i.name == pdf.name else [(i.name, d)])
    code, output = cli(app, "backup", "verify", tmp_path / "missing.tar")
    assert code == 1 and f"missing: {pdf.name}" in output, output

    rewrite(backup, tmp_path / "extra.tar",
            lambda i, d: [(i.name, d)] + ([("files/sha256/00/planted.pdf", b"%PDF-1.7")] if i.name == pdf.name else []))
    code, output = cli(app, "backup", "verify", tmp_path / "extra.tar")
    assert code == 1 and "not in the manifest: files/sha256/00/planted.pdf" in output, output

    # Restore reads each member once, checking it: a bad one leaves the instance as it was.
    empty = fresh_instance()
    for bad, message in ((flipped, f"{pdf.name} in {flipped} does not match its manifest"),
                         (tmp_path / "missing.tar", "is damaged or truncated: it lacks 1 of the members"),
                         (tmp_path / "extra.tar", "holds files/sha256/00/planted.pdf, which its manifest does not")):
        code, output = cli(empty, "backup", "restore", bad)
        assert code == 1 and message in output and "nothing was restored" in output, output
        assert not [p for p in files_dir(empty).rglob("*") if p.is_file()]
        assert not anchor_lines(empty)
        if ENGINE == "sqlite":
            assert not (files_dir(empty).parent / "canyue.sqlite3").exists()
        else:
            assert rows(empty, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") == [(0,)]


def test_restore_refuses_a_non_empty_instance_and_force_replaces_it(app, make_brief, fresh_instance, tmp_path):
    make_brief(State.ARCHIVED)
    backup = tmp_path / "b.tar"
    assert cli(app, "backup", "create", "-o", backup)[0] == 0

    code, output = cli(app, "backup", "restore", backup)  # the instance the backup came from
    assert code == 1 and "not empty" in output and "--force" in output, output

    restored = fresh_instance(migrated=True)  # a freshly migrated database is empty
    code, output = cli(restored, "backup", "restore", backup)
    assert code == 0, output
    assert_verifies(restored)
    briefs = rows(restored, "SELECT id, state, archive_code FROM brief")
    assert briefs == rows(app, "SELECT id, state, archive_code FROM brief") and briefs[0][1] == "archived"

    code, output = cli(restored, "backup", "restore", backup)
    assert code == 1 and "the database has rows in" in output and "the file store" in output, output
    stray = files_dir(restored) / "sha256" / "ff" / "stray.pdf"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"%PDF-1.7 not named by any row")
    (master,) = rows(restored, "SELECT path FROM stored_file WHERE kind = 'master'")[0]
    (files_dir(restored) / master).write_bytes(b"%PDF-1.7 damaged")
    code, output = cli(restored, "backup", "restore", backup, "--force")
    assert code == 0 and "moved to the store's quarantine" in output, output
    assert_verifies(restored)
    assert rows(restored, "SELECT id, state, archive_code FROM brief") == briefs
    assert (files_dir(restored) / master).read_bytes() == (FILES_DIR / master).read_bytes()
    quarantined = {p.name: p.read_bytes() for p in (files_dir(restored) / "quarantine").rglob("*") if p.is_file()}
    assert quarantined == {"stray.pdf": b"%PDF-1.7 not named by any row", Path(master).name: b"%PDF-1.7 damaged"}


def test_restore_needs_the_audit_keys_and_no_keys_leaves_the_trail_unverifiable(app, make_brief, fresh_instance,
                                                                               tmp_path):
    make_brief(State.PUBLISHED)
    backup = tmp_path / "b.tar"
    code, output = cli(app, "backup", "create", "-o", backup)
    assert code == 0 and f"audit keys a restore needs (not in the backup): {AUDIT_KEY_ID}" in output, output
    with tarfile.open(backup) as tar:  # secrets are not in the backup
        assert all(AUDIT_KEY.encode() not in tar.extractfile(m).read() for m in tar.getmembers())

    other_key = fresh_instance("other_key", CANYUE_AUDIT_KEYS={"k2": "ab" * 32}, CANYUE_AUDIT_KEY_ID="k2")
    code, output = cli(other_key, "backup", "restore", backup)
    assert code == 1 and f"the audit keys {AUDIT_KEY_ID} are not in this installation's keyring" in output, output
    assert "--no-keys" in output and "nothing was restored" in output
    assert not Path(other_key.config["CANYUE_FILES_DIR"]).exists()

    same_id = fresh_instance("same_id", CANYUE_AUDIT_KEYS={AUDIT_KEY_ID: "ab" * 32})
    code, output = cli(same_id, "backup", "restore", backup)
    assert code == 1 and "are not the keys the backup's events were made with" in output, output

    keyless = fresh_instance("keyless", CANYUE_AUDIT_KEYS=None, CANYUE_AUDIT_KEY_ID=None,
                             CANYUE_AUDIT_KEYS_FILE=str(tmp_path / "no-such-keys.json"))
    for instance in (keyless, other_key):  # no keyring at all, and one without the backup's key
        code, output = cli(instance, "backup", "restore", backup, "--no-keys")
        assert code == 0 and f"restored without the audit keys {AUDIT_KEY_ID}" in output, output
        code, output = cli(instance, "audit", "verify")
        assert code == 2 and "UNVERIFIABLE" in output and AUDIT_KEY_ID in output, output
        assert "TAMPERED" not in output and "BROKEN" not in output
        code, output = cli(instance, "archive", "verify")
        assert code == 0, output


def test_encrypted_round_trip(app, make_brief, fresh_instance, tmp_path):
    from pyrage import x25519

    make_brief(State.PUBLISHED)
    identity = x25519.Identity.generate()
    key_file = tmp_path / "backup-key.txt"
    key_file.write_text(f"# created by the test\n{identity}\n")
    backup = tmp_path / "b.tar.age"
    code, output = cli(app, "backup", "create", "-o", backup, "--recipient", identity.to_public())
    assert code == 0 and "encrypted to 1 age recipient" in output, output
    sealed = backup.read_bytes()
    assert sealed.startswith(b"age-encryption.org/v1\n") and b"manifest.json" not in sealed

    code, output = cli(app, "backup", "verify", backup)
    assert code == 1 and "is encrypted (age): give --identity" in output, output
    stranger = tmp_path / "stranger.txt"
    stranger.write_text(f"{x25519.Identity.generate()}\n")
    code, output = cli(app, "backup", "verify", backup, "--identity", stranger)
    assert code == 1 and "the identity does not open this backup" in output, output
    (tmp_path / "cut.tar.age").write_bytes(sealed[: len(sealed) // 2])
    code, output = cli(app, "backup", "verify", tmp_path / "cut.tar.age", "--identity", key_file)
    assert code == 1 and "damaged or truncated" in output, output
    code, output = cli(app, "backup", "verify", backup, "--identity", key_file)
    assert code == 0 and "backup intact" in output, output

    restored = fresh_instance()
    code, output = cli(restored, "backup", "restore", backup, "--identity", stranger)
    assert code == 1 and "the identity does not open this backup" in output, output
    code, output = cli(restored, "backup", "restore", backup, "--identity", key_file)
    assert code == 0, output
    assert_verifies(restored)
    for (path,) in rows(restored, "SELECT path FROM stored_file"):
        assert (files_dir(restored) / path).read_bytes() == (FILES_DIR / path).read_bytes()


def test_a_changed_stored_file_is_refused_not_backed_up(app, make_brief, tmp_path):
    make_brief(State.PUBLISHED)
    (path,) = rows(app, "SELECT path FROM stored_file WHERE kind = 'master'")[0]
    damaged = bytearray((FILES_DIR / path).read_bytes())
    damaged[500] ^= 0xFF
    (FILES_DIR / path).write_bytes(bytes(damaged))
    code, output = cli(app, "backup", "create", "-o", tmp_path / "b.tar")
    assert code == 1 and f"the stored file {path} does not match its recorded SHA-256" in output, output
    assert list(tmp_path.iterdir()) == []  # no backup, no leftovers


def test_bad_input_gets_one_line_and_exit_1(app, make_brief, fresh_instance, tmp_path):
    make_brief(State.PUBLISHED)
    backup = tmp_path / "b.tar"
    assert cli(app, "backup", "create", "-o", backup)[0] == 0
    data = backup.read_bytes()
    (tmp_path / "notes.txt").write_text("这不是备份\n")
    (tmp_path / "empty.tar").write_bytes(b"")
    (tmp_path / "cut.tar").write_bytes(data[: len(data) * 2 // 3])
    with tarfile.open(tmp_path / "other.tar", "w") as tar:
        info = tarfile.TarInfo("readme.txt")
        tar.addfile(info, io.BytesIO(b""))
    cases = {
        "notes.txt": "is not a Canyue backup (not a tar file)",
        "empty.tar": "is not a Canyue backup (not a tar file)",
        "cut.tar": "is damaged or truncated",
        "other.tar": "is not a Canyue backup (it does not start with manifest.json)",
        "absent.tar": "no such file",
    }
    empty = fresh_instance()
    for name, message in cases.items():
        for instance, command in ((app, "verify"), (empty, "restore")):
            code, output = cli(instance, "backup", command, tmp_path / name)
            assert code == 1 and message in output, (name, output)
            assert len(output.strip().splitlines()) == 1 and "Traceback" not in output, output
    code, output = cli(app, "backup", "create", "-o", tmp_path / "x.tar", "--recipient", "age1notakey")
    assert code == 1 and "not an age public key" in output, output

    # The same through a real `flask` process: the message on stderr, no traceback.
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "CANYUE_FILES_DIR": str(FILES_DIR), "SECRET_KEY": "x",
           "CANYUE_AUDIT_KEYS": f"{AUDIT_KEY_ID}={AUDIT_KEY}", "CANYUE_AUDIT_ANCHOR_FILE": str(ANCHOR_FILE)}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "backup", "verify", str(tmp_path / "cut.tar")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("Error: ") and "damaged or truncated" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout and len(done.stderr.strip().splitlines()) == 1


def test_only_the_anchors_of_the_snapshot_are_kept(tmp_path):
    """Anchors are appended after their commits, in order: the lines up to the snapshot's head
    are exactly the anchors of what it holds; an unreadable (torn) line ends the log."""
    from backup.create import anchor_lines

    log = tmp_path / "anchors.log"
    lines = [json.dumps({"n": n, "seq": seq, "kid": "k1" if n < 3 else "k2"}) for n, seq in enumerate((2, 5, 7, 9), 1)]
    log.write_text("\n".join(lines) + "\n")
    kept, count, kids, note = anchor_lines(log, 7)
    assert kept.decode().splitlines() == lines[:3] and count == 3 and kids == {"k1", "k2"} and note is None
    assert anchor_lines(log, 1)[:3] == (b"", 0, set())
    log.write_text("\n".join(lines[:2]) + '\n{"n": 3, "se')
    kept, count, _, note = anchor_lines(log, 100)
    assert count == 2 and "line 3" in note
    assert anchor_lines(tmp_path / "none.log", 5) == (b"", 0, set(), None)


def test_a_backup_cut_between_two_members_is_truncated(app, make_brief, tmp_path):
    """tarfile reads a file that stops right after a member (or inside its padding) as a whole
    archive; the missing end-of-archive marker says it was cut."""
    make_brief(State.PUBLISHED)
    backup = tmp_path / "b.tar"
    assert cli(app, "backup", "create", "-o", backup)[0] == 0
    data = backup.read_bytes()
    with tarfile.open(backup) as tar:
        members = tar.getmembers()
    middle = members[len(members) // 2]
    end = middle.offset_data + -(-middle.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
    for cut in (end, end - 1 if middle.size % tarfile.BLOCKSIZE else end):
        (tmp_path / "cut.tar").write_bytes(data[:cut])
        code, output = cli(app, "backup", "verify", tmp_path / "cut.tar")
        assert code == 1 and "is damaged or truncated" in output, output
