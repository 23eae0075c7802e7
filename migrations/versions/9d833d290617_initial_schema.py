"""initial schema: users, series, briefs, revisions, audit events

Revision ID: 9d833d290617
Revises: 
Create Date: 2026-11-23 23:29:34.628948

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9d833d290617'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('hosts', sa.Text(), nullable=False),
    sa.Column('contact_phone', sa.String(length=120), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('default_print_run', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('first_total_number', sa.Integer(), nullable=False),
    sa.Column('supplement_numbering', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('numbering_lock', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("supplement_numbering IN ('shared', 'separate')", name=op.f('ck_series_known_supplement_numbering')),
    sa.CheckConstraint('default_print_run > 0', name=op.f('ck_series_positive_print_run')),
    sa.CheckConstraint('first_total_number > 0', name=op.f('ck_series_positive_first_total')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series')),
    sa.UniqueConstraint('name', name=op.f('uq_series_name'))
    )
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('session_token', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('username', name=op.f('uq_user_account_username'))
    )
    op.create_table('brief',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('author_line', sa.String(length=100), nullable=False),
    sa.Column('special_report', sa.JSON(), nullable=False),
    sa.Column('supplement', sa.Boolean(), nullable=False),
    sa.Column('classification', sa.String(length=20), nullable=False),
    sa.Column('urgency', sa.String(length=20), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('editor_name', sa.String(length=64), nullable=True),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signer_name', sa.String(length=64), nullable=True),
    sa.Column('sign_opinion', sa.Text(), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('issue_year', sa.Integer(), nullable=True),
    sa.Column('issue_number', sa.Integer(), nullable=True),
    sa.Column('total_number', sa.Integer(), nullable=True),
    sa.Column('number_sequence', sa.String(length=20), nullable=True),
    sa.Column('print_run', sa.Integer(), nullable=True),
    sa.Column('audit_head', sa.String(length=64), nullable=True),
    sa.CheckConstraint("number_sequence IS NULL OR number_sequence IN ('regular', 'supplement')", name=op.f('ck_brief_known_sequence')),
    sa.CheckConstraint("state IN ('draft', 'in_review', 'awaiting_signoff', 'signed', 'published', 'archived', 'withdrawn')", name=op.f('ck_brief_known_state')),
    sa.CheckConstraint("state NOT IN ('awaiting_signoff', 'signed', 'published', 'archived') OR editor_name IS NOT NULL", name=op.f('ck_brief_approved_has_editor')),
    sa.CheckConstraint("state NOT IN ('published', 'archived') OR (issue_number IS NOT NULL AND total_number IS NOT NULL AND issue_date IS NOT NULL AND issue_year IS NOT NULL AND number_sequence IS NOT NULL AND print_run IS NOT NULL)", name=op.f('ck_brief_published_has_numbers')),
    sa.CheckConstraint("state NOT IN ('signed', 'published', 'archived') OR (signer_name IS NOT NULL AND signed_at IS NOT NULL)", name=op.f('ck_brief_signed_has_signer')),
    sa.CheckConstraint('issue_number IS NULL OR issue_number > 0', name=op.f('ck_brief_positive_issue_number')),
    sa.CheckConstraint('total_number IS NULL OR total_number > 0', name=op.f('ck_brief_positive_total_number')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user_account.id'], name=op.f('fk_brief_approved_by_id_user_account')),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_brief_author_id_user_account')),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_account.id'], name=op.f('fk_brief_published_by_id_user_account')),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_brief_series_id_series')),
    sa.ForeignKeyConstraint(['signed_by_id'], ['user_account.id'], name=op.f('fk_brief_signed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brief')),
    sa.UniqueConstraint('series_id', 'number_sequence', 'issue_year', 'issue_number', name='uq_brief_issue_number'),
    sa.UniqueConstraint('series_id', 'number_sequence', 'total_number', name='uq_brief_total_number')
    )
    with op.batch_alter_table('brief', schema=None) as batch_op:
        batch_op.create_index('ix_brief_state', ['state'], unique=False)

    op.create_table('user_role',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.CheckConstraint("role IN ('drafter', 'editor', 'signer', 'archivist', 'admin')", name=op.f('ck_user_role_known_role')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_role_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_user_role'))
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brief_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('subject_type', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_audit_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['brief_id'], ['brief.id'], name=op.f('fk_audit_event_brief_id_brief')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    sa.UniqueConstraint('brief_id', 'seq', name='uq_audit_event_seq')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_brief_id'), ['brief_id'], unique=False)

    op.create_table('revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brief_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('author_line', sa.String(length=100), nullable=False),
    sa.Column('special_report', sa.JSON(), nullable=False),
    sa.Column('supplement', sa.Boolean(), nullable=False),
    sa.Column('classification', sa.String(length=20), nullable=False),
    sa.Column('urgency', sa.String(length=20), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['brief_id'], ['brief.id'], name=op.f('fk_revision_brief_id_brief'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_revision_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_revision')),
    sa.UniqueConstraint('brief_id', 'number', name='uq_revision_number')
    )


def downgrade():
    op.drop_table('revision')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_brief_id'))

    op.drop_table('audit_event')
    op.drop_table('user_role')
    with op.batch_alter_table('brief', schema=None) as batch_op:
        batch_op.drop_index('ix_brief_state')

    op.drop_table('brief')
    op.drop_table('user_account')
    op.drop_table('series')
