"""The schema comes from the migrations, matches the models, and enforces what states imply."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError

from archive.search import include_name
from extensions import db
from models import Brief
from workflows.brief import State


def test_models_and_migrations_agree(app):
    """The schema the migrations built is the one the models describe."""
    with app.app_context(), db.engine.connect() as connection:
        # The search index is made by its migration alone, as migrations/env.py says too.
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
        assert compare_metadata(context, db.metadata) == []


@pytest.mark.parametrize("column", ["signer_name", "editor_name", "issue_number", "total_number", "issue_date"])
def test_a_published_brief_must_keep_its_record(app, make_brief, column):
    brief_id = make_brief(State.PUBLISHED)
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(update(Brief).where(Brief.id == brief_id).values({column: None}))
            db.session.flush()
        db.session.rollback()


def test_numbers_are_unique_per_series(app, make_brief):
    first = make_brief(State.PUBLISHED)
    second = make_brief(State.PUBLISHED)
    with app.app_context():
        number = db.session.get(Brief, first).total_number
        with pytest.raises(IntegrityError):
            db.session.execute(update(Brief).where(Brief.id == second).values(total_number=number))
            db.session.flush()
        db.session.rollback()


def test_unknown_state_is_refused_by_the_database(app, make_brief):
    brief_id = make_brief(State.DRAFT)
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(text("UPDATE brief SET state = 'lost' WHERE id = :id"), {"id": brief_id})
            db.session.flush()
        db.session.rollback()
