"""Projections of STIX objects into the store's rows.

The JSON of an object is kept whole; the other columns of its row are derived from it for
listing, filtering and matching, and are rebuilt whenever a newer version arrives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from indicia.observables import Observable
from indicia.stix.markings import tlp_of
from indicia.stix.patterns import extract_observables
from indicia.stix.timestamps import format_timestamp, parse_timestamp

ObservableRow = tuple[str, str, int | None]
# The columns of an ``objects`` row that a projection fills, in the order of ``Prepared.row``.
ROW_COLUMNS = (
    "id",
    "type",
    "created",
    "modified",
    "revoked",
    "tlp",
    "source",
    "name",
    "confidence",
    "labels",
    "severity",
    "kill_chain_phases",
    "pattern_type",
    "types",
    "value",
    "indicator_types",
    "valid_from",
    "valid_until",
    "json",
)
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.([0-9]{1,9}))?Z")
# Feeds repeat the same timestamps (a whole export shares its created and modified), and every
# import stamps four of them per indicator: remember the recent ones.
_STAMPS: dict[str, str] = {}
_STAMPS_SIZE = 65536
_EMPTY_LIST = "[]"


@dataclass(slots=True)
class Prepared:
    """One STIX object ready to be written: its row (JSON last) and its observables.

    Lean and picklable as three values, so batches cross a process boundary cheaply.
    """

    row: tuple[Any, ...]
    version: str  # what orders two versions: ``modified``, else ``created``
    observables: list[ObservableRow] = field(default_factory=list)

    @property
    def id(self) -> str:
        """The object's STIX id."""
        object_id: str = self.row[0]
        return object_id

    @property
    def revoked(self) -> bool:
        """Whether this version revokes the object."""
        revoked: bool = self.row[4]
        return revoked

    @property
    def json(self) -> str:
        """The object's JSON, as stored."""
        text: str = self.row[-1]
        return text

    def __reduce__(self) -> tuple[type[Prepared], tuple[Any, ...]]:
        return Prepared, (self.row, self.version, self.observables)


def stamp(value: str | None, *, field: str, object_id: str | None = None) -> str | None:
    """A STIX timestamp as the store keeps it: fixed-width, microseconds, ``Z``.

    Objects reach the store validated, so a well-formed value is only padded or truncated
    (never rounded) to six fraction digits; anything else goes through the full parser.
    """
    if value is None:
        return None
    if type(value) is str:
        cached = _STAMPS.get(value)
        if cached is not None:
            return cached
    stamped = _stamp(value, field, object_id)
    if len(_STAMPS) >= _STAMPS_SIZE:
        _STAMPS.clear()
    _STAMPS[value] = stamped
    return stamped


def _stamp(value: str, field: str, object_id: str | None) -> str:
    shape = _RFC3339.fullmatch(value)
    if shape is not None:
        fraction = (shape.group(1) or "")[:6]
        return f"{value[:19]}.{fraction:0<6}Z"
    moment = parse_timestamp(value, field=field, object_id=object_id)
    return format_timestamp(moment, precision="microsecond")


def _json_list(values: Any) -> str:
    if not values:
        return _EMPTY_LIST
    return orjson.dumps(values if type(values) is list else list(values)).decode()


def prepare(
    obj: dict[str, Any],
    *,
    source: str | None = None,
    observables: list[Observable] | None = None,
) -> Prepared:
    """Derive the row of ``obj``; ``observables`` may be passed when already extracted."""
    object_id = obj["id"]
    get = obj.get
    created = stamp(get("created"), field="created", object_id=object_id)
    modified = stamp(get("modified"), field="modified", object_id=object_id)
    found: list[Observable] = []
    indicator: tuple[Any, ...] = _NOT_INDICATOR
    if obj["type"] == "indicator":
        found = _pattern_observables(obj) if observables is None else observables
        indicator = _indicator_columns(obj, found, object_id)
    row = (
        object_id,
        obj["type"],
        created,
        modified,
        bool(get("revoked", False)),
        tlp_of(obj),
        get("x_indicia_source") or source,
        get("name"),
        get("confidence"),
        _json_list(get("labels")),
        get("x_indicia_severity"),
        _json_list(get("kill_chain_phases")),
        *indicator,
        orjson.dumps(obj).decode(),
    )
    rows = [(o.kind.value, o.value, o.port) for o in found]
    return Prepared(row, modified or created or "", rows)


_NOT_INDICATOR = (None, None, None, None, None, None)


def _indicator_columns(
    obj: dict[str, Any], found: list[Observable], object_id: str
) -> tuple[Any, ...]:
    # One observable is the common case; dict.fromkeys keeps the first of repeated types.
    types = (
        [found[0].display_type]
        if len(found) == 1
        else list(dict.fromkeys(o.display_type for o in found))
    )
    return (
        obj["pattern_type"],
        _json_list(types),
        found[0].value if found else None,
        _json_list(obj.get("indicator_types")),
        stamp(obj["valid_from"], field="valid_from", object_id=object_id),
        stamp(obj.get("valid_until"), field="valid_until", object_id=object_id),
    )


def _pattern_observables(obj: dict[str, Any]) -> list[Observable]:
    if obj.get("pattern_type") != "stix":
        return []
    return extract_observables(obj["pattern"], object_id=obj["id"])
