"""corrections of an issued brief's date and numbers

Revision ID: e5b7c3a91d24
Revises: c41d8e2a7b90
Create Date: 2026-12-08 10:00:00

One row per correction asked for (workflows/correction.py); a partial unique index keeps one
pending per brief. The brief's state column is unchanged: the correction moves leave a brief
in its state.
"""
from alembic import op
import sqlalchemy as sa


revision = 'e5b7c3a91d24'
down_revision = 'c41d8e2a7b90'
branch_labels = None
depends_on = None

PENDING = "state = 'pending'"


def upgrade():
    op.create_table('correction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brief_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('old_issue_date', sa.Date(), nullable=False),
    sa.Column('old_issue_number', sa.Integer(), nullable=False),
    sa.Column('old_total_number', sa.Integer(), nullable=False),
    sa.Column('new_issue_date', sa.Date(), nullable=False),
    sa.Column('new_issue_number', sa.Integer(), nullable=False),
    sa.Column('new_total_number', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_name', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_name', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'applied', 'withdrawn', 'rejected')",
                       name=op.f('ck_correction_known_state')),
    sa.CheckConstraint('new_issue_number > 0 AND new_total_number > 0', name=op.f('ck_correction_positive_numbers')),
    sa.CheckConstraint('new_issue_date != old_issue_date OR new_issue_number != old_issue_number'
                       ' OR new_total_number != old_total_number', name=op.f('ck_correction_changes_something')),
    sa.CheckConstraint(f"{PENDING} OR (decided_by_name IS NOT NULL AND decided_at IS NOT NULL)",
                       name=op.f('ck_correction_settled_has_decider')),
    sa.ForeignKeyConstraint(['brief_id'], ['brief.id'], name=op.f('fk_correction_brief_id_brief')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'],
                            name=op.f('fk_correction_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'],
                            name=op.f('fk_correction_requested_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correction'))
    )
    with op.batch_alter_table('correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_correction_brief_id'), ['brief_id'], unique=False)
        batch_op.create_index('ix_correction_one_pending', ['brief_id'], unique=True,
                              sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))


def downgrade():
    with op.batch_alter_table('correction', schema=None) as batch_op:
        batch_op.drop_index('ix_correction_one_pending')
        batch_op.drop_index(batch_op.f('ix_correction_brief_id'))
    op.drop_table('correction')
