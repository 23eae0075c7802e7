"""`flask --app app db copy --to postgresql://…`: move an installation from its database (the
embedded SQLite, typically) to an empty PostgreSQL database, every row as it is.

The target gets the schema from the migrations (the same revision as the source, which must
be at this code's head), then every table's rows in the order of their foreign keys, in
batches, in one transaction: ids, numbers, audit events and their hashes, the audit chain's
head, stored-file records, sessions — all byte for byte what the source holds, so the audit
trail verifies and every stored file still matches its row. Sequences are moved past the
copied ids. The search index is built anew on the target (its tables differ per engine).
Stored files stay where they are: the target installation uses the same file store (folder
or object storage) and the same audit keys and anchor log. The source is only read; stop the
app while copying (a publish made meanwhile would be missing from the copy, and `audit
verify` on the copy would then report the anchors it lacks).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from backup.manifest import BackupError
from config import database_uri
from models.base import Base

BATCH = 1000


@dataclass
class Copied:
    target: str
    revision: str
    rows: dict[str, int] = field(default_factory=dict)
    indexed: int = 0
    seconds: float = 0.0


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _nonempty(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        found = [name for name in sorted(present & set(Base.metadata.tables))
                 if name != "audit_chain" and conn.execute(text(f"SELECT 1 FROM {name} LIMIT 1")).first()]
        if "audit_chain" in present and conn.execute(text("SELECT 1 FROM audit_chain WHERE seq > 0")).first():
            found.append("audit_chain")
    return found


def copy_database(app: Flask, target_url: str, progress: Callable[[str, int], None] | None = None) -> Copied:
    from flask_migrate import upgrade

    from archive.search import rebuild_index
    from backup.restore import known_revisions
    from extensions import db

    started = time.monotonic()
    url = database_uri(target_url)
    if not url.startswith("postgresql"):
        raise BackupError("--to must be a postgresql:// URL")
    source = db.engine
    _, head = known_revisions(app)
    revision = _revision(source)
    if revision != head:
        raise BackupError(f"the database is at revision {revision}, this code at {head}: run `flask --app app db "
                          "upgrade` first; nothing was copied")
    from app import create_app

    # The target installation: this one's configuration, the other database.
    config = {key: value for key, value in app.config.items() if key != "SQLALCHEMY_ENGINE_OPTIONS"}
    target_app = create_app({**config, "SQLALCHEMY_DATABASE_URI": url})
    with target_app.app_context():
        target = db.engine
        try:
            busy = _nonempty(target)
        except SQLAlchemyError as error:
            raise BackupError(f"cannot reach the target database: {str(error.orig or error).strip()}") from None
        if busy:
            raise BackupError(f"the target database is not empty (rows in {', '.join(busy[:6])}): copy into an empty "
                              "one; nothing was copied")
        upgrade(revision=head)  # the schema, by the migrations
        db.session.remove()
    try:
        result = Copied(target.url.render_as_string(hide_password=True), head)
        with source.connect() as reading, target.begin() as writing:
            writing.execute(text("DELETE FROM audit_chain"))  # the migration's empty head; the source's follows
            for table in Base.metadata.sorted_tables:
                order = list(table.primary_key.columns) or list(table.columns)[:1]
                count = 0
                offset = 0
                while True:
                    rows = [dict(row._mapping) for row in reading.execute(
                        select(table).order_by(*order).limit(BATCH).offset(offset))]
                    if not rows:
                        break
                    writing.execute(table.insert(), rows)
                    count += len(rows)
                    offset += len(rows)
                    if progress:
                        progress(table.name, count)
                result.rows[table.name] = count
                # Past the copied ids: the next row inserted on PostgreSQL gets a fresh one.
                for column in table.primary_key.columns:
                    sequence = writing.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                               {"t": table.name, "c": column.name}).scalar()
                    if sequence:
                        top = writing.execute(select(func.max(column))).scalar()
                        writing.execute(text("SELECT setval(:s, :n, :called)"),
                                        {"s": sequence, "n": top or 1, "called": top is not None})
            # Counted again on both sides, in the same transaction as the copy.
            for table in Base.metadata.sorted_tables:
                there = writing.execute(select(func.count()).select_from(table)).scalar()
                if there != result.rows[table.name]:
                    raise BackupError(f"{table.name}: {there} rows on the target, {result.rows[table.name]} copied")
            from sqlalchemy.orm import Session

            session = Session(bind=writing)
            result.indexed = rebuild_index(session)
            session.flush()
        result.seconds = time.monotonic() - started
        return result
    finally:
        with target_app.app_context():
            db.session.remove()
            db.engine.dispose()
