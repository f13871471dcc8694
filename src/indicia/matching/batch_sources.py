"""Where the batch plan finds each ECS field in Arrow input: event objects or Arrow tables.

Arrow tables name fields with dotted column names (nested structs are flattened first); a
column holds strings or lists of strings. JSON lines are read by :mod:`indicia.matching.batch_load`.
"""

from __future__ import annotations

import pyarrow as pa

from indicia.logs.base import Event
from indicia.matching.batch_plan import LIST, SCALAR, Accessor
from indicia.matching.fields import DEFAULT_PORT_FIELD, FIELD_KINDS, PORT_FIELDS

TIMESTAMP_FIELD = "@timestamp"
PORT_NAMES: tuple[str, ...] = (DEFAULT_PORT_FIELD, *sorted(set(PORT_FIELDS.values())))


def events_table(events: list[Event]) -> pa.Table:
    """The events' matchable fields as Arrow columns (lists of strings), one row per event."""
    columns: dict[str, pa.Array] = {
        TIMESTAMP_FIELD: pa.array([e.timestamp for e in events], pa.timestamp("us", tz="UTC"))
    }
    present = {name for event in events for name in event.fields}
    for name in sorted(present & FIELD_KINDS.keys()):
        values = [_as_strings(event.fields.get(name)) for event in events]
        columns[name] = pa.array(values, pa.list_(pa.string()))
    for name in sorted(present & set(PORT_NAMES)):
        ports = [_as_strings(event.fields.get(name)) for event in events]
        columns[name] = pa.array([p[0] if p else None for p in ports], pa.string())
    return pa.table(columns)


def _as_strings(value: object) -> list[str] | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, list):
        return [str(item) for item in value if item is not None]
    return [str(value)]


def arrow_accessors(schema: pa.Schema) -> tuple[list[Accessor], dict[str, str]]:
    """Accessors and port expressions for an Arrow table with ECS dotted column names."""
    accessors = []
    for name in schema.names:
        if name not in FIELD_KINDS:
            continue
        column = _quote(name)
        if pa.types.is_list(schema.field(name).type) or pa.types.is_large_list(
            schema.field(name).type
        ):
            accessors.append(Accessor(name, f"CAST({column} AS VARCHAR[])", LIST))
        else:
            accessors.append(Accessor(name, f"CAST({column} AS VARCHAR)", SCALAR))
    ports = {name: _quote(name) for name in PORT_NAMES if name in schema.names}
    return accessors, ports


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
