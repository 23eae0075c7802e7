"""search index: full-text search over issued briefs (archive/search.py)

SQLite: search_doc plus two contentless FTS5 tables (search_title, search_text) over
pre-tokenised text. PostgreSQL: search_doc with tsvector columns and GIN indexes. None of it
is in the models; migrations/env.py tells autogenerate to leave it alone
(archive.search.include_name). The index is filled from the briefs already issued.

Revision ID: 2c7e5a9d41f3
Revises: 124b4b4ffbbc
Create Date: 2026-11-24 00:30:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '2c7e5a9d41f3'
down_revision = '124b4b4ffbbc'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    columns = [
        # id: a sequence number never reused (AUTOINCREMENT / serial), the low bits of sort_key.
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('brief_id', sa.Integer(), nullable=False),
        # issue date as YYYYMMDD << 24 | id: newest first is descending sort_key.
        sa.Column('sort_key', sa.BigInteger(), nullable=False),
        # hash of the indexed tokens, checked before an FTS5 row is deleted.
        sa.Column('digest', sa.String(length=32), nullable=False),
    ]
    if bind.dialect.name == 'postgresql':
        columns += [
            sa.Column('title_vec', postgresql.TSVECTOR(), nullable=False),
            sa.Column('text_vec', postgresql.TSVECTOR(), nullable=False),
        ]
    op.create_table(
        'search_doc', *columns,
        sa.ForeignKeyConstraint(['brief_id'], ['brief.id'], name='fk_search_doc_brief_id_brief', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_search_doc'),
        sa.UniqueConstraint('brief_id', name='uq_search_doc_brief_id'),
        sa.UniqueConstraint('sort_key', name='uq_search_doc_sort_key'),
        sqlite_autoincrement=True,
    )
    if bind.dialect.name == 'postgresql':
        op.create_index('ix_search_doc_title_vec', 'search_doc', ['title_vec'], postgresql_using='gin')
        op.create_index('ix_search_doc_text_vec', 'search_doc', ['text_vec'], postgresql_using='gin')
    else:
        # Contentless (the text lives in `brief`), no per-row sizes (no bm25 ranking is used),
        # ASCII tokens written by archive.search.
        for name in ('search_title', 'search_text'):
            op.execute(
                f"CREATE VIRTUAL TABLE {name} USING fts5(words, content='', columnsize=0, tokenize='ascii')"
            )

    # Index what is already issued. (If archive.search ever cannot run here, drop this call and
    # tell operators to run `flask --app app archive reindex` after upgrading.)
    from sqlalchemy.orm import Session

    from archive.search import rebuild_index

    session = Session(bind=bind)
    try:
        rebuild_index(session)
        session.flush()
    finally:
        session.close()


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP TABLE search_text')
        op.execute('DROP TABLE search_title')
    op.drop_table('search_doc')
