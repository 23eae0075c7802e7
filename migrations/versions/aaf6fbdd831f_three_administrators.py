"""three administrators (三员分立): the security administrator and the auditor roles

Revision ID: aaf6fbdd831f
Revises: e5b7c3a91d24
Create Date: 2026-12-02 09:00:00

user_role's CHECK admits `security_admin` and `auditor`, and a partial unique index lets a user
hold at most one of `admin`, `security_admin` and `auditor`. Existing admins stay `admin` (no
existing row can break the index: the other two roles are new). The administrators' roles no
longer read classified issues, so a series' classified readers lose `admin` (the policy ignores
it anyway). Autogenerate compares neither CHECKs nor the index's WHERE, so they are written out.
"""
from alembic import op
import sqlalchemy as sa


revision = 'aaf6fbdd831f'
down_revision = 'e5b7c3a91d24'
branch_labels = None
depends_on = None

ROLES_BEFORE = "role IN ('drafter', 'editor', 'signer', 'archivist', 'admin', 'clerk')"
ROLES_AFTER = "role IN ('drafter', 'editor', 'signer', 'archivist', 'admin', 'clerk', 'security_admin', 'auditor')"
ONE_ADMINISTRATOR = "role IN ('admin', 'auditor', 'security_admin')"


def upgrade():
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_role_known_role'), type_='check')
        batch_op.create_check_constraint('known_role', ROLES_AFTER)
        batch_op.create_index('uq_user_role_one_administrator', ['user_id'], unique=True,
                              sqlite_where=sa.text(ONE_ADMINISTRATOR),
                              postgresql_where=sa.text(ONE_ADMINISTRATOR))

    bind = op.get_bind()
    series = sa.table('series', sa.column('id', sa.Integer()), sa.column('classified_readers', sa.String()))
    for series_id, readers in bind.execute(sa.select(series.c.id, series.c.classified_readers)).all():
        kept = [r.strip() for r in (readers or "").split(",") if r.strip() and r.strip() != "admin"]
        if ",".join(kept) != (readers or ""):
            bind.execute(series.update().where(series.c.id == series_id).values(classified_readers=",".join(kept)))


def downgrade():
    # The two roles have no place in the older schema: their holders lose them.
    op.execute("DELETE FROM user_role WHERE role IN ('security_admin', 'auditor')")
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_index('uq_user_role_one_administrator')
        batch_op.drop_constraint(op.f('ck_user_role_known_role'), type_='check')
        batch_op.create_check_constraint('known_role', ROLES_BEFORE)
