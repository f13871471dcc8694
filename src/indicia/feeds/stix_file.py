"""Streamed reader for STIX 2.1 JSON files: a bundle, a bare array of objects, or one object.

Several top-level objects or bundles one after another (JSON Lines) are read in turn.
Records are numbered from 1 in file order. The line an object starts on is given where it
is cheap: for every object of a file under 1 MiB, and in larger files for objects read one
by one around a fault (a batch of well-formed objects is parsed in one call).

A syntax error inside one object rejects that object, and reading goes on when the
object's extent is still clear; a break in the structure (truncation, a stray byte between
objects) ends the file with one Rejection that names the record, line and byte.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from indicia.errors import InputError
from indicia.feeds.json_stream import BadElement, JsonBreak, JsonCursor
from indicia.feeds.records import (
    FeedRecord,
    Notice,
    Position,
    Rejection,
    StixRecord,
    position,
    stix_record,
)

__all__ = [
    "ObjectRun",
    "ReadState",
    "member_names",
    "open_binary",
    "read_object_array",
    "read_stix",
    "read_stix_runs",
    "read_stix_stream",
]

logger = logging.getLogger(__name__)

# A check applied to each object as it is read: returns a rejection reason or None.
ObjectCheck = Callable[[dict[str, Any]], str | None]


@dataclass(frozen=True, slots=True)
class ObjectRun:
    """Elements of an object array read together: record numbers ``first`` on, one line or none.

    :func:`read_stix_runs` yields these in place of one StixRecord per element, for a caller
    that handles many objects at once; :meth:`record` gives the record :func:`read_stix`
    would have yielded for one of them.
    """

    values: list[Any]
    source: str
    line: int | None
    first: int

    def position(self, index: int) -> Position:
        """Where ``values[index]`` sits in the file."""
        return position(self.source, self.line, self.first + index)

    def record(self, index: int) -> StixRecord | Rejection:
        """The record of ``values[index]``: a StixRecord, or a Rejection if it is no object."""
        value = self.values[index]
        if type(value) is dict:
            return StixRecord(value, self.position(index))
        return _element_record(value, self.position(index), None)


@dataclass(slots=True)
class ReadState:
    """How far a reader got: records seen, and whether it is inside the object array."""

    source: str
    records: int = 0
    in_array: bool = False

    def rejection(self, broken: JsonBreak) -> Rejection:
        """The Rejection for a break in the document at the cursor's position."""
        record = self.records + 1 if self.in_array else None
        position = Position(self.source, line=broken.line, record=record, byte=broken.byte)
        # Nothing after a break can be read: say so, or the records after it vanish unnoticed.
        reason = f"{broken.reason}; reading stopped here, the rest of the file is not imported"
        return Rejection(position, reason, fatal=True)


# Reads the object array at the cursor into records (or runs of them).
ArrayReader = Callable[[JsonCursor, ReadState], Iterator[Any]]


def open_binary(path: str | Path) -> BinaryIO:
    """Open a feed file for binary reading; an unreadable path is an InputError."""
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller's generator closes it
    except OSError as error:
        raise InputError(str(path), f"cannot open: {error.strerror or error}") from error


def read_stix(path: str | Path) -> Iterator[FeedRecord]:
    """Yield the STIX objects of a file as StixRecords, with Rejections and Notices."""
    with open_binary(path) as file:
        yield from read_stix_stream(file, str(path))


def read_stix_runs(path: str | Path) -> Iterator[FeedRecord | ObjectRun]:
    """Like :func:`read_stix`, but the objects of an array come in runs (:class:`ObjectRun`)."""
    with open_binary(path) as file:
        yield from _read_stream(file, str(path), read_object_runs)


def read_stix_stream(file: BinaryIO, source: str) -> Iterator[FeedRecord]:
    """Read STIX JSON from an open binary file; source names it in positions."""
    return _read_stream(file, source, read_object_array)


def _read_stream(file: BinaryIO, source: str, array: ArrayReader) -> Iterator[Any]:
    state = ReadState(source)
    try:
        cursor = JsonCursor(file)
        cursor.strip_bom()
        yield from _read_document(cursor, state, array)
    except JsonBreak as broken:
        logger.info("STIX file %s broke off: %s", source, broken.reason)
        yield state.rejection(broken)


def read_object_array(
    cursor: JsonCursor, state: ReadState, check: ObjectCheck | None = None
) -> Iterator[StixRecord | Rejection]:
    """Yield one record per element of the JSON array at the cursor."""
    state.in_array = True
    source = state.source
    records = state.records
    for values, line in cursor.element_runs():
        for value in values:
            records += 1
            state.records = records  # kept current: a break names the record it falls in
            if check is None and type(value) is dict:
                yield stix_record(value, source, line, records)  # the hot path
            else:
                yield _element_record(value, position(source, line, records), check)
    state.in_array = False


def read_object_runs(cursor: JsonCursor, state: ReadState) -> Iterator[ObjectRun]:
    """Yield the elements of the JSON array at the cursor a run at a time."""
    state.in_array = True
    source = state.source
    for values, line in cursor.element_runs():
        first = state.records + 1
        state.records += len(values)  # a break names the record after the run
        yield ObjectRun(values, source, line, first)
    state.in_array = False


def _element_record(
    value: Any, position: Position, check: ObjectCheck | None
) -> StixRecord | Rejection:
    if isinstance(value, BadElement):
        where = Position(position.source, value.line, position.record, value.byte)
        return Rejection(where, f"invalid JSON: {value.reason}")
    if not isinstance(value, dict):
        return Rejection(position, f"a JSON {_json_type(value)} where a STIX object belongs")
    reason = check(value) if check else None
    return Rejection(position, reason) if reason else StixRecord(value, position)


def _read_document(cursor: JsonCursor, state: ReadState, array: ArrayReader) -> Iterator[Any]:
    first = cursor.peek()
    if first == -1:
        raise cursor.fail("the file holds no JSON")
    if first == ord("["):
        yield from array(cursor, state)
    elif first == ord("{"):
        # More top-level objects may follow: JSON Lines or concatenated bundles/objects.
        while cursor.peek() == ord("{"):
            yield from _read_top_object(cursor, state, array)
    else:
        raise cursor.fail("not a STIX file: JSON text must start with '{' or '['")
    if not cursor.at_end():
        raise cursor.fail("unexpected content after the end of the JSON document")


def _read_top_object(cursor: JsonCursor, state: ReadState, array: ArrayReader) -> Iterator[Any]:
    """A bundle streams its objects; any other object is read whole as record 1."""
    line = cursor.line
    header: dict[str, Any] = {}
    noticed: set[str] = set()
    is_bundle = False
    for key in member_names(cursor):
        if (
            key == "objects"
            and cursor.peek() == ord("[")
            and header.get("type", "bundle") == "bundle"
        ):
            yield from _bundle_notices(header, noticed, Position(state.source, line=line))
            is_bundle = True
            yield from array(cursor, state)
        else:
            header[key] = cursor.read_value()

    if is_bundle:
        yield from _bundle_notices(header, noticed, Position(state.source, line=line))
        yield from _bundle_type_notice(header, Position(state.source, line=line))
    else:
        yield _single_object(header, state, line)


def member_names(cursor: JsonCursor) -> Iterator[str]:
    """Yield each member name of the object at the cursor; the caller reads the value."""
    cursor.take(b"{")
    if cursor.peek() == ord("}"):
        cursor.take(b"}")
        return
    while True:
        key = cursor.read_value()
        if not isinstance(key, str):
            raise cursor.fail("an object member name must be a string")
        cursor.take(b":")
        yield key
        if cursor.take(b",}") == ord("}"):
            return


def _bundle_notices(header: dict[str, Any], noticed: set[str], at: Position) -> Iterator[Notice]:
    """Report a bundle spec_version (a STIX 2.0 bundle; 2.1 bundles have none, section 8)."""
    if "spec_version" in header and "spec_version" not in noticed:
        noticed.add("spec_version")
        yield Notice(at, f"bundle spec_version {header['spec_version']}")


def _bundle_type_notice(header: dict[str, Any], at: Position) -> Iterator[Notice]:
    """Objects are read even when the top-level type is missing or not 'bundle'; say so."""
    if header.get("type") != "bundle":
        yield Notice(at, f"top-level object with 'objects' has type {header.get('type')!r}")


def _single_object(header: dict[str, Any], state: ReadState, line: int) -> FeedRecord:
    if header.get("type") == "bundle":
        at = Position(state.source, line=line)
        if "objects" in header and not isinstance(header["objects"], list):
            # STIX 2.1 8: a bundle's objects is a list; anything else is a broken bundle.
            shown = _json_type(header["objects"])
            return Rejection(
                at, f"field 'objects' must be an array, not a JSON {shown}", fatal=True
            )
        return Notice(at, "bundle holds no objects")
    state.records += 1
    position = Position(state.source, line=line, record=state.records)
    if not header:
        return Rejection(position, "an empty JSON object is not a STIX object")
    return StixRecord(header, position)


def _json_type(value: Any) -> str:
    names = {str: "string", list: "array", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
