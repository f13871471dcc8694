"""Streamed reader for Microsoft Sentinel threat-intelligence upload request bodies.

Two bodies are modelled, as Microsoft Learn documents them:

* the Upload API: ``{"sourcesystem": "...", "stixobjects": [STIX 2.0/2.1 objects]}``;
* the legacy Upload Indicators API: ``{"sourcesystem": "...", "indicators": [...]}``, whose
  elements must be STIX 2.1 indicator objects.

Both members are required, and exactly one array may appear. The source system comes out
as a Notice ``"sourcesystem: NAME"`` before any object, so the importer can use it as the
default source; when a body puts it after its array, the objects are held back until it
is read (at most ``MAX_HELD`` of them, beyond which they are yielded without waiting).
An object without ``spec_version`` is given ``"2.1"``, the Upload API's documented default.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from indicia.feeds.json_stream import JsonBreak, JsonCursor
from indicia.feeds.records import FeedRecord, Notice, Position, Rejection, StixRecord
from indicia.feeds.stix_file import ReadState, member_names, open_binary, read_object_array

__all__ = ["MAX_HELD", "read_sentinel", "read_sentinel_stream"]

logger = logging.getLogger(__name__)

MAX_HELD = 10_000
# Both APIs take at most 100 objects per request; a larger body is worth a notice.
REQUEST_LIMIT = 100
_ARRAYS = {"stixobjects": "Upload API", "indicators": "Upload Indicators API (legacy)"}
# Microsoft reserves this source system name for its own intelligence.
_RESERVED_SOURCE = "microsoft sentinel"


def read_sentinel(path: str | Path) -> Iterator[FeedRecord]:
    """Yield the objects of a Sentinel upload body as StixRecords, with Notices and Rejections."""
    with open_binary(path) as file:
        yield from read_sentinel_stream(file, str(path))


def read_sentinel_stream(file: BinaryIO, source: str) -> Iterator[FeedRecord]:
    """Read a Sentinel upload body from an open binary file."""
    state = ReadState(source)
    body = _Body(source)
    try:
        cursor = JsonCursor(file)
        cursor.strip_bom()
        yield from _read_body(cursor, state, body)
    except JsonBreak as broken:
        logger.info("Sentinel body %s broke off: %s", source, broken.reason)
        yield from body.release()
        yield state.rejection(broken)


class _Body:
    """What has been seen of the body so far, and the records held back for sourcesystem."""

    def __init__(self, source: str) -> None:
        self.at = Position(source, line=1)
        self.sourcesystem: str | None = None
        self.array: str | None = None
        self.held: list[FeedRecord] = []
        self.defaulted = False

    def emit(self, record: FeedRecord) -> Iterator[FeedRecord]:
        """Yield the record now, or hold it while the source system is unknown."""
        if self.sourcesystem is not None or len(self.held) >= MAX_HELD:
            yield from self.release()
            yield record
        else:
            self.held.append(record)

    def release(self) -> Iterator[FeedRecord]:
        held, self.held = self.held, []
        yield from held


def _read_body(cursor: JsonCursor, state: ReadState, body: _Body) -> Iterator[FeedRecord]:
    if cursor.peek() != ord("{"):
        raise cursor.fail("a Sentinel upload body is a JSON object")
    body.at = Position(state.source, line=cursor.line)
    for key in member_names(cursor):
        if key in _ARRAYS:
            yield from _read_array(cursor, state, body, key)
        elif key == "sourcesystem":
            yield from _read_sourcesystem(cursor, body)
        else:
            cursor.read_value()
            yield Notice(body.at, f"unknown member {key!r} of the upload body ignored")
    if not cursor.at_end():
        raise cursor.fail("unexpected content after the end of the JSON document")
    yield from _finish(state, body)


def _read_sourcesystem(cursor: JsonCursor, body: _Body) -> Iterator[FeedRecord]:
    value = cursor.read_value()
    if not isinstance(value, str) or not value.strip():
        raise cursor.fail("'sourcesystem' must be a non-empty string")
    if body.sourcesystem is not None:
        raise cursor.fail("'sourcesystem' appears twice")
    body.sourcesystem = value.strip()
    yield Notice(body.at, f"sourcesystem: {body.sourcesystem}")
    if body.sourcesystem.lower() == _RESERVED_SOURCE:
        yield Notice(body.at, "the source system name 'Microsoft Sentinel' is reserved")
    yield from body.release()


def _read_array(
    cursor: JsonCursor, state: ReadState, body: _Body, key: str
) -> Iterator[FeedRecord]:
    if body.array is not None:
        raise cursor.fail(f"both {body.array!r} and {key!r}: a body holds one array")
    if cursor.peek() != ord("["):
        raise cursor.fail(f"{key!r} must be an array")
    body.array = key
    check = _check_indicator if key == "indicators" else _check_object
    for record in read_object_array(cursor, state, check):
        if isinstance(record, StixRecord) and "spec_version" not in record.obj:
            record.obj["spec_version"] = "2.1"
            body.defaulted = True
        yield from body.emit(record)


def _finish(state: ReadState, body: _Body) -> Iterator[FeedRecord]:
    yield from body.release()
    if body.defaulted:
        yield Notice(body.at, "objects without spec_version were read as 2.1 (Upload API default)")
    if body.array and state.records > REQUEST_LIMIT:
        yield Notice(
            body.at, f"{state.records} objects; the {_ARRAYS[body.array]} takes 100 a request"
        )
    if body.array is None:
        yield Rejection(body.at, "the body has neither 'stixobjects' nor 'indicators'", fatal=True)
    if body.sourcesystem is None:
        yield Rejection(body.at, "the body has no 'sourcesystem'", fatal=True)


def _check_object(obj: dict[str, Any]) -> str | None:
    """The members every uploaded object must carry for the API to accept it."""
    for name in ("type", "id"):
        if not isinstance(obj.get(name), str):
            return f"an uploaded STIX object needs a string {name!r}"
    return None


def _check_indicator(obj: dict[str, Any]) -> str | None:
    """The legacy API takes STIX 2.1 indicator objects only."""
    missing = _check_object(obj)
    if missing:
        return missing
    if obj["type"] != "indicator":
        return f"the Upload Indicators API takes indicator objects, not {obj['type']!r}"
    return None
