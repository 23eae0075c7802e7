"""keyed audit trail with a global chain; content-addressed stored files

Revision ID: c41d8e2a7b90
Revises: bf0730bcbe79
Create Date: 2026-12-01 17:20:00

Existing events keep their plain SHA-256 hashes (key id "legacy"), get global sequence numbers
in the order they were written, and wait for the keyed checkpoint that the next event (or
`flask audit seal`) writes. Existing files stay where they are: their path is also their
download name; new files are stored under their SHA-256.
"""
from alembic import op
import sqlalchemy as sa


revision = 'c41d8e2a7b90'
down_revision = 'bf0730bcbe79'
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('global_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('global_prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.String(length=32), server_default='legacy', nullable=False))
        batch_op.alter_column('brief_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=True)

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, hash FROM audit_event ORDER BY id")).all()
    prev = GENESIS
    for number, (event_id, event_hash) in enumerate(rows, start=1):
        bind.execute(sa.text("UPDATE audit_event SET global_seq = :n, global_prev_hash = :p WHERE id = :id"),
                     {"n": number, "p": prev, "id": event_id})
        prev = event_hash

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('global_seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('global_prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('key_id', existing_type=sa.String(length=32), server_default=None)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_event_global_seq'), ['global_seq'])
        batch_op.create_check_constraint('brief_event_has_seq', '(brief_id IS NULL) = (seq IS NULL)')

    chain = op.create_table('audit_chain',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('head', sa.String(length=64), nullable=False),
        sa.Column('legacy_sealed', sa.Boolean(), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_audit_chain_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain')),
    )
    op.bulk_insert(chain, [{"id": 1, "seq": len(rows), "head": prev, "legacy_sealed": not rows}])

    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('event_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('superseded_by_id', sa.Integer(), nullable=True))
        batch_op.drop_constraint(op.f('uq_stored_file_path'), type_='unique')
        batch_op.create_index(batch_op.f('ix_stored_file_path'), ['path'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_stored_file_superseded_by_id_stored_file'), 'stored_file',
                                    ['superseded_by_id'], ['id'])
    op.execute("UPDATE stored_file SET name = path")
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.alter_column('name', existing_type=sa.String(length=300), nullable=False)


def downgrade():
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_stored_file_superseded_by_id_stored_file'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_stored_file_path'))
        batch_op.create_unique_constraint(op.f('uq_stored_file_path'), ['path'])
        batch_op.drop_column('superseded_by_id')
        batch_op.drop_column('event_seq')
        batch_op.drop_column('name')
    op.drop_table('audit_chain')
    op.execute("DELETE FROM audit_event WHERE brief_id IS NULL")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_audit_event_brief_event_has_seq'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_audit_event_global_seq'), type_='unique')
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('brief_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('key_id')
        batch_op.drop_column('global_prev_hash')
        batch_op.drop_column('global_seq')
