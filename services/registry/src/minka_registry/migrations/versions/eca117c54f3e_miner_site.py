"""miner site: where a miner works, a site of their cooperative

Revision ID: eca117c54f3e
Revises: eed33242fe4d
Create Date: 2026-11-21 03:56:57.000597
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'eca117c54f3e'
down_revision: str | None = 'eed33242fe4d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Named so that the downgrade can drop it (the metadata has no naming convention).
FOREIGN_KEY = 'fk_miners_site_id_sites'


def upgrade() -> None:
    # On SQLite the batch copies the miners table into a new one that has the foreign key.
    with op.batch_alter_table('miners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_miners_site_id'), ['site_id'], unique=False)
        batch_op.create_foreign_key(FOREIGN_KEY, 'sites', ['site_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('miners', schema=None) as batch_op:
        batch_op.drop_constraint(FOREIGN_KEY, type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_miners_site_id'))
        batch_op.drop_column('site_id')
