"""jobs: a unique key, so that a periodic job runs once however many workers schedule it

Revision ID: d4f7a1c3e592
Revises: c8d2f4a6b913
Create Date: 2026-12-02 05:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'd4f7a1c3e592'
down_revision = 'c8d2f4a6b913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unique_key', sa.String(length=150), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_job_unique_key'), ['unique_key'])


def downgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_job_unique_key'), type_='unique')
        batch_op.drop_column('unique_key')
