"""Projections of STIX objects into the store's rows.

The JSON of an object is kept whole; these rows are derived from it for listing, filtering and
matching, and are rebuilt whenever a newer version of the object arrives.
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
# The indicator row's columns, in the order ``Prepared.indicator`` holds them.
INDICATOR_FIELDS = (
    "id",
    "name",
    "pattern",
    "pattern_type",
    "types",
    "value",
    "indicator_types",
    "valid_from",
    "valid_until",
    "confidence",
    "severity",
    "tlp",
    "source",
    "labels",
    "kill_chain_phases",
    "revoked",
    "created",
    "modified",
)


@dataclass(slots=True)
class Prepared:
    """One STIX object ready to be written: its JSON and the rows derived from it."""

    obj: dict[str, Any]
    id: str
    type: str
    created: str | None
    modified: str | None
    revoked: bool
    tlp: str | None
    source: str | None
    json: str
    indicator: dict[str, Any] | None = None
    observables: list[ObservableRow] = field(default_factory=list)

    @property
    def version(self) -> str:
        """What orders two versions of this object: ``modified``, else ``created``."""
        return self.modified or self.created or ""


_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.([0-9]{1,9}))?Z")


def stamp(value: str | None, *, field: str, object_id: str | None = None) -> str | None:
    """A STIX timestamp as the store keeps it: fixed-width, microseconds, ``Z``.

    Objects reach the store validated, so a well-formed value is only padded or truncated
    (never rounded) to six fraction digits; anything else goes through the full parser.
    """
    if value is None:
        return None
    shape = _RFC3339.fullmatch(value)
    if shape is not None:
        fraction = (shape.group(1) or "")[:6]
        return f"{value[:19]}.{fraction:0<6}Z"
    moment = parse_timestamp(value, field=field, object_id=object_id)
    return format_timestamp(moment, precision="microsecond")


def _json_list(values: Any) -> str:
    return orjson.dumps(list(values or ())).decode()


def prepare(
    obj: dict[str, Any],
    *,
    source: str | None = None,
    observables: list[Observable] | None = None,
) -> Prepared:
    """Derive the rows of ``obj``; ``observables`` may be passed when already extracted."""
    object_id = obj["id"]
    source = obj.get("x_indicia_source") or source
    prepared = Prepared(
        obj=obj,
        id=object_id,
        type=obj["type"],
        created=stamp(obj.get("created"), field="created", object_id=object_id),
        modified=stamp(obj.get("modified"), field="modified", object_id=object_id),
        revoked=bool(obj.get("revoked", False)),
        tlp=tlp_of(obj),
        source=source,
        json=orjson.dumps(obj).decode(),
    )
    if prepared.type == "indicator":
        _project_indicator(prepared, observables)
    return prepared


def _project_indicator(prepared: Prepared, found: list[Observable] | None) -> None:
    obj = prepared.obj
    if found is None:
        found = _pattern_observables(obj)
    prepared.observables = [(o.kind.value, o.value, o.port) for o in found]
    prepared.indicator = {
        "id": prepared.id,
        "name": obj.get("name"),
        "pattern": obj["pattern"],
        "pattern_type": obj["pattern_type"],
        "types": _json_list(dict.fromkeys(o.display_type for o in found)),
        "value": found[0].value if found else None,
        "indicator_types": _json_list(obj.get("indicator_types")),
        "valid_from": stamp(obj["valid_from"], field="valid_from", object_id=prepared.id),
        "valid_until": stamp(obj.get("valid_until"), field="valid_until", object_id=prepared.id),
        "confidence": obj.get("confidence"),
        "severity": obj.get("x_indicia_severity"),
        "tlp": prepared.tlp,
        "source": prepared.source,
        "labels": _json_list(obj.get("labels")),
        "kill_chain_phases": _json_list(obj.get("kill_chain_phases")),
        "revoked": prepared.revoked,
        "created": prepared.created,
        "modified": prepared.modified,
    }


def _pattern_observables(obj: dict[str, Any]) -> list[Observable]:
    if obj.get("pattern_type") != "stix":
        return []
    return extract_observables(obj["pattern"], object_id=obj["id"])
