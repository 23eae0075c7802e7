"""distribution: recipients, lists, numbered copies, download links

Revision ID: 3abe59da083f
Revises: 2c7e5a9d41f3
Create Date: 2026-11-24 00:36:05.360509

Also: the clerk role (机要员) joins user_role's CHECK, stored files may be copies (kind 'copy'
with copy_id), and every brief's 本期专报 names become the 专报 entries of its distribution
list (workflows/distribution.py keeps the two equal from here on). Autogenerate does not
compare CHECK constraints, so those are written out here.
"""
from alembic import op
import sqlalchemy as sa

ROLES_BEFORE = "role IN ('drafter', 'editor', 'signer', 'archivist', 'admin')"
ROLES_AFTER = "role IN ('drafter', 'editor', 'signer', 'archivist', 'admin', 'clerk')"
KINDS_BEFORE = "kind IN ('master')"
KINDS_AFTER = "kind IN ('master', 'copy')"
COPY_NAMES_COPY = "kind != 'copy' OR copy_id IS NOT NULL"


# revision identifiers, used by Alembic.
revision = '3abe59da083f'
down_revision = '2c7e5a9d41f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recipient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('organisation', sa.String(length=120), nullable=False),
    sa.Column('category', sa.String(length=4), nullable=False),
    sa.Column('default_copies', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("category IN ('专报', '报', '送', '发')", name=op.f('ck_recipient_known_category')),
    sa.CheckConstraint('default_copies > 0', name=op.f('ck_recipient_positive_copies')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_recipient_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recipient'))
    )
    with op.batch_alter_table('recipient', schema=None) as batch_op:
        batch_op.create_index('ix_recipient_name', ['name'], unique=False)

    op.create_table('distribution_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brief_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=4), nullable=False),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('copies', sa.Integer(), nullable=False),
    sa.Column('medium', sa.String(length=12), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint("category != '专报' OR label IS NOT NULL", name=op.f('ck_distribution_entry_special_has_label')),
    sa.CheckConstraint("category = '专报' OR recipient_id IS NOT NULL", name=op.f('ck_distribution_entry_names_recipient')),
    sa.CheckConstraint("category IN ('专报', '报', '送', '发')", name=op.f('ck_distribution_entry_known_category')),
    sa.CheckConstraint("medium IN ('printed', 'electronic')", name=op.f('ck_distribution_entry_known_medium')),
    sa.CheckConstraint('copies > 0', name=op.f('ck_distribution_entry_positive_copies')),
    sa.ForeignKeyConstraint(['brief_id'], ['brief.id'], name=op.f('fk_distribution_entry_brief_id_brief'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipient.id'], name=op.f('fk_distribution_entry_recipient_id_recipient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_distribution_entry'))
    )
    with op.batch_alter_table('distribution_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_distribution_entry_brief_id'), ['brief_id'], unique=False)

    op.create_table('distribution_recall',
    sa.Column('brief_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recalled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recalled_by_id', sa.Integer(), nullable=False),
    sa.Column('recalled_by_name', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['brief_id'], ['brief.id'], name=op.f('fk_distribution_recall_brief_id_brief')),
    sa.ForeignKeyConstraint(['recalled_by_id'], ['user_account.id'], name=op.f('fk_distribution_recall_recalled_by_id_user_account')),
    sa.PrimaryKeyConstraint('brief_id', name=op.f('pk_distribution_recall'))
    )
    op.create_table('issue_copy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brief_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('medium', sa.String(length=12), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=4), nullable=True),
    sa.Column('recipient_label', sa.Text(), nullable=False),
    sa.Column('recipient_name', sa.String(length=64), nullable=False),
    sa.Column('recipient_title', sa.String(length=64), nullable=False),
    sa.Column('recipient_organisation', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('route', sa.String(length=12), nullable=True),
    sa.Column('dispatched_by', sa.String(length=64), nullable=True),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_by', sa.String(length=64), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_by', sa.String(length=64), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('destroyed_by', sa.String(length=64), nullable=True),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('witness', sa.String(length=64), nullable=True),
    sa.Column('lost_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lost_note', sa.Text(), nullable=True),
    sa.Column('recalled', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("category IS NULL OR category IN ('专报', '报', '送', '发')", name=op.f('ck_issue_copy_known_category')),
    sa.CheckConstraint("medium IN ('printed', 'electronic')", name=op.f('ck_issue_copy_known_medium')),
    sa.CheckConstraint("route IS NULL OR route IN ('courier', 'hand', 'electronic')", name=op.f('ck_issue_copy_known_route')),
    sa.CheckConstraint("state != 'destroyed' OR (destroyed_at IS NOT NULL AND witness IS NOT NULL)", name=op.f('ck_issue_copy_destroyed_has_witness')),
    sa.CheckConstraint("state != 'lost' OR lost_at IS NOT NULL", name=op.f('ck_issue_copy_lost_has_time')),
    sa.CheckConstraint("state != 'received' OR (received_at IS NOT NULL AND signed_by IS NOT NULL)", name=op.f('ck_issue_copy_received_has_signature')),
    sa.CheckConstraint("state != 'returned' OR returned_at IS NOT NULL", name=op.f('ck_issue_copy_returned_has_time')),
    sa.CheckConstraint("state IN ('printed', 'dispatched', 'received', 'returned', 'destroyed', 'lost')", name=op.f('ck_issue_copy_known_state')),
    sa.CheckConstraint("state NOT IN ('dispatched', 'received') OR (dispatched_at IS NOT NULL AND route IS NOT NULL)", name=op.f('ck_issue_copy_dispatched_has_route')),
    sa.CheckConstraint('number > 0', name=op.f('ck_issue_copy_positive_number')),
    sa.ForeignKeyConstraint(['brief_id'], ['brief.id'], name=op.f('fk_issue_copy_brief_id_brief')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipient.id'], name=op.f('fk_issue_copy_recipient_id_recipient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issue_copy')),
    sa.UniqueConstraint('brief_id', 'number', name='uq_issue_copy_number')
    )
    with op.batch_alter_table('issue_copy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issue_copy_brief_id'), ['brief_id'], unique=False)
        batch_op.create_index('ix_issue_copy_recipient', ['recipient_id'], unique=False)

    op.create_table('series_distribution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=4), nullable=False),
    sa.Column('copies', sa.Integer(), nullable=False),
    sa.Column('medium', sa.String(length=12), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint("category IN ('专报', '报', '送', '发')", name=op.f('ck_series_distribution_known_category')),
    sa.CheckConstraint("medium IN ('printed', 'electronic')", name=op.f('ck_series_distribution_known_medium')),
    sa.CheckConstraint('copies > 0', name=op.f('ck_series_distribution_positive_copies')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipient.id'], name=op.f('fk_series_distribution_recipient_id_recipient')),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_series_distribution_series_id_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series_distribution'))
    )
    with op.batch_alter_table('series_distribution', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_series_distribution_series_id'), ['series_id'], unique=False)

    op.create_table('download_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('copy_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['copy_id'], ['issue_copy.id'], name=op.f('fk_download_link_copy_id_issue_copy')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_download_link_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['user_account.id'], name=op.f('fk_download_link_revoked_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_download_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_download_link_token_hash'))
    )
    with op.batch_alter_table('download_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_download_link_copy_id'), ['copy_id'], unique=False)

    op.create_table('download_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('copy_id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('downloaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.CheckConstraint('link_id IS NOT NULL OR user_id IS NOT NULL', name=op.f('ck_download_log_names_who')),
    sa.ForeignKeyConstraint(['copy_id'], ['issue_copy.id'], name=op.f('fk_download_log_copy_id_issue_copy')),
    sa.ForeignKeyConstraint(['link_id'], ['download_link.id'], name=op.f('fk_download_log_link_id_download_link')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_download_log_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_download_log'))
    )
    with op.batch_alter_table('download_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_download_log_copy_id'), ['copy_id'], unique=False)

    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('copy_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_stored_file_copy_id'), ['copy_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_stored_file_copy_id_issue_copy'), 'issue_copy', ['copy_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_stored_file_known_kind'), type_='check')
        batch_op.create_check_constraint('known_kind', KINDS_AFTER)
        batch_op.create_check_constraint('copy_names_copy', COPY_NAMES_COPY)

    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_role_known_role'), type_='check')
        batch_op.create_check_constraint('known_role', ROLES_AFTER)

    migrate_special_report_names()


def migrate_special_report_names():
    """Each brief's 本期专报 names become the 专报 entries of its list, in order."""
    brief = sa.table('brief', sa.column('id', sa.Integer()), sa.column('special_report', sa.JSON()))
    entry = sa.table(
        'distribution_entry',
        sa.column('brief_id', sa.Integer()), sa.column('recipient_id', sa.Integer()),
        sa.column('category', sa.String()), sa.column('label', sa.Text()), sa.column('copies', sa.Integer()),
        sa.column('medium', sa.String()), sa.column('position', sa.Integer()),
    )
    rows = []
    for brief_id, names in op.get_bind().execute(sa.select(brief.c.id, brief.c.special_report)).all():
        for position, name in enumerate(names or []):
            rows.append({'brief_id': brief_id, 'recipient_id': None, 'category': '专报', 'label': name,
                         'copies': 1, 'medium': 'printed', 'position': position})
    if rows:
        op.bulk_insert(entry, rows)


def downgrade():
    # Clerks and stored copies have no place in the older schema; the 本期专报 names stay on
    # the briefs, so dropping the list loses nothing of the text.
    op.execute("DELETE FROM user_role WHERE role = 'clerk'")
    op.execute("DELETE FROM stored_file WHERE kind = 'copy'")
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_role_known_role'), type_='check')
        batch_op.create_check_constraint('known_role', ROLES_BEFORE)

    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stored_file_copy_names_copy'), type_='check')
        batch_op.drop_constraint(op.f('ck_stored_file_known_kind'), type_='check')
        batch_op.create_check_constraint('known_kind', KINDS_BEFORE)
        batch_op.drop_constraint(batch_op.f('fk_stored_file_copy_id_issue_copy'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_stored_file_copy_id'))
        batch_op.drop_column('copy_id')

    with op.batch_alter_table('download_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_download_log_copy_id'))

    op.drop_table('download_log')
    with op.batch_alter_table('download_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_download_link_copy_id'))

    op.drop_table('download_link')
    with op.batch_alter_table('series_distribution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_series_distribution_series_id'))

    op.drop_table('series_distribution')
    with op.batch_alter_table('issue_copy', schema=None) as batch_op:
        batch_op.drop_index('ix_issue_copy_recipient')
        batch_op.drop_index(batch_op.f('ix_issue_copy_brief_id'))

    op.drop_table('issue_copy')
    op.drop_table('distribution_recall')
    with op.batch_alter_table('distribution_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_distribution_entry_brief_id'))

    op.drop_table('distribution_entry')
    with op.batch_alter_table('recipient', schema=None) as batch_op:
        batch_op.drop_index('ix_recipient_name')

    op.drop_table('recipient')
