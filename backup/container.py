"""The backup file: a tar (POSIX pax) whose first member is the manifest, then the database
snapshot, the anchor lines and the stored files; written and read as a stream (so that it
can go through the age encryptor) and readable with plain `tar` where it is not encrypted.

    manifest.json
    database/canyue.sqlite3 | database/canyue.pgdump
    audit-anchors.log
    files/<path in the file store>   (sha256/ab/ab12….pdf, …)
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from backup.encryption import decrypting, is_encrypted, load_identities
from backup.manifest import MANIFEST, BackupError, Manifest, Member

BLOCK = 1 << 20
MANIFEST_MAX = 512 << 20
READ_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error)


@dataclass(frozen=True)
class Source:
    """A member to write: its manifest entry and where its bytes are."""

    member: Member
    path: Path | None
    what: str  # for messages: "the stored file sha256/ab/…"
    opener: Callable[[], BinaryIO] | None = None  # a stored file: the store opens it (any backend)

    def open(self) -> BinaryIO:
        if self.opener is not None:
            return self.opener()
        assert self.path is not None
        return self.path.open("rb")


class _SourceProblem(Exception):
    pass


class _Hashing:
    """Reads a source for tarfile, hashing what it hands over."""

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        try:
            data = self.handle.read(size)
        except OSError as error:
            raise _SourceProblem(error.strerror or str(error)) from None
        self.digest.update(data)
        self.count += len(data)
        return data


class _Counting:
    """A sequential writer that tells how much it wrote: all tarfile's "w" mode needs, so
    that it can write into a pipe (the encryptor) as well as into a file."""

    def __init__(self, stream: BinaryIO):
        self.stream, self.written = stream, 0

    def write(self, data: bytes) -> int:
        self.stream.write(data)
        self.written += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written


def _info(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.type = size, mtime, 0o600, tarfile.REGTYPE
    return info


def write_tar(stream: BinaryIO, manifest: Manifest, sources: list[Source], mtime: int) -> None:
    """Write the manifest, then each source, checking that each source's bytes are exactly
    the ones its manifest entry promises (a stored file that changed is refused, not copied)."""
    import io

    data = manifest.to_json()
    # Not tarfile's stream mode ("w|"): its buffer is copied on every write, which made
    # writing 11,000 members four times slower than the copying itself.
    with tarfile.open(fileobj=_Counting(stream), mode="w", format=tarfile.PAX_FORMAT, copybufsize=BLOCK) as tar:
        tar.addfile(_info(MANIFEST, len(data), mtime), io.BytesIO(data))
        for source in sources:
            member = source.member
            try:
                handle = source.open()
            except OSError as error:
                raise BackupError(f"{source.what} cannot be read ({error.strerror or error}); run "
                                  "`flask --app app archive verify`") from None
            with handle:
                reader = _Hashing(handle)
                try:
                    tar.addfile(_info(member.name, member.size, mtime), reader)  # type: ignore[arg-type]
                except _SourceProblem as problem:
                    raise BackupError(f"{source.what} cannot be read ({problem})") from None
                except OSError as error:
                    if reader.count < member.size:
                        raise BackupError(f"{source.what} is shorter than its record ({reader.count} of "
                                          f"{member.size} bytes); run `flask --app app archive verify`") from None
                    raise BackupError(f"cannot write the backup: {error.strerror or error}") from None
            if reader.digest.hexdigest() != member.sha256:
                raise BackupError(f"{source.what} does not match its recorded SHA-256; run `flask --app app "
                                  "archive verify` (and take the file from an earlier backup)")


class BackupReader:
    """A backup read in order: `manifest`, then `members()`."""

    def __init__(self, path: Path, stream: BinaryIO):
        self.path, self.stream = path, stream
        try:
            # A file is read in place; a stream (decrypted through a pipe) as a stream, with
            # tarfile's small default buffer (a large one is copied for every header read).
            self.tar = tarfile.open(fileobj=stream, mode="r:*" if stream.seekable() else "r|*")
        except READ_ERRORS:
            raise BackupError(f"{path} is not a Canyue backup (not a tar file)") from None
        try:
            first = self.tar.next()
        except READ_ERRORS:
            raise BackupError(f"{path} is not a Canyue backup (not a tar file)") from None
        if first is None or first.name != MANIFEST or not first.isfile() or first.size > MANIFEST_MAX:
            raise BackupError(f"{path} is not a Canyue backup (it does not start with {MANIFEST})")
        try:
            data = self.tar.extractfile(first).read()  # type: ignore[union-attr]
        except READ_ERRORS as error:
            raise BackupError(f"{path} is damaged or truncated ({error})") from None
        try:
            self.manifest = Manifest.from_json(data)
        except BackupError as error:
            raise BackupError(f"{path} is not a usable Canyue backup: {error}") from None

    def members(self) -> Iterator[tuple[tarfile.TarInfo, Member | None, IO[bytes] | None]]:
        """Each member after the manifest: its header, its manifest entry (None if the
        manifest does not list it), and its data (None if it is not a regular file)."""
        expected = self.manifest.by_name()
        while True:
            try:
                info = self.tar.next()
            except READ_ERRORS as error:
                raise BackupError(f"{self.path} is damaged or truncated ({error})") from None
            if info is None:
                self._check_end()
                return
            yield info, expected.get(info.name), self.tar.extractfile(info) if info.isfile() else None

    def _check_end(self) -> None:
        """tarfile takes a file that stops right after a member (or in its padding) for a whole
        archive: only the end-of-archive marker (two zero blocks) tells. An encrypted stream
        is checked by age instead (its last chunk is authenticated: `finish`)."""
        if not self.stream.seekable():
            return
        if self.stream.seek(0, os.SEEK_END) < self.tar.offset + 2 * tarfile.BLOCKSIZE:
            raise BackupError(f"{self.path} is damaged or truncated (it ends before the end-of-archive marker)")

    def finish(self) -> None:
        """Read to the end, so that an encrypted stream is authenticated to its last chunk."""
        try:
            while self.stream.read(BLOCK):
                pass
        except READ_ERRORS as error:
            raise BackupError(f"{self.path} is damaged or truncated ({error})") from None


def copy_member(data: IO[bytes], sink: BinaryIO | None, path: Path) -> tuple[str, int]:
    """Hash a member's bytes (writing them to `sink` if given): (sha256, size)."""
    digest, size = hashlib.sha256(), 0
    while True:
        try:
            block = data.read(BLOCK)
        except READ_ERRORS as error:
            raise BackupError(f"{path} is damaged or truncated ({error})") from None
        if not block:
            return digest.hexdigest(), size
        digest.update(block)
        size += len(block)
        if sink is not None:
            sink.write(block)


@contextmanager
def open_backup(path: Path, identity: Path | None) -> Iterator[BackupReader]:
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
    except OSError as error:
        raise BackupError(f"cannot read {path}: {error.strerror}") from None
    if is_encrypted(head):
        if identity is None:
            raise BackupError(f"{path} is encrypted (age): give --identity KEYFILE")
        identities = load_identities(identity)
        with decrypting(path, identities) as stream:
            yield BackupReader(path, stream)
    else:
        with path.open("rb") as stream:
            yield BackupReader(path, stream)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()
