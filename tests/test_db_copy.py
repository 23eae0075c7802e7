"""Moving up: an installation on SQLite (the demo, plus an issue published with its numbered
copies) copied by `flask --app app db copy --to postgresql://…` into an empty PostgreSQL
database: every row of every table equal, the audit trail and every stored file verified by
`audit verify` and `archive verify` on the copy, new rows numbered after the copied ones,
search answering there. Needs a PostgreSQL server (PGHOST/PGPORT, as pg_virtualenv sets)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, select, text

from extensions import db
from models import Brief, Series, User
from models.base import Base
from tests.conftest import make_app
from tests.test_backup import assert_verifies, cli

pytestmark = pytest.mark.skipif(not os.environ.get("PGPORT"), reason="needs a PostgreSQL server (pg_virtualenv)")


def server_url(database: str) -> str:
    user, password = os.environ.get("PGUSER", "postgres"), os.environ.get("PGPASSWORD", "")
    host, port = os.environ.get("PGHOST", "localhost"), os.environ["PGPORT"]
    auth = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        return f"postgresql://{auth}/{database}?host={host}&port={port}"
    return f"postgresql://{auth}{host}:{port}/{database}"


@pytest.fixture
def empty_postgresql() -> Any:
    name = f"canyue_copy_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url(os.environ.get("PGDATABASE", "postgres")).replace("postgresql://",
                                                                                       "postgresql+psycopg://"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield server_url(name)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def every_row(instance: Flask) -> dict[str, list[tuple[Any, ...]]]:
    with instance.app_context():
        found = {table.name: [tuple(row) for row in db.session.execute(
            select(table).order_by(*(table.primary_key.columns or list(table.columns)[:1])))]
            for table in Base.metadata.sorted_tables}
        db.session.remove()
        return found


def test_an_sqlite_installation_moves_to_postgresql_intact(tmp_path: Path, empty_postgresql: str):
    folder = tmp_path / "installation"
    folder.mkdir()
    shared = {"CANYUE_FILES_DIR": str(folder / "files"), "CANYUE_AUDIT_ANCHOR_FILE": str(folder / "audit-anchors.log")}
    source = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'canyue.sqlite3'}", **shared)
    with source.app_context():
        upgrade()
        db.session.remove()
    code, output = cli(source, "demo")
    assert code == 0, output
    from publishing.pipeline import publish
    from workflows.transitions import apply_transition

    with source.app_context():
        def user(name: str) -> User:
            return db.session.scalar(select(User).where(User.username == name))

        waiting = db.session.scalar(select(Brief).where(Brief.state == "awaiting_signoff").order_by(Brief.id))
        assert waiting is not None
        apply_transition(db.session, waiting, "sign", user("signer"))
        db.session.commit()
        publish(db.session, waiting.id, user("editor"))
        published_id = waiting.id
        db.session.remove()
    assert_verifies(source)
    before = every_row(source)
    assert len(before["issue_copy"]) >= 10 and len(before["audit_event"]) >= 5 and len(before["stored_file"]) >= 2

    code, output = cli(source, "db", "copy", "--to", empty_postgresql)
    assert code == 0, output
    assert "search index rebuilt" in output

    target = make_app(SQLALCHEMY_DATABASE_URI=make_url(empty_postgresql.replace("postgresql://",
                                                                                "postgresql+psycopg://"))
                      .render_as_string(hide_password=False), **shared)
    assert every_row(target) == before  # every row of every table, value for value
    assert_verifies(target)  # audit verify: the chain, its anchors, the PDFs' heads; archive verify
    with target.app_context():
        assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar() == \
            every_revision(source)
        # New rows are numbered after the copied ones (the sequences moved on).
        series = db.session.scalars(select(Series)).first()
        added = Series(name="领导参阅二", hosts="苏州太湖智库", contact_phone="-", address="-",
                       default_print_run=1, first_total_number=1)
        db.session.add(added)
        db.session.commit()
        assert added.id == max(row[0] for row in before["series"]) + 1 and series is not None
        from archive.search import SYSTEM, search

        title = db.session.get(Brief, published_id).title
        assert published_id in [h.brief.id for h in search(db.session, SYSTEM, title[:6]).hits]
        db.session.remove()

    code, output = cli(source, "db", "copy", "--to", empty_postgresql)  # not empty any more
    assert code == 1 and "not empty" in output


def every_revision(instance: Flask) -> str:
    with instance.app_context():
        revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        db.session.remove()
        return revision
