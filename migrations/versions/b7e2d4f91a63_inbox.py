"""inbox: due dates (series allowances, the brief's own deadline, days off), comments, delegation

Revision ID: b7e2d4f91a63
Revises: f3c1d8a2b5e7
Create Date: 2026-12-02 01:00:00

`brief.state_since` is filled from the latest state change in each brief's audit trail (else
its last update); `brief.due_on` stays empty until the brief next moves (or an admin saves the
series' allowances or the days off, which recompute it for open briefs).
"""
from alembic import op
import sqlalchemy as sa


revision = 'b7e2d4f91a63'
down_revision = 'f3c1d8a2b5e7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('brief') as batch:
        batch.add_column(sa.Column('state_since', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('deadline', sa.Date(), nullable=True))
        batch.create_index('ix_brief_state_updated', ['state', 'updated_at'], unique=False)
        batch.create_index('ix_brief_author_updated', ['author_id', 'updated_at'], unique=False)
        batch.create_index('ix_brief_due_on', ['due_on'], unique=False)
        batch.create_index('ix_brief_updated', ['updated_at'], unique=False)
        batch.create_index('ix_brief_readable', ['state', 'deleted_at', 'author_id', 'submitted_at', 'series_id',
                                                 'classification', 'updated_at'], unique=False)
    op.execute(
        "UPDATE brief SET state_since = COALESCE((SELECT MAX(e.created_at) FROM audit_event e"
        " WHERE e.brief_id = brief.id AND e.to_state IS NOT NULL"
        " AND (e.from_state IS NULL OR e.from_state != e.to_state)), updated_at)"
    )
    with op.batch_alter_table('series') as batch:
        batch.add_column(sa.Column('review_days', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('signoff_days', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('publish_days', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('archive_days', sa.Integer(), nullable=True))
    op.execute("UPDATE series SET review_days = 3, signoff_days = 2, publish_days = 2")
    with op.batch_alter_table('audit_event') as batch:
        batch.create_index('ix_audit_event_actor', ['actor_id', 'id'], unique=False)
    with op.batch_alter_table('issue_copy') as batch:
        batch.create_index('ix_issue_copy_state', ['state'], unique=False)

    op.create_table('brief_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brief_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('author_name', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('mentions', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brief_id'], ['brief.id'], name=op.f('fk_brief_comment_brief_id_brief')),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_brief_comment_author_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brief_comment'))
    )
    with op.batch_alter_table('brief_comment') as batch:
        batch.create_index('ix_brief_comment_brief', ['brief_id', 'id'], unique=False)

    op.create_table('delegation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('principal_id', sa.Integer(), nullable=False),
    sa.Column('delegate_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('principal_id != delegate_id', name=op.f('ck_delegation_not_oneself')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_delegation_ordered_period')),
    sa.ForeignKeyConstraint(['principal_id'], ['user_account.id'], name=op.f('fk_delegation_principal_id_user_account')),
    sa.ForeignKeyConstraint(['delegate_id'], ['user_account.id'], name=op.f('fk_delegation_delegate_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delegation'))
    )
    with op.batch_alter_table('delegation') as batch:
        batch.create_index('ix_delegation_delegate', ['delegate_id', 'ends_on'], unique=False)

    op.create_table('day_off',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_day_off'))
    )


def downgrade():
    op.drop_table('day_off')
    with op.batch_alter_table('delegation') as batch:
        batch.drop_index('ix_delegation_delegate')
    op.drop_table('delegation')
    with op.batch_alter_table('brief_comment') as batch:
        batch.drop_index('ix_brief_comment_brief')
    op.drop_table('brief_comment')
    with op.batch_alter_table('issue_copy') as batch:
        batch.drop_index('ix_issue_copy_state')
    with op.batch_alter_table('audit_event') as batch:
        batch.drop_index('ix_audit_event_actor')
    with op.batch_alter_table('series') as batch:
        for column in ('archive_days', 'publish_days', 'signoff_days', 'review_days'):
            batch.drop_column(column)
    with op.batch_alter_table('brief') as batch:
        batch.drop_index('ix_brief_readable')
        batch.drop_index('ix_brief_updated')
        batch.drop_index('ix_brief_due_on')
        batch.drop_index('ix_brief_author_updated')
        batch.drop_index('ix_brief_state_updated')
        for column in ('deadline', 'due_on', 'state_since'):
            batch.drop_column(column)
