"""Encrypting a backup to an age public key (pyrage: Python bindings of rage, the Rust
implementation of age), as a stream: the tar goes through a pipe into the encryptor, so the
backup is never on disk in clear, and back the same way. Files are standard age (v1), so
`age -d -i KEY backup.tar.age > backup.tar` opens one too.

Keys are X25519 age keys: a recipient `age1…`, an identity file as `age-keygen` writes it
(`AGE-SECRET-KEY-1…` lines; `#` lines are comments).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from backup.manifest import BackupError

MAGIC = b"age-encryption.org/v1\n"
ARMORED = b"-----BEGIN AGE ENCRYPTED FILE-----"


def is_encrypted(head: bytes) -> bool:
    return head.startswith(MAGIC) or head.lstrip().startswith(ARMORED)


def _pyrage() -> Any:
    try:
        import pyrage
    except ImportError:  # pragma: no cover - a declared dependency
        raise BackupError("encryption needs the pyrage package (pip install pyrage)") from None
    return pyrage


def parse_recipients(values: Sequence[str]) -> list[Any]:
    pyrage = _pyrage()
    recipients = []
    for value in values:
        try:
            recipients.append(pyrage.x25519.Recipient.from_str(value.strip()))
        except (pyrage.RecipientError, ValueError):
            raise BackupError(f"not an age public key (age1…): {value!r}") from None
    return recipients


def load_identities(path: Path) -> list[Any]:
    pyrage = _pyrage()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise BackupError(f"cannot read the identity file {path}: {getattr(error, 'strerror', None) or error}") from None
    identities = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(pyrage.x25519.Identity.from_str(line))
        except (pyrage.IdentityError, ValueError):
            raise BackupError(f"{path} is not an age identity file (AGE-SECRET-KEY-1… lines)") from None
    if not identities:
        raise BackupError(f"{path} holds no age identity (AGE-SECRET-KEY-1… line)")
    return identities


def _decrypt_problem(error: BaseException) -> str:
    text = str(error)
    if "No matching keys" in text:
        return "the identity does not open this backup (it was encrypted to another key)"
    return f"the encrypted backup is damaged or truncated (age: {text or type(error).__name__})"


@contextmanager
def encrypting(sink: BinaryIO, recipients: Sequence[Any]) -> Iterator[BinaryIO]:
    """A writable stream whose bytes reach `sink` encrypted; the encryption is complete
    when the block ends."""
    pyrage = _pyrage()
    read_end, write_end = os.pipe()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with open(read_end, "rb") as source:
                pyrage.encrypt_io(source, sink, list(recipients))
        except BaseException as error:  # reported by the main thread
            failure.append(error)

    thread = threading.Thread(target=run, name="canyue-backup-encrypt", daemon=True)
    thread.start()
    writer = open(write_end, "wb")
    try:
        yield writer
        writer.close()  # end of the plaintext: the encryptor writes the last chunk
    except BaseException as error:
        _close_quietly(writer)
        thread.join()
        if failure:  # the cause: a write into the closed pipe was only its consequence
            raise BackupError(f"cannot encrypt the backup: {failure[0]}") from error
        raise
    thread.join()
    if failure:
        raise BackupError(f"cannot encrypt the backup: {failure[0]}")


@contextmanager
def decrypting(path: Path, identities: Sequence[Any]) -> Iterator[BinaryIO]:
    """The plaintext of an encrypted backup as a readable stream. Stopping early is fine;
    a wrong identity or a damaged or truncated file raises BackupError at the end."""
    pyrage = _pyrage()
    read_end, write_end = os.pipe()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with open(write_end, "wb") as plain, path.open("rb") as source:  # the pipe closes whatever happens
                pyrage.decrypt_io(source, plain, list(identities))
        except BrokenPipeError:
            pass  # the reader had what it needed and stopped
        except BaseException as error:  # reported by the main thread
            failure.append(error)

    thread = threading.Thread(target=run, name="canyue-backup-decrypt", daemon=True)
    thread.start()
    reader = open(read_end, "rb")
    try:
        yield reader
    except BaseException:
        _close_quietly(reader)
        thread.join()
        if failure:  # the cause: what the reader saw was only its consequence
            raise BackupError(_decrypt_problem(failure[0])) from None
        raise
    _close_quietly(reader)
    thread.join()
    if failure:
        raise BackupError(_decrypt_problem(failure[0]))


def _close_quietly(stream: BinaryIO) -> None:
    try:
        stream.close()
    except OSError:
        pass
