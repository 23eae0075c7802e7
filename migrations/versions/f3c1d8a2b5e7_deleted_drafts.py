"""deleted drafts: an author's never-submitted draft marked deleted (hidden, rows kept)

Revision ID: f3c1d8a2b5e7
Revises: f3d1a7b2c9e0
Create Date: 2026-12-01 21:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'f3c1d8a2b5e7'
down_revision = 'f3d1a7b2c9e0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('brief') as batch:
        batch.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('brief') as batch:
        batch.drop_column('deleted_at')
