"""Engine settings that keep SQLite and PostgreSQL behaving alike."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from extensions import db
from workflows.i18n import N_
from workflows.limits import InputRefused


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: pages keep reading while a publish holds the write lock.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _holds_nul(parameters: Any) -> bool:
    """Whether a statement's parameters (a row or many, as tuples, lists or dicts) hold a NUL."""
    if isinstance(parameters, str):
        return "\x00" in parameters
    if isinstance(parameters, dict):
        return any(_holds_nul(v) for v in parameters.values())
    if isinstance(parameters, (list, tuple)):
        return any(_holds_nul(v) for v in parameters)
    return False


def _refuse_nul(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    """The net behind the forms, the CSV reader and the brief-file reader, which refuse control
    characters with a message of their own: PostgreSQL cannot store NUL in text (its driver
    fails), SQLite would store it and let it cut texts short elsewhere. On both engines a NUL
    in any parameter is refused before the statement runs, with nothing written."""
    if _holds_nul(parameters):
        raise InputRefused(N_("The text contains a NUL character, which cannot be stored. Nothing was "
                              "saved: remove it and try again."))


def configure_engine(app: Flask) -> None:
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _refuse_nul)
