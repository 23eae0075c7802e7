"""The file store: content-addressed, written once, never renamed or overwritten.

Two backends behind one interface (`Store`): `FileStore`, a folder (instance/files unless
CANYUE_FILES_DIR says otherwise), and `publishing.objectstore.S3Store`, S3-compatible object
storage (CANYUE_STORAGE_URL=s3://bucket/prefix). `publishing.services.file_store()` gives the
configured one; everything else (publishing, downloads, fixity, backups, BagIt) only uses
the interface, so every guarantee below holds on both.

A file is stored under its own SHA-256 (`sha256/ab/ab12….pdf`), so two publishes can never
collide on a name and a publish that died between writing and committing leaves at worst an
orphan, which the next publish simply does not need (or, byte for byte the same, reuses).
Only a database row (models.StoredFile) makes a file part of the archive; the readable
series/year/number name is the row's download name, not the storage name. The same scheme
works on object storage, which has no rename.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

OBJECTS = "sha256"
QUARANTINE = "quarantine"
# Finished BagIt exports waiting for download (longwork/): in the store so that every app node
# serves them, but not part of the archive — deleted when they expire, never walked by fixity.
EXPORTS = "exports"
IMPORTS = "imports"  # uploaded past issues waiting for their import job (longwork/), likewise
SET_ASIDE = frozenset({QUARANTINE, EXPORTS, IMPORTS})  # top-level areas walk() leaves out
TEMP_PREFIX = ".tmp-"


class StoreError(Exception):
    """A file could not be stored; nothing was left behind."""


class FixityError(Exception):
    """A stored file is missing or no longer matches its recorded SHA-256."""


@dataclass(frozen=True)
class Blob:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class StoredObject:
    """A file found in the store (for fixity and repair)."""

    path: str
    size: int
    modified: float  # seconds since the epoch


BLOCK = 1 << 20


class Store(Protocol):
    """What every backend offers. Paths are relative to the store's root, '/'-separated."""

    def describe(self) -> str: ...
    def put(self, data: bytes, suffix: str = ".pdf") -> Blob: ...
    def put_many(self, items: Iterable[bytes], suffix: str = ".pdf", threads: int = 8) -> list[Blob]: ...
    def place(self, relative: str, source: Path) -> None: ...
    def staging_dir(self, relative: str) -> Path: ...
    def discard(self, relative: str) -> None: ...
    def open_verified(self, relative: str, sha256: str) -> BinaryIO: ...
    def read_verified(self, relative: str, sha256: str) -> bytes: ...
    def exists(self, relative: str) -> bool: ...
    def sha256_of_file(self, relative: str) -> str | None: ...
    def size_of(self, relative: str) -> int | None: ...
    def open(self, relative: str) -> BinaryIO: ...
    def walk(self) -> Iterator[StoredObject]: ...
    def copy_to(self, relative: str, destination: Path) -> None: ...
    def quarantine(self, relative: str, *, when: datetime | None = None) -> str: ...
    def ping(self) -> None: ...


def safe_relative(relative: str) -> PurePosixPath:
    parts = PurePosixPath(relative)
    if parts.is_absolute() or ".." in parts.parts or not parts.parts or "\\" in relative:
        raise StoreError(f"not a path inside the store: {relative!r}")
    return parts


def quarantine_name(relative: str, when: datetime | None) -> str:
    stamp = (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{QUARANTINE}/{stamp}/{relative}"


def hash_stream(handle: BinaryIO, sink: BinaryIO | None = None) -> tuple[str, int]:
    """SHA-256 and size of what `handle` yields, read in blocks (copied to `sink` if given)."""
    digest, size = hashlib.sha256(), 0
    for block in iter(lambda: handle.read(BLOCK), b""):
        digest.update(block)
        size += len(block)
        if sink is not None:
            sink.write(block)
    return digest.hexdigest(), size


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def object_path(sha256: str, suffix: str) -> str:
    return f"{OBJECTS}/{sha256[:2]}/{sha256}{suffix}"


class FileStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _resolve(self, relative: str) -> Path:
        return self.root.joinpath(*safe_relative(relative).parts)

    def describe(self) -> str:
        return str(self.root)

    def ping(self) -> None:
        """Raise StoreError unless the store can be written to (readiness)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"{self.root}: {error.strerror or error}") from error
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreError(f"{self.root} is not writable")

    # --- writing ---------------------------------------------------------------------

    def put(self, data: bytes, suffix: str = ".pdf") -> Blob:
        """Store `data` under its SHA-256 and return where; durable once this returns."""
        blob, folder = self._write(data, suffix)
        fsync_dir(folder)
        return blob

    def put_many(self, items: Iterable[bytes], suffix: str = ".pdf", threads: int = 8) -> list[Blob]:
        """Store many files (the numbered copies) with a few threads: fsync dominates, and
        each folder is synced once at the end instead of once per file."""
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="canyue-store") as pool:
            written = list(pool.map(lambda data: self._write(data, suffix), items))
        for folder in {folder for _, folder in written}:
            fsync_dir(folder)
        return [blob for blob, _ in written]

    def _write(self, data: bytes, suffix: str) -> tuple[Blob, Path]:
        digest = sha256_of(data)
        blob = Blob(object_path(digest, suffix), digest, len(data))
        target = self._resolve(blob.path)
        if target.exists():
            return self._reuse(blob, target), target.parent
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX, suffix=".part")
        except OSError as error:
            raise StoreError(f"cannot write into the store: {error}") from error
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            # link() refuses an existing target, where rename() would replace it.
            os.link(temp, target)
        except FileExistsError:
            return self._reuse(blob, target), target.parent  # written meanwhile by a twin
        except OSError as error:
            raise StoreError(f"cannot write {blob.path}: {error}") from error
        finally:
            os.unlink(temp)
        return blob, target.parent

    def place(self, relative: str, source: Path) -> None:
        """Put the file at `source` (on the same file system: a restore stages it beside its
        target) at `relative`, never replacing anything: FileExistsError if taken."""
        target = self._resolve(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(source, target)

    def staging_dir(self, relative: str) -> Path:
        """Where a file bound for `relative` is written first (its own folder: link needs it)."""
        target = self._resolve(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.parent

    def _reuse(self, blob: Blob, target: Path) -> Blob:
        """The name is the content's hash, so an existing file is the same file, if intact."""
        if self.sha256_of_file(blob.path) != blob.sha256:
            raise StoreError(f"{blob.path} exists and is damaged (its content no longer matches its name); "
                             "run `archive verify` before storing it again")
        return blob

    def discard(self, relative: str) -> None:
        """Remove a file that no row references (what a failed publish wrote)."""
        self._resolve(relative).unlink(missing_ok=True)

    # --- reading ---------------------------------------------------------------------

    def open_verified(self, relative: str, sha256: str) -> BinaryIO:
        """The stored file, open at its start, after its SHA-256 was recomputed in blocks (never
        loaded whole). The handle holds the inode that was checked: files are never rewritten."""
        try:
            handle = self._resolve(relative).open("rb")
        except FileNotFoundError as error:
            raise FixityError(f"{relative} is missing") from error
        try:
            if hash_stream(handle)[0] != sha256:
                raise FixityError(f"{relative} does not match its recorded SHA-256")
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
        return handle

    def read_verified(self, relative: str, sha256: str) -> bytes:
        with self.open_verified(relative, sha256) as handle:
            return handle.read()

    def open(self, relative: str) -> BinaryIO:
        """The stored file as it is (unchecked): FileNotFoundError when missing."""
        return self._resolve(relative).open("rb")

    def size_of(self, relative: str) -> int | None:
        try:
            return self._resolve(relative).stat().st_size
        except FileNotFoundError:
            return None

    def exists(self, relative: str) -> bool:
        return self._resolve(relative).is_file()

    def sha256_of_file(self, relative: str) -> str | None:
        """The SHA-256 of the stored file, read in blocks; None when it is missing."""
        try:
            with self._resolve(relative).open("rb") as handle:
                return hash_stream(handle)[0]
        except FileNotFoundError:
            return None

    def walk(self) -> Iterator[StoredObject]:
        """Every file in the store, temporary files of interrupted writes included, except
        what repair has already quarantined, the exports waiting for download and the uploads
        waiting for their import."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            relative = path.relative_to(self.root)
            if relative.parts[0] in SET_ASIDE or not path.is_file():
                continue
            stat = path.stat()
            yield StoredObject(relative.as_posix(), stat.st_size, stat.st_mtime)

    def copy_to(self, relative: str, destination: Path) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._resolve(relative), destination)

    # --- repair ----------------------------------------------------------------------

    def quarantine(self, relative: str, *, when: datetime | None = None) -> str:
        """Move an unreferenced file aside (quarantine/<UTC time>/<path>); where it went."""
        moved = quarantine_name(relative, when)
        target = self._resolve(moved)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(self._resolve(relative), target)
        return moved


def fsync_dir(folder: Path) -> None:
    """Make the new directory entries durable (a committed row must never name a lost file)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def older_than(obj: StoredObject, seconds: float, now: float | None = None) -> bool:
    return (now if now is not None else time.time()) - obj.modified > seconds
