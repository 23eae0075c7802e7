"""签发单, 代签 and 领导批示: the secretary role and its links, paper sign-offs, instructions and
their follow-up, three new kinds of stored file

Revision ID: a7c2e9d4b1f3
Revises: a7c2e9d4f1b3
Create Date: 2026-12-02 00:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c2e9d4b1f3'
down_revision = 'a7c2e9d4f1b3'
branch_labels = None
depends_on = None

ROLES_BEFORE = "role IN ('drafter', 'editor', 'signer', 'archivist', 'admin', 'clerk', 'security_admin', 'auditor')"
ROLES_AFTER = ("role IN ('drafter', 'editor', 'signer', 'archivist', 'admin', 'clerk', 'security_admin', 'auditor', "
               "'secretary')")
KINDS_BEFORE = "kind IN ('master', 'copy', 'image')"
KINDS_AFTER = "kind IN ('master', 'copy', 'image', 'signoff_sheet', 'signoff_scan', 'instruction_scan')"


def upgrade():
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_role_known_role'), type_='check')
        batch_op.create_check_constraint('known_role', ROLES_AFTER)
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stored_file_known_kind'), type_='check')
        batch_op.create_check_constraint('known_kind', KINDS_AFTER)

    op.create_table(
        'secretary_link',
        sa.Column('secretary_id', sa.Integer(), nullable=False),
        sa.Column('leader_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('secretary_id != leader_id', name=op.f('ck_secretary_link_not_oneself')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_secretary_link_created_by_id_user_account'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['leader_id'], ['user_account.id'], name=op.f('fk_secretary_link_leader_id_user_account'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['secretary_id'], ['user_account.id'], name=op.f('fk_secretary_link_secretary_id_user_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('secretary_id', 'leader_id', name=op.f('pk_secretary_link')),
    )
    op.create_table(
        'paper_signoff',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('brief_id', sa.Integer(), nullable=False),
        sa.Column('leader_id', sa.Integer(), nullable=False),
        sa.Column('leader_name', sa.String(length=64), nullable=False),
        sa.Column('secretary_id', sa.Integer(), nullable=False),
        sa.Column('secretary_name', sa.String(length=64), nullable=False),
        sa.Column('signed_on', sa.Date(), nullable=False),
        sa.Column('opinion', sa.Text(), nullable=False),
        sa.Column('scan_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('event_seq', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['brief_id'], ['brief.id'], name=op.f('fk_paper_signoff_brief_id_brief')),
        sa.ForeignKeyConstraint(['leader_id'], ['user_account.id'], name=op.f('fk_paper_signoff_leader_id_user_account')),
        sa.ForeignKeyConstraint(['scan_id'], ['stored_file.id'], name=op.f('fk_paper_signoff_scan_id_stored_file')),
        sa.ForeignKeyConstraint(['secretary_id'], ['user_account.id'], name=op.f('fk_paper_signoff_secretary_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_signoff')),
    )
    with op.batch_alter_table('paper_signoff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_signoff_brief_id'), ['brief_id'], unique=False)
    op.create_table(
        'instruction',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('brief_id', sa.Integer(), nullable=False),
        sa.Column('leader_name', sa.String(length=64), nullable=False),
        sa.Column('recipient_id', sa.Integer(), nullable=True),
        sa.Column('level', sa.String(length=40), nullable=False),
        sa.Column('given_on', sa.Date(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('scan_id', sa.Integer(), nullable=True),
        sa.Column('registered_by_id', sa.Integer(), nullable=False),
        sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('affirm', 'act', 'forward')", name=op.f('ck_instruction_known_kind')),
        sa.ForeignKeyConstraint(['brief_id'], ['brief.id'], name=op.f('fk_instruction_brief_id_brief')),
        sa.ForeignKeyConstraint(['recipient_id'], ['recipient.id'], name=op.f('fk_instruction_recipient_id_recipient'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['registered_by_id'], ['user_account.id'], name=op.f('fk_instruction_registered_by_id_user_account')),
        sa.ForeignKeyConstraint(['scan_id'], ['stored_file.id'], name=op.f('fk_instruction_scan_id_stored_file')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_instruction')),
    )
    with op.batch_alter_table('instruction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruction_brief_id'), ['brief_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruction_level'), ['level'], unique=False)
    op.create_table(
        'instruction_follow_up',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instruction_id', sa.Integer(), nullable=False),
        sa.Column('responsible_name', sa.String(length=64), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('done', sa.Boolean(), nullable=False),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['instruction_id'], ['instruction.id'], name=op.f('fk_instruction_follow_up_instruction_id_instruction')),
        sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_instruction_follow_up_owner_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_instruction_follow_up')),
        sa.UniqueConstraint('instruction_id', name=op.f('uq_instruction_follow_up_instruction_id')),
    )
    with op.batch_alter_table('instruction_follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruction_follow_up_owner_id'), ['owner_id'], unique=False)
    op.create_table(
        'instruction_follow_up_note',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('follow_up_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('author_name', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_instruction_follow_up_note_author_id_user_account')),
        sa.ForeignKeyConstraint(['follow_up_id'], ['instruction_follow_up.id'], name=op.f('fk_instruction_follow_up_note_follow_up_id_instruction_follow_up')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_instruction_follow_up_note')),
    )
    with op.batch_alter_table('instruction_follow_up_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruction_follow_up_note_follow_up_id'), ['follow_up_id'], unique=False)


def downgrade():
    op.drop_table('instruction_follow_up_note')
    op.drop_table('instruction_follow_up')
    op.drop_table('instruction')
    op.drop_table('paper_signoff')
    op.drop_table('secretary_link')
    op.execute("DELETE FROM stored_file WHERE kind IN ('signoff_sheet', 'signoff_scan', 'instruction_scan')")
    op.execute("DELETE FROM user_role WHERE role = 'secretary'")
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stored_file_known_kind'), type_='check')
        batch_op.create_check_constraint('known_kind', KINDS_BEFORE)
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_role_known_role'), type_='check')
        batch_op.create_check_constraint('known_role', ROLES_BEFORE)
