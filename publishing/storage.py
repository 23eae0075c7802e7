"""The file store under instance/: files are written atomically and never overwritten, and
read back only when their SHA-256 still matches the record."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class StoreError(Exception):
    """A file could not be stored; nothing was left behind."""


class FixityError(Exception):
    """A stored file is missing or no longer matches its recorded SHA-256."""


@dataclass(frozen=True)
class Blob:
    path: str
    sha256: str
    size: int


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _resolve(self, relative: str) -> Path:
        parts = PurePosixPath(relative)
        if parts.is_absolute() or ".." in parts.parts or not parts.parts:
            raise StoreError(f"not a path inside the store: {relative!r}")
        return self.root.joinpath(*parts.parts)

    def write_new(self, relative: str, data: bytes) -> Blob:
        """Write `data` at `relative`: atomically (temp file, fsync, link) and never over an
        existing file, which makes the write fail instead."""
        target = self._resolve(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            # link() refuses an existing target, where rename() would replace it.
            os.link(temp, target)
        except FileExistsError as error:
            raise StoreError(f"{relative} exists already; stored files are never overwritten") from error
        finally:
            os.unlink(temp)
        return Blob(relative, sha256_of(data), len(data))

    def delete(self, relative: str) -> None:
        """Remove a file this transaction wrote (rollback of a failed publish)."""
        self._resolve(relative).unlink(missing_ok=True)

    def read_verified(self, relative: str, sha256: str) -> bytes:
        path = self._resolve(relative)
        try:
            data = path.read_bytes()
        except FileNotFoundError as error:
            raise FixityError(f"{relative} is missing") from error
        if sha256_of(data) != sha256:
            raise FixityError(f"{relative} does not match its recorded SHA-256")
        return data
