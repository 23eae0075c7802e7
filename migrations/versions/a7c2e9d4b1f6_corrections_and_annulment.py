"""更正 and 作废 after publication: correction drafts, 更正版 editions, annulled issues; 成果统计 indexes

Revision ID: a7c2e9d4b1f6
Revises: 7b2e9f4c1a06
Create Date: 2026-12-02 00:40:00

Adds the states `annulled` and `reissued` and the checks they imply; autogenerate does not
compare CHECK constraints, so they are written out here.
"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c2e9d4b1f6'
down_revision = '7b2e9f4c1a06'
branch_labels = None
depends_on = None

OLD_STATES = "'draft', 'in_review', 'awaiting_signoff', 'signed', 'published', 'archived', 'withdrawn'"
NEW_STATES = OLD_STATES + ", 'annulled', 'reissued'"

# CHECK constraints on brief: name -> (before this revision, after it).
BRIEF_CHECKS = {
    "known_state": (f"state IN ({OLD_STATES})", f"state IN ({NEW_STATES})"),
    "approved_has_editor": (
        "state NOT IN ('awaiting_signoff', 'signed', 'published', 'archived') OR editor_name IS NOT NULL"
        " OR provenance IS NOT NULL",
        "state NOT IN ('awaiting_signoff', 'signed', 'published', 'archived', 'annulled', 'reissued')"
        " OR editor_name IS NOT NULL OR provenance IS NOT NULL",
    ),
    "signed_has_signer": (
        "state NOT IN ('signed', 'published', 'archived') OR (signer_name IS NOT NULL AND signed_at IS NOT NULL)"
        " OR provenance IS NOT NULL",
        "state NOT IN ('signed', 'published', 'archived', 'annulled', 'reissued')"
        " OR (signer_name IS NOT NULL AND signed_at IS NOT NULL) OR provenance IS NOT NULL",
    ),
    "published_has_numbers": (
        "state NOT IN ('published', 'archived') OR (issue_number IS NOT NULL AND total_number IS NOT NULL"
        " AND issue_date IS NOT NULL AND issue_year IS NOT NULL AND number_sequence IS NOT NULL"
        " AND (print_run IS NOT NULL OR provenance IS NOT NULL))",
        "state NOT IN ('published', 'archived', 'annulled') OR (issue_number IS NOT NULL"
        " AND total_number IS NOT NULL AND issue_date IS NOT NULL AND issue_year IS NOT NULL"
        " AND number_sequence IS NOT NULL AND (print_run IS NOT NULL OR provenance IS NOT NULL))",
    ),
}
NEW_BRIEF_CHECKS = {
    "annulled_has_date": "state != 'annulled' OR annulled_at IS NOT NULL",
    "correction_has_kind": "(corrects_id IS NULL) = (correction_kind IS NULL)",
    "known_correction_kind": "correction_kind IS NULL OR correction_kind IN ('notice', 'edition')",
    "reissued_holds_no_numbers": "state != 'reissued' OR (correction_kind = 'edition' AND issue_number IS NULL"
    " AND total_number IS NULL)",
}


def upgrade():
    with op.batch_alter_table('brief', schema=None) as batch_op:
        batch_op.add_column(sa.Column('annulled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('annulled_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('corrects_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('correction_kind', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('edition', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_brief_corrects_id'), ['corrects_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_brief_annulled_by_id_user_account'), 'user_account',
                                    ['annulled_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_brief_corrects_id_brief'), 'brief', ['corrects_id'], ['id'])
        for name, (_before, after) in BRIEF_CHECKS.items():
            batch_op.drop_constraint(op.f(f"ck_brief_{name}"), type_="check")
            batch_op.create_check_constraint(name, after)
        for name, condition in NEW_BRIEF_CHECKS.items():
            batch_op.create_check_constraint(name, condition)
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correction_mode', sa.String(length=10), server_default='notice',
                                      nullable=False))
        batch_op.create_check_constraint("known_correction_mode", "correction_mode IN ('notice', 'edition')")
    # 成果统计 (stats/figures.py): its counts and durations from one index, its returns from another.
    op.create_index('ix_brief_statistics', 'brief', ['state', 'issue_year', 'series_id', 'supplement', 'corrects_id',
                                                    'annulled_at', 'submitted_at', 'signed_at', 'published_at'])
    op.create_index('ix_audit_event_action', 'audit_event', ['action', 'created_at', 'brief_id'])


def downgrade():
    op.drop_index('ix_audit_event_action', table_name='audit_event')
    op.drop_index('ix_brief_statistics', table_name='brief')
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_series_known_correction_mode"), type_="check")
        batch_op.drop_column('correction_mode')
    with op.batch_alter_table('brief', schema=None) as batch_op:
        for name in NEW_BRIEF_CHECKS:
            batch_op.drop_constraint(op.f(f"ck_brief_{name}"), type_="check")
        for name, (before, _after) in BRIEF_CHECKS.items():
            batch_op.drop_constraint(op.f(f"ck_brief_{name}"), type_="check")
            batch_op.create_check_constraint(name, before)
        batch_op.drop_constraint(batch_op.f('fk_brief_corrects_id_brief'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_brief_annulled_by_id_user_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_brief_corrects_id'))
        batch_op.drop_column('edition')
        batch_op.drop_column('correction_kind')
        batch_op.drop_column('corrects_id')
        batch_op.drop_column('annulled_by_id')
        batch_op.drop_column('annulled_at')
