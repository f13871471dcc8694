"""The store's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

``objects`` holds every STIX object's current version as JSON: it is the stored truth.
``object_versions`` keeps the versions a newer ``modified`` superseded. ``indicators`` and
``observables`` are projections of indicator objects for querying and matching; ``alerts`` are
what matching found. Timestamps are stored as fixed-width RFC 3339 text with microseconds
(``2024-03-05T10:20:30.123456Z``), which sorts and compares correctly on both databases.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

ID = String(100)
STAMP = String(27)

objects = Table(
    "objects",
    metadata,
    Column("id", ID, primary_key=True),
    Column("type", String(64), nullable=False, index=True),
    Column("created", STAMP),
    Column("modified", STAMP),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("tlp", String(16)),
    Column("source", String(200)),
    Column("json", Text, nullable=False),
)

object_versions = Table(
    "object_versions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("modified", STAMP, primary_key=True),
    Column("json", Text, nullable=False),
)

indicators = Table(
    "indicators",
    metadata,
    Column("id", ID, ForeignKey("objects.id", ondelete="CASCADE"), primary_key=True),
    Column("name", Text),
    Column("pattern", Text, nullable=False),
    Column("pattern_type", String(32), nullable=False),
    Column("types", Text, nullable=False),  # display types of its observables, JSON list
    Column("value", Text),  # the first observable's canonical value, for listing and search
    Column("indicator_types", Text, nullable=False),  # JSON list
    Column("valid_from", STAMP, nullable=False),
    Column("valid_until", STAMP),
    Column("confidence", Integer),
    Column("severity", String(16)),
    Column("tlp", String(16)),
    Column("source", String(200)),
    Column("labels", Text, nullable=False),  # JSON list: the indicator's tags
    Column("kill_chain_phases", Text, nullable=False),  # JSON list of {kill_chain_name, phase_name}
    Column("revoked", Boolean, nullable=False, default=False),
    Column("created", STAMP, nullable=False),
    Column("modified", STAMP, nullable=False),
    Column("alert_count", Integer, nullable=False, default=0),
)

observables = Table(
    "observables",
    metadata,
    Column("indicator_id", ID, ForeignKey("objects.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("value", Text, nullable=False),
    Column("port", Integer),
    Index("ix_observables_kind_value", "kind", "value"),
    Index("ix_observables_indicator", "indicator_id"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("indicator_id", ID, nullable=False, index=True),
    Column("indicator_ids", Text, nullable=False),  # JSON list, the first is indicator_id
    Column("kind", String(32), nullable=False),
    Column("matched_value", Text, nullable=False),
    Column("field", String(100), nullable=False),
    Column("log_source", String(100), nullable=False),
    Column("first_seen", STAMP, nullable=False),
    Column("last_seen", STAMP, nullable=False),
    Column("count", Integer, nullable=False),
    Column("raw_ref", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("kill_chain_phases", Text, nullable=False),
    Column("tlp", String(16)),
    Column("confidence", Integer),
    Column("tags", Text, nullable=False),
    Column("event_action", String(32)),
    Column("status", String(16), nullable=False, default="new"),
    Column("created", STAMP, nullable=False),
    Column("updated", STAMP, nullable=False),
    Index("ix_alerts_fold", "indicator_id", "matched_value", "log_source", "last_seen"),
)
