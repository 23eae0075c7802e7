"""The database snapshot, taken and restored with each engine's own tools.

SQLite: Python's sqlite3 online backup API, in one step (a read transaction: writers go on
in the WAL meanwhile, and the copy includes what is still in the WAL); the copy is switched
out of WAL mode so that it is one self-contained file, then checked (`PRAGMA quick_check`).
Restoring places it as the configured database file (atomically, its old WAL and shared
memory files out of the way).

PostgreSQL: a REPEATABLE READ transaction exports its snapshot (`pg_export_snapshot()`),
the facts the backup needs (which stored files, the audit chain head, ...) are read in that
transaction, and `pg_dump -Fc --snapshot=…` dumps exactly the same state. Restoring is
`pg_restore --clean --if-exists --no-owner --single-transaction` into the configured database.
The SQLAlchemy URL (`postgresql+psycopg://…`) becomes a libpq connection string; the password
goes to the tools in PGPASSWORD, never on their command line.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from backup.manifest import BackupError
from publishing.storage import fsync_dir
from workflows.audit import LEGACY_KEY_ID

SQLITE_MEMBER = "database/canyue.sqlite3"
POSTGRESQL_MEMBER = "database/canyue.pgdump"
# A DROP waiting behind a running app's connection fails after this instead of hanging.
RESTORE_LOCK_TIMEOUT = "30s"


@dataclass
class Facts:
    """What the backup needs to know of the snapshot, read from the snapshot itself."""

    revision: str | None = None
    chain_seq: int = 0
    chain_head: str | None = None
    files: list[tuple[str, str, int]] = field(default_factory=list)  # (path, sha256, size), one per path
    key_ids: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Snapshot:
    engine: str
    path: Path  # the snapshot file (a temporary file, in the backup's working folder)
    member: str
    tool: str
    facts: Facts


Query = Callable[[str], list[tuple[Any, ...]]]

COUNTS = {
    "users": "SELECT count(*) FROM user_account",
    "series": "SELECT count(*) FROM series",
    "briefs": "SELECT count(*) FROM brief",
    "issued_briefs": "SELECT count(*) FROM brief WHERE issue_number IS NOT NULL",
    "copies": "SELECT count(*) FROM issue_copy",
    "audit_events": "SELECT count(*) FROM audit_event",
    "stored_file_rows": "SELECT count(*) FROM stored_file",
}


def read_facts(query: Query) -> Facts:
    facts = Facts()
    try:
        rows = query("SELECT version_num FROM alembic_version")
        facts.revision = rows[0][0] if rows else None
        chain = query("SELECT seq, head FROM audit_chain WHERE id = 1")
        if chain:
            facts.chain_seq, facts.chain_head = int(chain[0][0]), chain[0][1]
        by_path: dict[str, tuple[str, int]] = {}
        for path, sha256, size in query("SELECT path, sha256, size FROM stored_file ORDER BY path"):
            if by_path.setdefault(path, (sha256, int(size))) != (sha256, int(size)):
                raise BackupError(f"two stored_file rows name {path} with different hashes or sizes; "
                                  "run `flask --app app archive verify`")
        facts.files = [(path, sha, size) for path, (sha, size) in by_path.items()]
        facts.key_ids = {kid for (kid,) in query("SELECT DISTINCT key_id FROM audit_event") if kid != LEGACY_KEY_ID}
        facts.counts = {name: int(query(sql)[0][0]) for name, sql in COUNTS.items()}
    except (sqlite3.Error, _pg_errors()) as error:
        raise BackupError(f"the database is not a Canyue database at a known revision ({error}); "
                          "run `flask --app app db upgrade`") from None
    facts.counts["files"] = len(facts.files)
    return facts


def _pg_errors() -> type[Exception]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return sqlite3.Error
    return psycopg.Error


# --- SQLite ------------------------------------------------------------------------------


def sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("the configured SQLite database is in memory: there is nothing to back up")
    return Path(url.database)


def snapshot_sqlite(url: URL, workdir: Path) -> Snapshot:
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"the database {source_path} does not exist")
    target = workdir / "canyue.sqlite3"
    source = sqlite3.connect(source_path, timeout=30)  # only read (a read-only WAL connection is fussier)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # pages=-1: one step, one read transaction, a consistent copy
            copy.execute("PRAGMA journal_mode=DELETE")
            problem = copy.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise BackupError(f"the database snapshot fails SQLite's quick_check: {problem}")
            facts = read_facts(lambda sql: copy.execute(sql).fetchall())
        finally:
            copy.close()
    except sqlite3.Error as error:
        raise BackupError(f"cannot snapshot the SQLite database {source_path}: {error}") from None
    finally:
        source.close()
    return Snapshot("sqlite", target, SQLITE_MEMBER, f"SQLite {sqlite3.sqlite_version} online backup API", facts)


def sqlite_staging(url: URL) -> Path:
    """Where a restore writes the snapshot before it takes the database's place: beside it,
    so that the last step is a rename."""
    target = sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f".{target.name}.restoring")


def place_sqlite(staged: Path, url: URL, *, aside_suffix: str | None) -> list[Path]:
    """Put the staged snapshot in place of the configured database file. The old file and
    its -wal/-shm companions (an old WAL beside the new file would corrupt it) are moved
    aside under `aside_suffix`, or removed when None (an empty instance's). Returns what
    was moved aside."""
    target = sqlite_path(url)
    moved = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        companion = target.with_name(target.name + suffix)
        if not companion.exists():
            continue
        if aside_suffix is None:
            companion.unlink()
        else:
            aside = target.with_name(f"{target.name}.{aside_suffix}{suffix}")
            os.replace(companion, aside)
            moved.append(aside)
    os.replace(staged, target)
    fsync_dir(target.parent)
    return moved


# --- PostgreSQL --------------------------------------------------------------------------


def libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The libpq connection string of a SQLAlchemy URL (without the password) and the
    environment for the tools (PGPASSWORD)."""
    from psycopg.conninfo import make_conninfo

    params: dict[str, Any] = url.translate_connect_args(username="user", database="dbname")
    for key, value in url.query.items():
        params[key] = value[-1] if isinstance(value, tuple) else value
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install postgresql-client)") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit status {result.returncode}"
        raise BackupError(f"{what} failed: {detail}")


def _tool_version(tool: str) -> str:
    try:
        return subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise BackupError(f"{tool} is not installed (Debian: apt-get install postgresql-client)") from None


def snapshot_postgresql(url: URL, workdir: Path) -> Snapshot:
    import psycopg

    conninfo, env = libpq(url)
    target = workdir / "canyue.pgdump"
    version = _tool_version("pg_dump")
    try:
        with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.cursor() as cursor:
                # The transaction's snapshot: the facts below and pg_dump see the same state.
                snapshot_id = cursor.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
                facts = read_facts(lambda sql: cursor.execute(sql).fetchall())  # type: ignore[arg-type]
                _run(["pg_dump", "--format=custom", f"--file={target}", f"--snapshot={snapshot_id}",
                      "--no-password", "--lock-wait-timeout=60s", f"--dbname={conninfo}"], env, "pg_dump")
            conn.rollback()
    except psycopg.Error as error:
        raise BackupError(f"cannot snapshot the PostgreSQL database: {error}".strip()) from None
    return Snapshot("postgresql", target, POSTGRESQL_MEMBER, f"{version}, custom format (-Fc)", facts)


def restore_postgresql(dump: Path, url: URL) -> None:
    import psycopg

    conninfo, env = libpq(url)
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c lock_timeout={RESTORE_LOCK_TIMEOUT}".strip()
    _tool_version("pg_restore")
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
          "--no-password", f"--dbname={conninfo}", str(dump)], env, "pg_restore")
    try:  # pg_restore does not gather the planner's statistics
        with psycopg.connect(conninfo, password=env.get("PGPASSWORD"), autocommit=True) as conn:
            conn.execute("ANALYZE")
    except psycopg.Error:
        pass  # only statistics: autovacuum gathers them soon enough


# --- the target's contents ---------------------------------------------------------------


def nonempty_tables(execute: Callable[[str], Iterable[tuple[Any, ...]]], present: set[str],
                    tables: Iterable[str]) -> list[str]:
    found = []
    for name in sorted(set(tables) & present):
        if list(execute(f"SELECT 1 FROM {name} LIMIT 1")):
            found.append(name)
    if "audit_chain" in present and list(execute("SELECT 1 FROM audit_chain WHERE seq > 0")):
        found.append("audit_chain")
    return found

