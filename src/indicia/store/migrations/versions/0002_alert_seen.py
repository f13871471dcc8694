"""Alerts remember which events they counted (a key per event).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: alerts stored before this revision fall back to the older re-run rule.
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("seen", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("seen")
