"""Where the batch plan finds each ECS field: Arrow columns, or JSON lines read by DuckDB.

ECS documents name a field either with dotted keys (``{"source.ip": ...}``) or nested objects
(``{"source": {"ip": ...}}``); JSON lines are read with both spellings and every value found is
matched. Any ECS field may hold an array (ECS "field data types": arrays), so each field is read
as a string that may be an array's JSON text.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from indicia.logs.base import Event
from indicia.matching.batch_plan import JSON, LIST, SCALAR, Accessor
from indicia.matching.fields import DEFAULT_PORT_FIELD, FIELD_KINDS, PORT_FIELDS

TIMESTAMP_FIELD = "@timestamp"
PORT_NAMES: tuple[str, ...] = (DEFAULT_PORT_FIELD, *sorted(set(PORT_FIELDS.values())))

# ECS object arrays among the matched fields: dns.answers is a list of answer objects.
OBJECT_ARRAYS = frozenset({"dns.answers"})


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


def jsonl_accessors(struct: str = "j") -> tuple[list[Accessor], dict[str, str]]:
    """Accessors and port expressions over JSON documents read as columns.

    ``struct`` names the struct column holding each document (:func:`jsonl_source_sql`), or is
    empty when the document's keys are the relation's columns (:func:`read_json_sql`).
    """
    head = f"{struct}." if struct else ""
    accessors = []
    for name in FIELD_KINDS:
        accessors.append(Accessor(name, f"{head}{_quote(name)}", JSON))
        parent, _, leaf = name.rpartition(".")
        if parent in OBJECT_ARRAYS:
            nested = f"list_transform({_nested(parent, head)}, lambda a: a.{_quote(leaf)})"
            accessors.append(Accessor(name, nested, LIST))
        else:
            accessors.append(Accessor(name, _nested(name, head), JSON))
    ports = {name: f"coalesce({head}{_quote(name)}, {_nested(name, head)})" for name in PORT_NAMES}
    return accessors, ports


def read_json_sql(path: str, limit: int | None = None) -> str:
    """A (row, ts, document keys...) relation over a JSON-lines file read by DuckDB's reader.

    Twice as fast as parsing each line with from_json (measured here), but its rows skip blank
    lines, so ``row`` is the line number only in a file without blank lines; a line it cannot
    parse comes out as a row without values.
    """
    columns = ", ".join(
        f"{_literal(key)}: {_literal(_duckdb_type(value))}" for key, value in _structure().items()
    )
    reader = (
        f"read_json({_literal(path)}, format = 'newline_delimited', records = true, "
        f"ignore_errors = true, maximum_object_size = 16777216, columns = {{{columns}}})"
    )
    limited = f"(SELECT * FROM {reader} LIMIT {limit})" if limit is not None else reader
    stamp = f'coalesce({_quote(TIMESTAMP_FIELD)}, "timestamp")'
    return f"(SELECT row_number() OVER () AS row, {stamp} AS ts, * FROM {limited})"


def empty_lines_sql(path: str, candidates: str) -> str:
    """(line_no, unreadable, has_values) of the candidate lines (a relation of ``line_no``).

    A line is unreadable when it holds no JSON object (RFC 8259 4); ``has_values`` says that
    the line, parsed on its own, does hold a matched field after all.
    """
    accessors, _ = jsonl_accessors("j")
    structure = _literal(json.dumps(_structure()))
    return f"""
        SELECT line_no, NOT ok AS unreadable,
               ok AND coalesce({any_present_sql(accessors)}, false) AS has_values
        FROM (
            SELECT l.line_no, l.ok, CASE WHEN l.ok THEN from_json(l.line, {structure}) END AS j
            FROM (
                SELECT line_no, line, coalesce(
                    CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' END, false) AS ok
                FROM (SELECT row_number() OVER () AS line_no, line FROM {_lines(path)})
                SEMI JOIN {candidates} c USING (line_no)
            ) l
        )
        WHERE NOT ok OR has_values
        ORDER BY line_no
    """


def _duckdb_type(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return f"{_duckdb_type(value[0])}[]"
    fields = ", ".join(f"{_quote(key)} {_duckdb_type(inner)}" for key, inner in value.items())
    return f"STRUCT({fields})"


def _lines(path: str) -> str:
    # Each line is read whole (no quote, no delimiter it can hold: a raw U+0001 is not valid in
    # JSON text, RFC 8259 7), so the row number is the line number, blank lines included.
    return (
        f"read_csv({_literal(path)}, columns = {{'line': 'VARCHAR'}}, delim = '\x01', "
        "quote = '', escape = '', header = false, auto_detect = false, strict_mode = false, "
        "max_line_size = 16777216)"
    )


def jsonl_source_sql(path: str, limit: int | None = None) -> str:
    """A (row, ts, line, j) relation over a JSON-lines file; row is the 1-based line number."""
    structure = _literal(json.dumps(_structure()))
    stamp = f'coalesce(j.{_quote(TIMESTAMP_FIELD)}, j."timestamp")'
    lines = _lines(path)
    # LIMIT before the row numbers, or the window reads the whole file first.
    limited = f"(SELECT line FROM {lines} LIMIT {limit})" if limit is not None else lines
    return f"""
        (SELECT row, {stamp} AS ts, line, j FROM (
            SELECT row, line, try(from_json(line, {structure})) AS j FROM (
                SELECT row_number() OVER () AS row, line FROM {limited}
            )
        ))
    """


# A line is unreadable when it holds something but not one JSON object (RFC 8259 4).
UNREADABLE_SQL = (
    "(j IS NULL OR (NOT starts_with(line, '{') AND NOT starts_with(ltrim(line), '{'))) "
    "AND NOT regexp_full_match(coalesce(line, ''), '\\s*')"
)


def any_present_sql(accessors: list[Accessor]) -> str:
    """SQL that is true on a row where any of these accessors holds a value."""
    if not accessors:
        return "false"
    return " OR ".join(f"({a.expr}) IS NOT NULL" for a in accessors)


def _structure() -> dict[str, Any]:
    """The from_json structure: every matched field and port, flat and nested."""
    names = [*FIELD_KINDS, *PORT_NAMES]
    tree: dict[str, Any] = {TIMESTAMP_FIELD: "VARCHAR", "timestamp": "VARCHAR"}
    for name in names:
        tree[name] = "VARCHAR"
    for name in names:
        parent, _, leaf = name.rpartition(".")
        _node(tree, parent.split("."))[leaf] = "VARCHAR"
    return _arrays(tree, "")


def _node(tree: dict[str, Any], path: list[str]) -> dict[str, Any]:
    node = tree
    for step in path:
        node = node.setdefault(step, {})
    return node


def _arrays(tree: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Wrap the object arrays' structures in a list, as from_json expects for arrays."""
    result: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            inner = _arrays(value, path)
            result[key] = [inner] if path in OBJECT_ARRAYS else inner
        else:
            result[key] = value
    return result


def _nested(name: str, head: str = "j.") -> str:
    return head + ".".join(_quote(part) for part in name.split("."))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
