"""images: a stored file may be an image in a brief's body (figures/)

Revision ID: f3d1a7b2c9e0
Revises: e7a3c9f1d2b4
Create Date: 2026-12-01 20:40:00
"""
from alembic import op


revision = 'f3d1a7b2c9e0'
down_revision = 'e7a3c9f1d2b4'
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('master', 'copy')"
KINDS_AFTER = "kind IN ('master', 'copy', 'image')"


def upgrade():
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stored_file_known_kind'), type_='check')
        batch_op.create_check_constraint('known_kind', KINDS_AFTER)


def downgrade():
    op.execute("DELETE FROM stored_file WHERE kind = 'image'")
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stored_file_known_kind'), type_='check')
        batch_op.create_check_constraint('known_kind', KINDS_BEFORE)
