"""JSON lines already in ECS (``ecs-json``), and JSON lines or CSV mapped to ECS by a TOML file.

``ecs-json`` takes each line's keys as ECS names, flat (``"source.ip"``) or nested
(``{"source": {"ip": ...}}``), with the time in ``@timestamp``. A mapping file describes any other
JSON-lines or CSV log::

    [format]
    kind = "csv"                 # or "jsonl"
    delimiter = ","              # CSV only
    header = true                # CSV only; else list the names in `columns`
    timestamp_field = "ts"
    timestamp_format = "epoch"   # "iso8601", "epoch", "epoch_ms" or a strptime string
    source = "my-proxy"          # the events' log source name (default "generic")

    [fields]
    "src.addr" = "source.ip"     # source key (dotted path for nested JSON) = ECS name

Keys the mapping does not name are kept under ``generic.<key>``.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from indicia.errors import InputError
from indicia.logs.base import Event, FieldValue, Lines, LogFormat, ParseResult, Unreadable
from indicia.logs.times import parse_any_time

NAME = "ecs-json"
MAPPED_NAME = "generic"
_PORTS = frozenset(
    {"source.port", "destination.port", "client.port", "server.port", "http.response.status_code"}
)


# ---- flattening JSON to ECS fields -------------------------------------------------------------


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, FieldValue]:
    """Nested JSON objects as dotted keys; lists of scalars as ``list[str]``, of objects per key.

    Iterative and type-dispatched because ecs-json feeds the matcher at bulk rates; null values
    are left out.
    """
    fields: dict[str, FieldValue] = {}
    stack: list[tuple[str, Mapping[str, Any]]] = [(prefix, record)]
    while stack:
        base, obj = stack.pop()
        for key, value in obj.items():
            kind = type(value)
            if kind is str or kind is int or kind is float or kind is bool:
                fields[base + key] = value
            elif kind is dict:
                stack.append((base + key + ".", value))
            elif kind is list:
                _flatten_list(base + key, value, fields)
    return fields


def _flatten_list(name: str, items: list[Any], fields: dict[str, FieldValue]) -> None:
    """``[{"data": "a"}, {"data": "b"}]`` under ``dns.answers`` gives ``dns.answers.data``."""
    if all(not isinstance(item, dict | list) for item in items):
        values = [str(item) for item in items if item is not None]
        if values:
            fields[name] = values
        return
    collected: dict[str, list[str]] = {}
    for item in items:
        if isinstance(item, dict):
            for key, value in flatten(item, name + ".").items():
                collected.setdefault(key, []).extend(
                    value if isinstance(value, list) else [str(value)]
                )
    fields.update(collected)


def _ints(fields: dict[str, FieldValue]) -> None:
    """Ports and status codes given as strings become int, as every parser gives them."""
    for name in _PORTS:
        value = fields.get(name)
        if type(value) is str and value.isdecimal():
            fields[name] = int(value)


def _iso_time(value: FieldValue | None) -> datetime | None:
    """An ``@timestamp``: ISO 8601 quickly via fromisoformat, else any layout we know."""
    if not isinstance(value, str | int):
        return None
    text = str(value)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return parse_any_time(text)
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


# ---- ecs-json ----------------------------------------------------------------------------------


def _load_object(line: str, path: str, number: int) -> dict[str, Any] | Unreadable:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Unreadable(path, number, f"invalid JSON: {exc}", line[:1000])
    if not isinstance(record, dict):
        return Unreadable(path, number, "JSON line is not an object", line[:1000])
    return record


def parse_ecs_json(lines: Lines, path: str) -> Iterator[ParseResult]:
    """An event per ECS JSON line; ``@timestamp`` is the time, ``event.dataset`` the source."""
    for number, line in lines:
        if not line.strip():
            continue
        record = _load_object(line, path, number)
        if isinstance(record, Unreadable):
            yield record
            continue
        stamp = record.pop("@timestamp", None)
        fields = flatten(record)
        _ints(fields)
        source = fields.get("event.dataset")
        yield Event(
            _iso_time(stamp),
            source if isinstance(source, str) else NAME,
            fields,
            path,
            number,
            line,
        )


def sniff_ecs_json(sample: list[str]) -> bool:
    """JSON objects with an ``@timestamp`` and ECS-looking keys (``source``, ``event``, ...)."""
    first = sample[0].lstrip()
    if not first.startswith("{"):
        return False
    record = _load_object(first, "-", 0)
    if isinstance(record, Unreadable) or "@timestamp" not in record:
        return False
    roots = {key.split(".", 1)[0] for key in record}
    return bool(roots & {"source", "destination", "event", "url", "dns", "file", "client", "host"})


# ---- mapped formats ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """A mapping file: how to read the log, and which source key becomes which ECS field."""

    kind: str
    fields: dict[str, str]
    source: str = MAPPED_NAME
    delimiter: str = ","
    header: bool = True
    columns: tuple[str, ...] = ()
    timestamp_field: str | None = None
    timestamp_format: str = "iso8601"
    path: str = field(default="-", compare=False)


def load_mapping(path: str | Path) -> FieldMapping:
    """Read and check a TOML mapping file; an :class:`InputError` names what is wrong."""
    name = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(name, f"cannot read mapping file: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(name, f"mapping file is not valid TOML: {exc}") from exc
    return _mapping(data, name)


def _mapping(data: Mapping[str, Any], name: str) -> FieldMapping:
    fmt = data.get("format", {})
    fields = data.get("fields", {})
    kind = fmt.get("kind")
    if kind not in ("jsonl", "csv"):
        raise InputError(name, f'[format] kind must be "jsonl" or "csv", not {kind!r}')
    if not isinstance(fields, dict) or not fields:
        raise InputError(name, "[fields] must map at least one source key to an ECS name")
    if not all(isinstance(v, str) for v in fields.values()):
        raise InputError(name, "[fields] values must be ECS field names (strings)")
    header = bool(fmt.get("header", True))
    columns = tuple(fmt.get("columns", ()))
    if kind == "csv" and not header and not columns:
        raise InputError(name, "a CSV mapping without header = true must list its columns")
    delimiter = str(fmt.get("delimiter", ","))
    if len(delimiter) != 1:
        raise InputError(name, f"delimiter must be one character, not {delimiter!r}")
    return FieldMapping(
        kind=kind, fields=dict(fields), source=str(fmt.get("source", MAPPED_NAME)),
        delimiter=delimiter, header=header, columns=columns,
        timestamp_field=fmt.get("timestamp_field"),
        timestamp_format=str(fmt.get("timestamp_format", "iso8601")), path=name,
    )  # fmt: skip


def _time_reader(fmt: str) -> Callable[[str], datetime | None]:
    """A function reading the mapping's timestamp format; naive times are taken as UTC."""
    if fmt == "iso8601":
        return _iso_time
    if fmt in ("epoch", "epoch_ms"):
        scale = 1 if fmt == "epoch" else 1000
        return lambda text: datetime.fromtimestamp(float(text) / scale, UTC)
    return lambda text: _aware(datetime.strptime(text, fmt))


def _aware(stamp: datetime) -> datetime:
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _map_record(mapping: FieldMapping, flat: dict[str, FieldValue]) -> dict[str, FieldValue]:
    """Rename mapped keys to their ECS names; keep the rest under ``generic.<key>``."""
    fields: dict[str, FieldValue] = {}
    for key, value in flat.items():
        if value == "":
            continue
        ecs = mapping.fields.get(key)
        fields[ecs if ecs else f"{MAPPED_NAME}.{key}"] = value
    _ints(fields)
    return fields


def _records(mapping: FieldMapping, lines: Lines, path: str) -> Iterator[tuple[int, str, Any]]:
    """Numbered flat records (or Unreadable) from JSON lines or CSV rows, with their lines."""
    columns: list[str] | None = list(mapping.columns) or None
    for number, line in lines:
        if not line.strip():
            continue
        if mapping.kind == "jsonl":
            record = _load_object(line, path, number)
            yield number, line, record if isinstance(record, Unreadable) else flatten(record)
            continue
        try:
            row = next(csv.reader([line], delimiter=mapping.delimiter))
        except csv.Error as exc:
            yield number, line, Unreadable(path, number, f"bad CSV: {exc}", line[:1000])
            continue
        if columns is None:
            columns = [cell.strip() for cell in row]
        elif len(row) != len(columns):
            reason = f"row has {len(row)} cells, expected {len(columns)}"
            yield number, line, Unreadable(path, number, reason, line[:1000])
        else:
            yield number, line, dict(zip(columns, (c.strip() for c in row), strict=True))


def parse_mapped(mapping: FieldMapping, lines: Lines, path: str) -> Iterator[ParseResult]:
    """Parse JSON lines or CSV with ``mapping``; the raw line is kept for every event."""
    read_time = _time_reader(mapping.timestamp_format)
    for number, line, record in _records(mapping, lines, path):
        if isinstance(record, Unreadable):
            yield record
        else:
            yield _mapped_event(mapping, read_time, record, path, number, line)


def _mapped_event(
    mapping: FieldMapping,
    read_time: Callable[[str], datetime | None],
    record: dict[str, FieldValue],
    path: str,
    number: int,
    line: str,
) -> ParseResult:
    stamp = None
    if mapping.timestamp_field:
        value = record.pop(mapping.timestamp_field, None)
        if value is not None:
            try:
                stamp = read_time(str(value))
            except (ValueError, OverflowError, OSError):
                return Unreadable(path, number, f"bad timestamp {value!r}", line[:1000])
    return Event(stamp, mapping.source, _map_record(mapping, record), path, number, line)


def mapped_format(mapping: FieldMapping | str | Path) -> LogFormat:
    """A :class:`LogFormat` for a mapping (or the path of its TOML file)."""
    if not isinstance(mapping, FieldMapping):
        mapping = load_mapping(mapping)
    return LogFormat(
        name=mapping.source,
        description=f"{mapping.kind} log mapped by {mapping.path}",
        sniff=lambda sample: False,  # a mapped format is chosen, never sniffed
        parse=partial(parse_mapped, mapping),
    )


FORMAT = LogFormat(
    name=NAME,
    description="JSON lines whose keys are already ECS (flat dotted or nested)",
    sniff=sniff_ecs_json,
    parse=parse_ecs_json,
    extensions=(".ndjson", ".jsonl"),
)
