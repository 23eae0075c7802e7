"""stored files: the archival PDF of each issue

Revision ID: bfec9b36b283
Revises: 9d833d290617
Create Date: 2026-11-23 23:50:51.405863

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'bfec9b36b283'
down_revision = '9d833d290617'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stored_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brief_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('master')", name=op.f('ck_stored_file_known_kind')),
    sa.CheckConstraint('size > 0 AND pages > 0', name=op.f('ck_stored_file_not_empty')),
    sa.ForeignKeyConstraint(['brief_id'], ['brief.id'], name=op.f('fk_stored_file_brief_id_brief')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_file')),
    sa.UniqueConstraint('path', name=op.f('uq_stored_file_path'))
    )
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stored_file_brief_id'), ['brief_id'], unique=False)



def downgrade():
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stored_file_brief_id'))

    op.drop_table('stored_file')
