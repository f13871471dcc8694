"""Initial schema: objects with their projections, versions, observables, alerts.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(100)
STAMP = sa.String(27)


def upgrade() -> None:
    op.create_table(
        "objects",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", ID, nullable=False, unique=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("created", STAMP),
        sa.Column("modified", STAMP),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("tlp", sa.String(16)),
        sa.Column("source", sa.String(200)),
        sa.Column("name", sa.Text),
        sa.Column("confidence", sa.Integer),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16)),
        sa.Column("kill_chain_phases", sa.Text, nullable=False),
        sa.Column("pattern_type", sa.String(32)),
        sa.Column("types", sa.Text),
        sa.Column("value", sa.Text),
        sa.Column("indicator_types", sa.Text),
        sa.Column("valid_from", STAMP),
        sa.Column("valid_until", STAMP),
        sa.Column("alert_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("json", sa.Text, nullable=False),
    )
    op.create_table(
        "object_versions",
        sa.Column("id", ID, primary_key=True),
        sa.Column("modified", STAMP, primary_key=True),
        sa.Column("json", sa.Text, nullable=False),
    )
    op.create_table(
        "observables",
        sa.Column(
            "object_pk", sa.Integer, sa.ForeignKey("objects.pk", ondelete="CASCADE"), nullable=False
        ),  # fmt: skip
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("port", sa.Integer),
    )
    op.create_index("ix_observables_kind_value", "observables", ["kind", "value"])
    op.create_index("ix_observables_object", "observables", ["object_pk"])
    op.create_table(
        "alerts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("indicator_id", ID, nullable=False, index=True),
        sa.Column("indicator_ids", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("matched_value", sa.Text, nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("log_source", sa.String(100), nullable=False),
        sa.Column("first_seen", STAMP, nullable=False),
        sa.Column("last_seen", STAMP, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("raw_ref", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("kill_chain_phases", sa.Text, nullable=False),
        sa.Column("tlp", sa.String(16)),
        sa.Column("confidence", sa.Integer),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("event_action", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created", STAMP, nullable=False),
        sa.Column("updated", STAMP, nullable=False),
    )
    op.create_index(
        "ix_alerts_fold", "alerts", ["indicator_id", "matched_value", "log_source", "last_seen"]
    )


def downgrade() -> None:
    for table in ("alerts", "observables", "object_versions", "objects"):
        op.drop_table(table)
