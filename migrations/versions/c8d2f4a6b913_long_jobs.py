"""long jobs: who started a job, and its result

Revision ID: c8d2f4a6b913
Revises: a7c2e9d4b1f6
Create Date: 2026-12-02 01:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'c8d2f4a6b913'
down_revision = 'a7c2e9d4b1f6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('result', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_job_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_job_user_id_user_account'), 'user_account', ['user_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_job_user_id_user_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_job_user_id'))
        batch_op.drop_column('result')
        batch_op.drop_column('user_id')
