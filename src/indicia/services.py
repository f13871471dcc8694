"""What an analyst does with indicators, as functions the CLI, API and web pages all call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from indicia.errors import DuplicateError, InputError, NotFoundError, StixError
from indicia.matching.warninglists import default_warninglists
from indicia.observables import Extracted, extract_iocs, parse_observable
from indicia.stix.builders import new_indicator, new_version, revoke
from indicia.stix.killchain import parse_kill_chain
from indicia.stix.markings import is_tlp_marking_id, normalize_tlp, tlp_marking_id
from indicia.stix.object_types import SEVERITIES
from indicia.stix.objects import validate_object
from indicia.stix.timestamps import format_timestamp
from indicia.store import Store, prepare
from indicia.store.indicators import IndicatorQuery, current_indicators_of, list_indicators


@dataclass(frozen=True, slots=True)
class Classification:
    """How an analyst classifies an indicator; None leaves a property as it is."""

    name: str | None = None
    description: str | None = None
    indicator_types: Sequence[str] | None = None
    kill_chains: Sequence[str] | None = None  # "CHAIN:PHASE", e.g. "lockheed:reconnaissance"
    severity: str | None = None
    tlp: str | None = None
    confidence: int | None = None
    tags: Sequence[str] | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    source: str | None = None


def _check_severity(severity: str | None) -> str | None:
    if severity is None:
        return None
    value = severity.lower()
    if value not in SEVERITIES:
        raise StixError(f"{severity!r} is not one of {', '.join(SEVERITIES)}", field="severity")
    return value


def _check_confidence(confidence: int | None) -> int | None:
    if confidence is not None and not 0 <= confidence <= 100:
        raise StixError(f"{confidence} is outside 0 to 100", field="confidence")
    return confidence


def _save(store: Store, objs: Sequence[dict[str, Any]]) -> None:
    for obj in objs:
        validate_object(obj)
    store.upsert([prepare(obj) for obj in objs])


def add_indicator(
    store: Store,
    value: str,
    classification: Classification,
    *,
    kind: str | None = None,
    notices: list[str] | None = None,
) -> dict[str, Any]:
    """Record one indicator by hand; returns its STIX object.

    A value a current indicator already records is refused (DuplicateError): a second
    indicator would split its alerts and classification; the analyst edits the first. What
    canonicalising changed (refanged, host bits cleared, ...) is added to ``notices``.
    """
    observable = parse_observable(value, kind)
    if notices is not None:
        notices.extend(f"{value}: {warning}" for warning in observable.warnings)
    known = current_indicators_of(
        store.engine, observable.kind.value, observable.value, observable.port
    )
    if known:
        shown = (
            observable.value if observable.port is None else f"{observable.value}:{observable.port}"
        )
        raise DuplicateError(shown, known[0])
    c = classification
    obj = new_indicator(
        [observable],
        name=c.name,
        description=c.description,
        indicator_types=c.indicator_types or ("malicious-activity",),
        kill_chain_phases=[parse_kill_chain(k) for k in c.kill_chains or ()],
        severity=_check_severity(c.severity),
        tlp=c.tlp,
        confidence=_check_confidence(c.confidence),
        labels=c.tags or (),
        valid_from=c.valid_from,
        valid_until=c.valid_until,
        source=c.source,
    )
    _save(store, [obj])
    if notices is not None:
        listed = default_warninglists().lookup(observable.kind.value, observable.value)
        if listed:
            notices.append(
                f"{observable.value} is on the warninglist {listed!r}: matching withholds its "
                "hits (counted as suppressed) unless run with --no-warninglists"
            )
    return obj


def _changes(obj: dict[str, Any], c: Classification) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    simple = {"name": c.name, "description": c.description, "confidence": c.confidence}
    changes.update({key: value for key, value in simple.items() if value is not None})
    _check_confidence(c.confidence)
    if c.indicator_types is not None:
        changes["indicator_types"] = list(c.indicator_types)
    if c.kill_chains is not None:
        changes["kill_chain_phases"] = [parse_kill_chain(k) for k in c.kill_chains]
    if c.severity is not None:
        changes["x_indicia_severity"] = _check_severity(c.severity)
    if c.source is not None:
        changes["x_indicia_source"] = c.source
    if c.tags is not None:
        changes["labels"] = list(dict.fromkeys(c.tags))
    if c.tlp is not None:
        others = [ref for ref in obj.get("object_marking_refs", []) if not is_tlp_marking_id(ref)]
        changes["object_marking_refs"] = [*others, tlp_marking_id(normalize_tlp(c.tlp))]
    for key, moment in (("valid_from", c.valid_from), ("valid_until", c.valid_until)):
        if moment is not None:
            changes[key] = format_timestamp(moment)  # STIX JSON holds RFC 3339 text
    return changes


def _indicator(store: Store, indicator_id: str) -> dict[str, Any]:
    obj = store.get(indicator_id)
    if obj.get("type") != "indicator":
        raise NotFoundError(f"{indicator_id!r} is a {obj.get('type')}, not an indicator")
    if obj.get("revoked"):
        raise StixError("a revoked indicator cannot be changed", object_id=indicator_id)
    return obj


def edit_indicator(
    store: Store, indicator_id: str, classification: Classification
) -> dict[str, Any]:
    """Write a new version of an indicator with the given properties changed.

    Nothing is written when the changes leave every property as it is: the stored object is
    returned, its ``modified`` unchanged. Giving no change at all is an error.
    """
    obj = _indicator(store, indicator_id)
    changes = _changes(obj, classification)
    if not changes:
        raise InputError(indicator_id, "nothing to change: give at least one property to set")
    updated = new_version(obj, changes)
    if _without_modified(updated) == _without_modified(obj):
        return obj
    _save(store, [updated])
    return updated


def _without_modified(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key != "modified"}


def tag_indicators(
    store: Store, ids: Sequence[str], *, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Add and remove tags (STIX ``labels``) on each indicator."""
    updated = []
    for indicator_id in ids:
        obj = _indicator(store, indicator_id)
        labels = [tag for tag in obj.get("labels", []) if tag not in set(remove)]
        labels += [tag for tag in add if tag not in labels]
        if labels != obj.get("labels", []):
            updated.append(new_version(obj, {"labels": labels}))
    _save(store, updated)
    return updated


def revoke_indicators(store: Store, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Revoke each indicator: it stays stored, with its history, and stops matching."""
    revoked = [revoke(_indicator(store, indicator_id)) for indicator_id in ids]
    _save(store, revoked)
    return revoked


def delete_objects(store: Store, ids: Sequence[str]) -> int:
    """Delete objects and their history; if any id is missing, nothing is deleted."""
    missing = [object_id for object_id in ids if not _exists(store, object_id)]
    if missing:
        raise NotFoundError(f"no object with id {', '.join(repr(m) for m in missing)}")
    return store.delete(ids)


def _exists(store: Store, object_id: str) -> bool:
    try:
        store.get(object_id)
    except NotFoundError:
        return False
    return True


def list_intel(store: Store, query: IndicatorQuery) -> list[dict[str, Any]]:
    """The intel-management list, one plain record per indicator."""
    return [_listing(row) for row in list_indicators(store.engine, query)]


def _listing(row: dict[str, Any]) -> dict[str, Any]:
    types = row["types"]
    return {
        "id": row["id"],
        "value": row["value"],
        "name": row["name"],
        "type": types[0].split(":", 1)[0] if types else None,
        "types": types,
        "source": row["source"],
        "confidence": row["confidence"],
        "alerts": row["alert_count"],
        "tags": row["labels"],
        "tlp": row["tlp"],
        "severity": row["severity"],
        "kill_chain_phases": row["kill_chain_phases"],
        "valid_from": row["valid_from"],
        "valid_until": row["valid_until"],
        "revoked": row["revoked"],
        "created": row["created"],
        "modified": row["modified"],
    }


@dataclass(slots=True)
class ExtractResult:
    """IOCs found in free text, and the indicators recorded from them (with ``--add``)."""

    found: list[Extracted]
    added: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)  # current indicators that already had one


def extract_text(
    text: str, *, store: Store | None = None, classification: Classification | None = None
) -> ExtractResult:
    """Find IOCs in text; with a store, record each distinct one as an indicator."""
    result = ExtractResult(found=extract_iocs(text))
    if store is None:
        return result
    distinct = dict.fromkeys((item.kind.value, item.value) for item in result.found)
    for kind, value in distinct:
        try:
            obj = add_indicator(store, value, classification or Classification(), kind=kind)
        except DuplicateError as exc:
            result.known.append(exc.indicator_id)
            continue
        result.added.append(obj["id"])
    return result
