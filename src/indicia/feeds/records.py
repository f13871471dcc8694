"""What every file reader yields: raw records with their positions, rejections and notices.

Readers only read; validation and canonicalisation happen later, in the importer. Record
numbers are 1-based (the first object or row is record 1); line numbers are physical,
1-based line numbers in the file; byte offsets are 0-based offsets into the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FIELD_NAMES",
    "FeedRecord",
    "Notice",
    "Position",
    "Rejection",
    "StixRecord",
    "ValueRecord",
    "position",
    "stix_record",
]

# The lower-case column names a ValueRecord's fields may carry, besides extra columns
# that a CSV names itself (kept so the importer can apply policy, e.g. a verdict column).
FIELD_NAMES = (
    "type",
    "name",
    "description",
    "confidence",
    "tags",
    "tlp",
    "valid_from",
    "valid_until",
    "source",
    "severity",
    "kill_chain",
    "indicator_types",
)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a record sits in its source: line (1-based), record (1-based) and byte offset."""

    source: str
    line: int | None = None
    record: int | None = None
    byte: int | None = None

    def __str__(self) -> str:
        text = self.source
        if self.line is not None:
            text += f":{self.line}"
        if self.record is not None:
            text += f" record {self.record}"
        if self.byte is not None and self.line is None:
            text += f" byte {self.byte}"
        return text


@dataclass(frozen=True, slots=True)
class StixRecord:
    """One STIX object exactly as it came from the file."""

    obj: dict[str, Any]
    position: Position


@dataclass(frozen=True, slots=True)
class ValueRecord:
    """One row of a list or CSV: the raw IOC value and the other columns by lower-case name."""

    value: str
    fields: dict[str, str]
    position: Position


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that could not be read, and the reader reads on.

    ``fatal`` marks a break that ends the file (the JSON document is broken, the file is not
    UTF-8, a request body lacks its array): nothing after it can be read, and the importer
    discards the unwritten batch before it. A bad row of a CSV or a list is not fatal.
    """

    position: Position
    reason: str
    fatal: bool = False

    def __str__(self) -> str:
        return f"{self.position}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the reader noticed that is not an error, such as an ignored column."""

    position: Position
    message: str

    def __str__(self) -> str:
        return f"{self.position}: {self.message}"


FeedRecord = StixRecord | ValueRecord | Rejection | Notice


# Fast construction for readers' hot loops. A frozen dataclass's __init__ sets each field
# through object.__setattr__, which costs about 2 us per record here; the slot descriptors
# set the same fields in a third of the time. The objects made are identical.
_new = object.__new__


def _setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    slot: Any = cls.__dict__[name]  # the slot's member descriptor
    setter: Callable[[Any, Any], None] = slot.__set__
    return setter


_set_source = _setter(Position, "source")
_set_line = _setter(Position, "line")
_set_record = _setter(Position, "record")
_set_byte = _setter(Position, "byte")
_set_obj = _setter(StixRecord, "obj")
_set_position = _setter(StixRecord, "position")


def position(source: str, line: int | None, record: int | None) -> Position:
    """Position(source, line, record) without the frozen-dataclass overhead."""
    made: Position = _new(Position)
    _set_source(made, source)
    _set_line(made, line)
    _set_record(made, record)
    _set_byte(made, None)
    return made


def stix_record(obj: dict[str, Any], source: str, line: int | None, record: int) -> StixRecord:
    """StixRecord(obj, Position(source, line, record)) without the frozen-dataclass overhead."""
    made: StixRecord = _new(StixRecord)
    _set_obj(made, obj)
    _set_position(made, position(source, line, record))
    return made
