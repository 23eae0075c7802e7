"""The manifest: what a backup holds (each member's SHA-256 and size) and what a restore needs.

It is the backup's first member, `manifest.json`, so that a restore can refuse (wrong engine,
missing audit keys, a schema this code does not know) before reading the rest.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

FORMAT = "canyue-backup"
VERSION = 1
MANIFEST = "manifest.json"
ANCHORS = "audit-anchors.log"
DATABASE_PREFIX = "database/"
FILES_PREFIX = "files/"
ENGINES = ("sqlite", "postgresql")

_SHA256 = re.compile(r"[0-9a-f]{64}")
# What a key check value is computed over: it tells whether a key is the one the backup's
# events were made with, and reveals nothing about the key.
_KEY_CHECK_MESSAGE = b"canyue backup: audit key check"


class BackupError(Exception):
    """A backup cannot be made, read or restored; the message says why, in one line."""


def key_check(secret: bytes) -> str:
    return hmac.new(secret, _KEY_CHECK_MESSAGE, hashlib.sha256).hexdigest()


def safe_store_path(relative: str) -> bool:
    """A path inside the file store: relative, no `..`, nothing odd."""
    if not relative or "\\" in relative or "\x00" in relative or relative.startswith("/"):
        return False
    parts = PurePosixPath(relative).parts
    return bool(parts) and all(part not in ("", ".", "..") for part in parts) and "/".join(parts) == relative


@dataclass(frozen=True)
class Member:
    name: str
    sha256: str
    size: int


@dataclass
class Manifest:
    created_at: str
    engine: str
    alembic_revision: str | None
    database: str  # the member holding the snapshot
    database_tool: str  # what made it
    audit_seq: int  # the snapshot's audit_chain.seq: anchors are included up to it
    audit_head: str | None
    key_ids: list[str]  # the audit keys the snapshot's events and anchors were made with
    key_checks: dict[str, str]  # key id -> key_check(secret), for the keys the maker held
    counts: dict[str, int]
    members: list[Member] = field(default_factory=list)
    format: str = FORMAT
    version: int = VERSION

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n").encode()

    def by_name(self) -> dict[str, Member]:
        return {m.name: m for m in self.members}

    @property
    def size(self) -> int:
        return sum(m.size for m in self.members)

    def files(self) -> list[Member]:
        return [m for m in self.members if m.name.startswith(FILES_PREFIX)]

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise BackupError(f"its manifest is not readable JSON ({error})") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise BackupError("its manifest is not a Canyue backup manifest")
        if raw.get("version") != VERSION:
            raise BackupError(f"it is a backup of format version {raw.get('version')!r}; this Canyue reads "
                              f"version {VERSION} (a newer Canyue made it?)")
        try:
            members = [Member(str(m["name"]), str(m["sha256"]), int(m["size"])) for m in raw["members"]]
            manifest = cls(**{**raw, "members": members})
        except (KeyError, TypeError, ValueError) as error:
            raise BackupError(f"its manifest is incomplete ({error})") from None
        manifest._check()
        return manifest

    def _check(self) -> None:
        if self.engine not in ENGINES:
            raise BackupError(f"its manifest names an unknown database engine {self.engine!r}")
        names = [m.name for m in self.members]
        if len(set(names)) != len(names):
            raise BackupError("its manifest lists a member twice")
        for m in self.members:
            if not _SHA256.fullmatch(m.sha256) or m.size < 0:
                raise BackupError(f"its manifest has a malformed entry for {m.name!r}")
            if m.name.startswith(FILES_PREFIX):
                if not safe_store_path(m.name[len(FILES_PREFIX):]):
                    raise BackupError(f"its manifest names a file outside the store: {m.name!r}")
            elif m.name not in (self.database, ANCHORS):
                raise BackupError(f"its manifest lists an unknown member {m.name!r}")
        if not self.database.startswith(DATABASE_PREFIX) or self.database not in names:
            raise BackupError("its manifest names no database snapshot")


def describe(manifest: Manifest) -> str:
    counts = manifest.counts
    return (f"{manifest.engine} database at revision {manifest.alembic_revision}, "
            f"{plural(counts.get('briefs', 0), 'brief')} ({counts.get('issued_briefs', 0)} issued), "
            f"{plural(counts.get('audit_events', 0), 'audit event')}, {plural(counts.get('files', 0), 'file')}, "
            f"{plural(counts.get('anchors', 0), 'anchor')}; made {manifest.created_at}")


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"
