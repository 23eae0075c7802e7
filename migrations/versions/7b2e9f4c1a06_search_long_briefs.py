"""search in long briefs on PostgreSQL: search_doc.lossy and search_doc.words

A tsvector keeps at most 256 positions per token and clamps positions at 16,383; for a brief
near either limit the index also keeps its token string, and phrases are checked on that
(archive/search.py, "Long briefs on PostgreSQL"), and breaks are written as numbered
variants. SQLite's FTS5 has no such limit: nothing changes there. On PostgreSQL the index is
built again (as `flask --app app archive reindex` does: about 100,000 briefs in 10 minutes).

Revision ID: 7b2e9f4c1a06
Revises: a7c2e9d4b1f3
Create Date: 2026-12-02 00:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7b2e9f4c1a06'
down_revision = 'a7c2e9d4b1f3'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    op.add_column('search_doc', sa.Column('lossy', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('search_doc', sa.Column('words', sa.Text(), nullable=True))

    from sqlalchemy.orm import Session

    from archive.search import rebuild_index

    session = Session(bind=bind)
    try:
        rebuild_index(session)
        session.flush()
    finally:
        session.close()


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_column('search_doc', 'words')
    op.drop_column('search_doc', 'lossy')
