"""series: classified levels and their readers

Revision ID: bf0730bcbe79
Revises: 3abe59da083f
Create Date: 2026-11-24 01:08:18.837785

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'bf0730bcbe79'
down_revision = '3abe59da083f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('classified_levels', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('classified_readers', sa.String(length=200), server_default='', nullable=False))



def downgrade():
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_column('classified_readers')
        batch_op.drop_column('classified_levels')

