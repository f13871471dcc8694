"""Build new STIX 2.1 objects and new versions of existing ones (versioning: STIX 2.1 3.6)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from indicia.errors import StixError
from indicia.observables import Observable
from indicia.stix.markings import tlp_marking_id
from indicia.stix.object_types import SEVERITIES
from indicia.stix.objects import new_id, validate_object
from indicia.stix.patterns import build_pattern
from indicia.stix.timestamps import format_timestamp, now, parse_timestamp

__all__ = ["INDICATOR_TYPES", "new_indicator", "new_version", "revoke"]

# STIX 2.1 10.13 indicator-type-ov.
INDICATOR_TYPES = (
    "anomalous-activity",
    "anonymization",
    "benign",
    "compromised",
    "malicious-activity",
    "attribution",
    "unknown",
)
# Properties a new version may not change (STIX 2.1 3.6.1: same id, type and creator).
_FIXED = frozenset({"type", "id", "created", "created_by_ref", "spec_version"})
_ONE_MS = timedelta(milliseconds=1)


def new_indicator(
    observables: Sequence[Observable],
    *,
    name: str | None = None,
    description: str | None = None,
    indicator_types: Sequence[str] = ("malicious-activity",),
    kill_chain_phases: Sequence[dict[str, str]] = (),
    severity: str | None = None,
    tlp: str | None = None,
    confidence: int | None = None,
    labels: Sequence[str] = (),
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    source: str | None = None,
    created_by_ref: str | None = None,
    created: datetime | None = None,
) -> dict[str, Any]:
    """Return a valid STIX 2.1 indicator for ``observables``, its pattern built by build_pattern."""
    _check_indicator_types(indicator_types)
    if severity is not None and severity not in SEVERITIES:
        raise StixError(
            f"severity must be one of {', '.join(SEVERITIES)}", field="x_indicia_severity"
        )

    stamp = format_timestamp(created or now())
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": new_id("indicator"),
        "created": stamp,
        "modified": stamp,
        "pattern": build_pattern(observables),
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": format_timestamp(valid_from, precision="auto") if valid_from else stamp,
        "indicator_types": list(indicator_types),
    }
    optional: dict[str, Any] = {
        "name": name,
        "description": description,
        "valid_until": format_timestamp(valid_until, precision="auto") if valid_until else None,
        "kill_chain_phases": [dict(phase) for phase in kill_chain_phases] or None,
        "confidence": confidence,
        "labels": list(labels) or None,
        "created_by_ref": created_by_ref,
        "object_marking_refs": [tlp_marking_id(tlp)] if tlp is not None else None,
        "x_indicia_severity": severity,
        "x_indicia_source": source,
    }
    obj.update((key, value) for key, value in optional.items() if value is not None)
    return validate_object(obj)


def _check_indicator_types(indicator_types: Sequence[str]) -> None:
    if isinstance(indicator_types, str) or not indicator_types:
        raise StixError("give a non-empty list of indicator types", field="indicator_types")
    for value in indicator_types:
        if value not in INDICATOR_TYPES:
            valid = ", ".join(INDICATOR_TYPES)
            raise StixError(
                f"{value!r} is not in indicator-type-ov; use {valid}", field="indicator_types"
            )


def new_version(
    obj: dict[str, Any], changes: Mapping[str, object], *, modified: datetime | None = None
) -> dict[str, Any]:
    """Return a new version of ``obj``: same id and created, ``modified`` strictly later (3.6)."""
    fixed = _FIXED.intersection(changes)
    if fixed:
        raise StixError(
            f"a new version cannot change {', '.join(sorted(fixed))}", object_id=obj.get("id")
        )
    if obj.get("revoked") is True:
        raise StixError(
            "a revoked object cannot have new versions (3.6.2)",
            object_id=obj.get("id"),
            field="revoked",
        )

    previous = parse_timestamp(obj["modified"], field="modified", object_id=obj.get("id"))
    stamp = modified or now()
    if stamp <= previous:
        if modified is not None:
            raise StixError(
                "must be later than the current version's modified",
                object_id=obj.get("id"),
                field="modified",
            )
        stamp = previous + _ONE_MS  # the clock lags the last version; step past it

    version = copy.deepcopy(obj)
    for key, value in changes.items():
        if value is None:
            version.pop(key, None)
        else:
            version[key] = copy.deepcopy(value)
    version["modified"] = _later_stamp(stamp, previous)
    return validate_object(version)


def _later_stamp(stamp: datetime, previous: datetime) -> str:
    # Millisecond text may round a later time down onto the old one; keep microseconds then.
    text = format_timestamp(stamp)
    if parse_timestamp(text) > previous:
        return text
    return format_timestamp(stamp, precision="microsecond")


def revoke(obj: dict[str, Any]) -> dict[str, Any]:
    """Return the revoked version of ``obj`` (STIX 2.1 3.6.2: revocation is permanent)."""
    return new_version(obj, {"revoked": True})
