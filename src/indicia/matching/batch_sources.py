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
    """The events' matchable fields as Arrow columns, one row per event.

    A field whose values are all strings becomes a string column; any other mix (numbers,
    lists) becomes a column of string lists, each value as its text.
    """
    columns: dict[str, pa.Array] = {
        TIMESTAMP_FIELD: pa.array([e.timestamp for e in events], pa.timestamp("us", tz="UTC"))
    }
    present: set[str] = set()
    for event in events:
        present.update(event.fields)
    fields = [event.fields for event in events]
    for name in sorted(present & FIELD_KINDS.keys()):
        columns[name] = _value_column([f.get(name) for f in fields])
    for name in sorted(present & set(PORT_NAMES)):
        columns[name] = _port_column([f.get(name) for f in fields])
    return pa.table(columns)


def _value_column(values: list[object]) -> pa.Array:
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([_as_strings(value) for value in values], pa.list_(pa.string()))


def _port_column(values: list[object]) -> pa.Array:
    if all(type(value) is int for value in values if value is not None):
        try:
            return pa.array(values, pa.int64()).cast(pa.string())
        except OverflowError:
            pass  # a number past 64 bits is no port: as text, the plan reads it as none
    texts = [_as_strings(value) for value in values]
    return pa.array([text[0] if text else None for text in texts], pa.string())


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
