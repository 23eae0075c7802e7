"""One publisher of a series at a time, without holding the database's write lock.

Publishing renders for the numbers it will get, then commits under the numbering lock; two
editors publishing in the same series at once would each render, and one would have to render
again. Taking turns first (a PostgreSQL advisory lock, on SQLite a file lock beside the
database; both die with their process) keeps that to the rare case, while every other writer —
saves, logins, copy moves — goes on meanwhile.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

# pg_advisory_lock(key1, key2): key1 names Canyue's publishing turns ("CANY"), key2 the series.
ADVISORY_CLASS = 0x43414E59


class TurnTimeout(Exception):
    """Another publish of the series held its turn for longer than we wait."""


@contextmanager
def publishing_turn(engine: Engine, series_id: int, *, wait_seconds: float = 120) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, series_id, wait_seconds):
            yield
    elif engine.url.database and engine.url.database != ":memory:":
        with _file_lock(Path(f"{engine.url.database}.publish-{series_id}.lock"), wait_seconds):
            yield
    else:
        yield


def _poll(try_once: callable, wait_seconds: float) -> None:  # type: ignore[valid-type]
    deadline = time.monotonic() + wait_seconds
    pause = 0.01
    while not try_once():
        if time.monotonic() > deadline:
            raise TurnTimeout()
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


@contextmanager
def _advisory_lock(engine: Engine, series_id: int, wait_seconds: float) -> Iterator[None]:
    """The lock belongs to the connection that took it, which is kept until the turn ends;
    while waiting, no connection is held (the pool is needed by the one whose turn it is)."""
    held: list = []

    def try_once() -> bool:
        connection = engine.connect()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:a, :b)"),
                                 {"a": ADVISORY_CLASS, "b": series_id}).scalar()
        connection.commit()
        if got:
            held.append(connection)
        else:
            connection.close()
        return bool(got)

    _poll(try_once, wait_seconds)
    connection = held[0]
    try:
        yield
    finally:
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:a, :b)"), {"a": ADVISORY_CLASS, "b": series_id})
            connection.commit()
        except Exception:
            connection.invalidate()  # closing the connection releases the lock
            raise
        finally:
            connection.close()


@contextmanager
def _file_lock(path: Path, wait_seconds: float) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        def try_once() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        _poll(try_once, wait_seconds)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
