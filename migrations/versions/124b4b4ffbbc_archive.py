"""archive: filing fields, 件号 sequences, fixity results

Revision ID: 124b4b4ffbbc
Revises: bfec9b36b283
Create Date: 2026-11-24 00:02:05.878909

Also relaxes three state checks for imported past issues (they carry a provenance note
instead of an approval and signature record) and adds the filing checks; autogenerate does
not compare CHECK constraints, so they are written out here.
"""
from alembic import op
import sqlalchemy as sa

# CHECK constraints on brief: name -> (before this revision, after it).
BRIEF_CHECKS = {
    "approved_has_editor": (
        "state NOT IN ('awaiting_signoff', 'signed', 'published', 'archived') OR editor_name IS NOT NULL",
        "state NOT IN ('awaiting_signoff', 'signed', 'published', 'archived') OR editor_name IS NOT NULL"
        " OR provenance IS NOT NULL",
    ),
    "signed_has_signer": (
        "state NOT IN ('signed', 'published', 'archived') OR (signer_name IS NOT NULL AND signed_at IS NOT NULL)",
        "state NOT IN ('signed', 'published', 'archived') OR (signer_name IS NOT NULL AND signed_at IS NOT NULL)"
        " OR provenance IS NOT NULL",
    ),
    "published_has_numbers": (
        "state NOT IN ('published', 'archived') OR (issue_number IS NOT NULL AND total_number IS NOT NULL"
        " AND issue_date IS NOT NULL AND issue_year IS NOT NULL AND number_sequence IS NOT NULL"
        " AND print_run IS NOT NULL)",
        "state NOT IN ('published', 'archived') OR (issue_number IS NOT NULL AND total_number IS NOT NULL"
        " AND issue_date IS NOT NULL AND issue_year IS NOT NULL AND number_sequence IS NOT NULL"
        " AND (print_run IS NOT NULL OR provenance IS NOT NULL))",
    ),
}
NEW_BRIEF_CHECKS = {
    "archived_has_code": "state != 'archived' OR (archive_code IS NOT NULL AND retention IS NOT NULL"
    " AND archive_item IS NOT NULL)",
    "known_retention": "retention IS NULL OR retention IN ('Y', 'D30', 'D10')",
}


# revision identifiers, used by Alembic.
revision = '124b4b4ffbbc'
down_revision = 'bfec9b36b283'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('archive_sequence',
    sa.Column('fonds_code', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('retention', sa.String(length=4), nullable=False),
    sa.Column('first_item', sa.Integer(), nullable=False),
    sa.Column('lock', sa.Integer(), nullable=False),
    sa.CheckConstraint("retention IN ('Y', 'D30', 'D10')", name=op.f('ck_archive_sequence_known_retention')),
    sa.CheckConstraint('first_item > 0', name=op.f('ck_archive_sequence_positive_first_item')),
    sa.PrimaryKeyConstraint('fonds_code', 'year', 'retention', name=op.f('pk_archive_sequence'))
    )
    with op.batch_alter_table('brief', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archive_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('fonds_code', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('retention', sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column('archive_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('archive_item', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('archived_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('provenance', sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_brief_archive_code'), ['archive_code'])
        batch_op.create_unique_constraint('uq_brief_archive_item', ['fonds_code', 'archive_year', 'retention', 'archive_item'])
        batch_op.create_foreign_key(batch_op.f('fk_brief_archived_by_id_user_account'), 'user_account', ['archived_by_id'], ['id'])
        for name, (_before, after) in BRIEF_CHECKS.items():
            batch_op.drop_constraint(op.f(f"ck_brief_{name}"), type_="check")
            batch_op.create_check_constraint(name, after)
        for name, condition in NEW_BRIEF_CHECKS.items():
            batch_op.create_check_constraint(name, condition)

    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_retention', sa.String(length=4), server_default='Y', nullable=False))
        batch_op.create_check_constraint("known_default_retention", "default_retention IN ('Y', 'D30', 'D10')")

    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('check_ok', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('check_problem', sa.String(length=20), nullable=True))



def downgrade():
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.drop_column('check_problem')
        batch_op.drop_column('check_ok')
        batch_op.drop_column('checked_at')

    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_series_known_default_retention"), type_="check")
        batch_op.drop_column('default_retention')

    with op.batch_alter_table('brief', schema=None) as batch_op:
        for name in NEW_BRIEF_CHECKS:
            batch_op.drop_constraint(op.f(f"ck_brief_{name}"), type_="check")
        for name, (before, _after) in BRIEF_CHECKS.items():
            batch_op.drop_constraint(op.f(f"ck_brief_{name}"), type_="check")
            batch_op.create_check_constraint(name, before)
        batch_op.drop_constraint(batch_op.f('fk_brief_archived_by_id_user_account'), type_='foreignkey')
        batch_op.drop_constraint('uq_brief_archive_item', type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_brief_archive_code'), type_='unique')
        batch_op.drop_column('provenance')
        batch_op.drop_column('archived_at')
        batch_op.drop_column('archived_by_id')
        batch_op.drop_column('archive_item')
        batch_op.drop_column('archive_year')
        batch_op.drop_column('retention')
        batch_op.drop_column('fonds_code')
        batch_op.drop_column('archive_code')

    op.drop_table('archive_sequence')
