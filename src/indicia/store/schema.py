"""The store's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

``objects`` holds every STIX object's current version as JSON, the stored truth, in one wide
row whose other columns are projections of that JSON for listing, filtering and matching (the
indicator columns stay empty for other types). ``object_versions`` keeps the versions a newer
``modified`` superseded; ``observables`` holds the canonical values of indicator patterns;
``alerts`` are what matching found. One wide row (rather than a table per projection) keeps an
import to one random-keyed index write per object, which is what bulk imports pay for.

Timestamps are stored as fixed-width RFC 3339 text with microseconds
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
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", ID, nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("created", STAMP),
    Column("modified", STAMP),
    Column("revoked", Boolean, nullable=False),
    Column("tlp", String(16)),
    Column("source", String(200)),
    Column("name", Text),
    Column("confidence", Integer),
    Column("labels", Text, nullable=False),  # JSON list: the object's tags
    Column("severity", String(16)),
    Column("kill_chain_phases", Text, nullable=False),  # JSON list of {kill_chain_name, phase_name}
    # Indicators only: the pattern's observables, for listing; validity; alert count.
    Column("pattern_type", String(32)),
    Column("types", Text),  # JSON list of the observables' display types
    Column("value", Text),  # the first observable's canonical value
    Column("indicator_types", Text),  # JSON list
    Column("valid_from", STAMP),
    Column("valid_until", STAMP),
    Column("alert_count", Integer, nullable=False, server_default="0"),
    Column("json", Text, nullable=False),
)

object_versions = Table(
    "object_versions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("modified", STAMP, primary_key=True),
    Column("json", Text, nullable=False),
)

observables = Table(
    "observables",
    metadata,
    Column("object_pk", Integer, ForeignKey("objects.pk", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("value", Text, nullable=False),
    Column("port", Integer),
    Index("ix_observables_kind_value", "kind", "value"),
    Index("ix_observables_object", "object_pk"),
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
    Column("status", String(16), nullable=False),
    Column("created", STAMP, nullable=False),
    Column("updated", STAMP, nullable=False),
    # JSON: the keys of the events the alert counted (indicia.store.alerts).
    Column("seen", Text),
    Index("ix_alerts_fold", "indicator_id", "matched_value", "log_source", "last_seen"),
)
