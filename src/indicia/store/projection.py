"""Projections of STIX objects into the store's rows.

The JSON of an object is kept whole; the other columns of its row are derived from it for
listing, filtering and matching, and are rebuilt whenever a newer version arrives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, NamedTuple

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
# The JSON texts of recent list columns, by their bytes (see _json_list).
_TEXTS: dict[bytes, str] = {}
_TEXTS_SIZE = 4096


class Prepared(NamedTuple):
    """One STIX object ready to be written: its row (JSON last) and its observables.

    A plain tuple underneath, so batches cross a process boundary as tuples and become
    Prepared again without a Python call per object (see :func:`as_prepared`).
    """

    row: tuple[Any, ...]
    version: str  # what orders two versions: ``modified``, else ``created``
    observables: Sequence[ObservableRow] = ()

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


# tuple.__new__ bound to Prepared: makes one from its three fields in C, without the call to
# the generated __new__ (a Python function) that Prepared(*fields) costs.
as_prepared: Callable[[Iterable[Any]], Prepared] = partial(tuple.__new__, Prepared)


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
    """A list as JSON text; equal lists share one string (the texts repeat across a feed)."""
    if not values:
        return _EMPTY_LIST
    data = orjson.dumps(values if type(values) is list else list(values))
    text = _TEXTS.get(data)
    if text is None:
        text = data.decode()
        if len(_TEXTS) >= _TEXTS_SIZE:
            _TEXTS.clear()
        _TEXTS[data] = text
    return text


def prepare(
    obj: dict[str, Any],
    *,
    source: str | None = None,
    observables: list[Observable] | None = None,
) -> Prepared:
    """Derive the row of ``obj``; ``observables`` may be passed when already extracted."""
    return as_prepared(prepared_fields(obj, source, observables))


def prepared_fields(
    obj: dict[str, Any], source: str | None, observables: list[Observable] | None
) -> tuple[tuple[Any, ...], str, list[ObservableRow]]:
    """What :func:`prepare` makes of ``obj``, as a plain tuple (to send to another process)."""
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
    return row, modified or created or "", _observable_rows(found)


def _observable_rows(found: list[Observable]) -> list[ObservableRow]:
    # _value_ is the Kind's plain string; the value property costs a Python call per row.
    if len(found) == 1:
        only = found[0]
        return [(only.kind._value_, only.value, only.port)]  # the common case, without a loop
    return [(o.kind._value_, o.value, o.port) for o in found]


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
