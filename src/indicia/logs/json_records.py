"""JSON log records shared by the JSON-based parsers (Azure, Microsoft 365, Zeek, Suricata).

Reads JSON lines, ``{"records": [...]}`` documents and pretty-printed multi-line documents into
records that keep their line position, and holds the small value helpers those parsers share
(times, ports, host:port splitting, leftover fields).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from indicia.logs.base import FieldValue, Lines, Unreadable

MAX_DOCUMENT_LINES = 1_000_000
MAX_DOCUMENT_CHARS = 256 * 1024 * 1024
MAX_TEXT = 2000  # characters of an unreadable line kept in the report
_STRUCTURAL = re.compile(r'[\\"{}\[\]]')


@dataclass(frozen=True, slots=True)
class JsonRecord:
    """One JSON object from an input: its line, its index inside a document (or None), its text."""

    line: int
    index: int | None
    value: dict[str, Any]
    text: str


def iter_json_records(lines: Lines, path: str) -> Iterator[JsonRecord | Unreadable]:
    """Every JSON object in ``lines``: JSON lines, records documents, arrays, pretty documents."""
    return _iter_records(iter(lines), path, documents=True)


def _iter_records(
    pending: Iterator[tuple[int, str]], path: str, *, documents: bool
) -> Iterator[JsonRecord | Unreadable]:
    """Records line by line, collecting multi-line documents only when ``documents`` is set."""
    for number, text in pending:
        stripped = text.strip()
        if not stripped:
            continue
        value = _loads(stripped)
        if value is not _INVALID:
            yield from _records(value, number, [number], stripped, path)
        elif documents and _opens_document(stripped):
            yield from _read_document(number, stripped, pending, path)
        else:
            yield Unreadable(path, number, "not valid JSON", text[:MAX_TEXT])


_INVALID = object()


def _loads(text: str) -> object:
    """The parsed JSON value of ``text``, or the ``_INVALID`` marker."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _INVALID


def _opens_document(text: str) -> bool:
    """Whether a line that is not JSON by itself starts a pretty-printed document."""
    if not text.startswith(("{", "[")):
        return False
    scan = _DepthScan()
    scan.feed(text, 0)
    # A truncated record ends inside a string or mid-value; a document's first line ends at a
    # structural character, so a cut line never swallows the lines after it.
    return scan.depth > 0 and not scan.in_string and text.endswith(("{", "[", ",", ":"))


class _DepthScan:
    """Tracks JSON nesting over lines, and the lines where objects open at depth 1 and 2."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.opens: dict[int, list[int]] = {1: [], 2: []}

    def feed(self, text: str, number: int) -> None:
        escaped = -1
        for match in _STRUCTURAL.finditer(text):
            at, char = match.start(), match.group()
            if at == escaped:
                continue
            if self.in_string:
                if char == "\\":
                    escaped = at + 1
                elif char == '"':
                    self.in_string = False
            elif char == '"':
                self.in_string = True
            elif char in "{[":
                if char == "{" and self.depth in self.opens:
                    self.opens[self.depth].append(number)
                self.depth += 1
            else:
                self.depth -= 1


def _read_document(
    first: int, text: str, pending: Iterator[tuple[int, str]], path: str
) -> Iterator[JsonRecord | Unreadable]:
    """Collect a multi-line document; if it never closes, report its first line and go on."""
    scan = _DepthScan()
    scan.feed(text, first)
    buffered: list[tuple[int, str]] = [(first, text)]
    size = len(text)
    for number, line in pending:
        buffered.append((number, line))
        scan.feed(line, number)
        size += len(line)
        if scan.depth <= 0 or scan.in_string:
            break
        if size > MAX_DOCUMENT_CHARS or len(buffered) > MAX_DOCUMENT_LINES:
            break

    value = _loads("\n".join(line for _, line in buffered)) if scan.depth == 0 else _INVALID
    if value is not _INVALID:
        starts = scan.opens[2] if isinstance(value, dict) else scan.opens[1]
        yield from _records(value, first, starts, text, path)
        return

    yield Unreadable(path, first, "JSON document does not close", text[:MAX_TEXT])
    # Re-read what followed line by line, never opening a document again (keeps this linear).
    yield from _iter_records(iter(buffered[1:]), path, documents=False)


def _records(
    value: object, line: int, starts: list[int], text: str, path: str
) -> Iterator[JsonRecord | Unreadable]:
    """The records of one parsed JSON value: an object, a records document or an array."""
    items: object = value
    if isinstance(value, dict) and isinstance(value.get("records"), list):
        items = value["records"]
    if not isinstance(items, list):
        if isinstance(items, dict):
            yield JsonRecord(line, None, items, text)
        else:
            yield Unreadable(path, line, "JSON value is not an object", text[:MAX_TEXT])
        return

    # Each record's own first line when the document was pretty-printed, else the document's.
    lines = starts if len(starts) == len(items) else [line] * len(items)
    for index, (item, at) in enumerate(zip(items, lines, strict=True)):
        raw = orjson.dumps(item).decode()
        if isinstance(item, dict):
            yield JsonRecord(at, index, item, raw)
        else:
            yield Unreadable(path, at, f"record {index} is not a JSON object", raw[:MAX_TEXT])


def record_body(value: Mapping[str, Any]) -> dict[str, Any]:
    """A record's columns: ``properties`` merged over the top level (diagnostic form)."""
    body = {k: v for k, v in value.items() if k != "properties"}
    properties = value.get("properties")
    if isinstance(properties, dict):
        body.update(properties)
    return body


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 / RFC 3339 time as aware UTC (naive means UTC), or None when absent or bad."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def split_host_port(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address, as (host, port or None)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, to_port(rest[1:]) if rest.startswith(":") else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, to_port(port)
    host, _, port = text.rpartition(":")
    if port.isdigit() and not _is_ipv6(text) and _is_ipv6(host):
        return host, to_port(port)  # e.g. ::ffff:203.0.113.5:52345 (RFC 4291 2.2 form 3)
    return text, None  # no colon, or a bare IPv6 address (a port cannot be told apart)


def _is_ipv6(text: str) -> bool:
    """Whether ``text`` is an IPv6 address literal."""
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def to_port(value: object) -> int | None:
    """A port number (or other small count) from an int or a decimal string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 65535 else None
    if isinstance(value, float) and value.is_integer():
        return to_port(int(value))
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 5:
        return to_port(int(value.strip()))
    return None


def leftovers(body: Mapping[str, Any], prefix: str, skip: Set[str]) -> dict[str, FieldValue]:
    """The scalar columns nothing else mapped, as ``<prefix>.<column>`` (none starting ``_``)."""
    fields: dict[str, FieldValue] = {}
    for key, value in body.items():
        if key in skip or key.startswith("_") or value is None or value == "":
            continue
        if isinstance(value, str | int | float | bool):
            fields[f"{prefix}.{key}"] = value
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            fields[f"{prefix}.{key}"] = list(value)
    return fields


def text_of(value: object) -> str:
    """A JSON value as text: strings stripped, numbers written out, anything else empty."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""
