"""Per-type property tables for the STIX 2.1 objects Indicia validates in full (sections 4-7).

Each :class:`TypeSpec` lists the type's own properties with their checks, the required ones,
and a cross-property check (time order, conditional requirements).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from indicia.stix import properties as p
from indicia.stix.markings import TLP2_EXTENSION_ID, TLP_LEVELS, tlp_marking_id
from indicia.stix.patterns import extract_observables
from indicia.stix.timestamps import parse_timestamp

PostCheck = Callable[[dict[str, Any], "str | None"], None]

SEVERITIES = ("informational", "low", "medium", "high", "critical")
_TLP1_LEVELS = ("white", "green", "amber", "red")

# STIX 2.1 3.2 common properties of SDOs and SROs.
COMMON: dict[str, p.Check] = {
    "type": p.string,
    "spec_version": p.string,
    "id": p.string,
    "created": p.timestamp,
    "modified": p.timestamp,
    "created_by_ref": p.reference(("identity",)),
    "revoked": p.boolean,
    "labels": p.strings,
    "confidence": p.integer_in(0, 100),
    "lang": p.lang,
    "external_references": p.external_references,
    "object_marking_refs": p.references(("marking-definition",)),
    "granular_markings": p.granular_markings,
    "extensions": p.extensions,
}
# STIX 2.1 6.1 common properties of SCOs.
SCO_COMMON: dict[str, p.Check] = {
    key: COMMON[key]
    for key in (
        "type",
        "spec_version",
        "id",
        "object_marking_refs",
        "granular_markings",
        "extensions",
    )
} | {"defanged": p.boolean}
SDO_REQUIRED = frozenset({"type", "spec_version", "id", "created", "modified"})

# Our own custom properties (DESIGN: they start with x_indicia_).
INDICIA_PROPERTIES: dict[str, p.Check] = {
    "x_indicia_severity": p.one_of(SEVERITIES),
    "x_indicia_source": p.string,
}


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """What one STIX type may and must carry."""

    properties: dict[str, p.Check]
    required: frozenset[str]
    post: PostCheck | None = None


def _not_before(
    obj: dict[str, Any], object_id: str | None, first: str, last: str, *, strict: bool
) -> None:
    if first not in obj or last not in obj:
        return
    start = parse_timestamp(obj[first], field=first, object_id=object_id)
    end = parse_timestamp(obj[last], field=last, object_id=object_id)
    if end < start or (strict and end == start):
        relation = "later than" if strict else "equal to or later than"
        raise p.fail(f"{last} must be {relation} {first}", last, object_id)


def _seen_order(obj: dict[str, Any], object_id: str | None) -> None:
    _not_before(obj, object_id, "first_seen", "last_seen", strict=False)


def _indicator_post(obj: dict[str, Any], object_id: str | None) -> None:
    # STIX 2.1 4.7: if valid_until is present it MUST be greater than valid_from (case C013).
    _not_before(obj, object_id, "valid_from", "valid_until", strict=True)
    if obj["pattern_type"] == "stix":
        extract_observables(obj["pattern"], object_id=object_id)


def _malware_post(obj: dict[str, Any], object_id: str | None) -> None:
    # STIX 2.1 4.11: name is required when is_family is true.
    if obj["is_family"] and "name" not in obj:
        raise p.fail("is required when is_family is true", "name", object_id)
    _seen_order(obj, object_id)


def _relationship_post(obj: dict[str, Any], object_id: str | None) -> None:
    # STIX 2.1 5.1: stop_time MUST be later than start_time.
    _not_before(obj, object_id, "start_time", "stop_time", strict=True)


def _marking_post(obj: dict[str, Any], object_id: str | None) -> None:
    """Marking definitions: a definition or an extension, and TLP only with the official ids."""
    tlp2 = obj.get("extensions", {}).get(TLP2_EXTENSION_ID)
    if tlp2 is not None:
        _check_official(obj, tlp2.get("tlp_2_0"), 2, object_id)
        return
    if "extensions" in obj and "definition" not in obj:
        return

    for key in ("definition_type", "definition"):
        if key not in obj:
            raise p.fail("is required when there are no extensions (7.2.1)", key, object_id)
    definition = obj["definition"]
    p.dictionary(definition, "definition", object_id)
    if obj["definition_type"] == "tlp":
        _check_official(obj, definition.get("tlp"), 1, object_id)
    elif obj["definition_type"] == "statement":
        p.string(definition.get("statement"), "definition.statement", object_id)


def _check_official(obj: dict[str, Any], level: Any, version: int, object_id: str | None) -> None:
    # STIX 2.1 7.2.1.4: only the predefined TLP marking definitions may be used or created.
    levels = _TLP1_LEVELS if version == 1 else TLP_LEVELS
    if level not in levels:
        raise p.fail(
            f"{level!r} is not a TLP {version}.0 level ({', '.join(levels)})",
            "definition",
            object_id,
        )
    expected = tlp_marking_id(level, version=version)
    if obj["id"] != expected:
        raise p.fail(f"TLP:{level.upper()} must use the official id {expected}", "id", object_id)


def _spec(own: dict[str, p.Check], required: set[str], post: PostCheck | None = None) -> TypeSpec:
    return TypeSpec(COMMON | own, SDO_REQUIRED | required, post)


_NAMED: dict[str, p.Check] = {"name": p.string, "description": p.string, "aliases": p.strings}
_SEEN: dict[str, p.Check] = {"first_seen": p.timestamp, "last_seen": p.timestamp}
_MOTIVES: dict[str, p.Check] = {
    "goals": p.strings,
    "resource_level": p.string,
    "primary_motivation": p.string,
    "secondary_motivations": p.strings,
}

SPECS: dict[str, TypeSpec] = {
    "indicator": _spec(
        {
            "name": p.string,
            "description": p.string,
            "indicator_types": p.strings,
            "pattern": p.string,
            "pattern_type": p.string,
            "pattern_version": p.string,
            "valid_from": p.timestamp,
            "valid_until": p.timestamp,
            "kill_chain_phases": p.kill_chain_phases,
        },
        {"pattern", "pattern_type", "valid_from"},
        _indicator_post,
    ),
    "attack-pattern": _spec(_NAMED | {"kill_chain_phases": p.kill_chain_phases}, {"name"}),
    "identity": _spec(
        {
            "name": p.string,
            "description": p.string,
            "roles": p.strings,
            "identity_class": p.string,
            "sectors": p.strings,
            "contact_information": p.string,
        },
        {"name"},
    ),
    "threat-actor": _spec(
        _NAMED
        | _SEEN
        | _MOTIVES
        | {
            "threat_actor_types": p.strings,
            "roles": p.strings,
            "sophistication": p.string,
            "personal_motivations": p.strings,
        },
        {"name"},
        _seen_order,
    ),
    "relationship": _spec(
        {
            "relationship_type": p.string,
            "description": p.string,
            "source_ref": p.reference(),
            "target_ref": p.reference(),
            "start_time": p.timestamp,
            "stop_time": p.timestamp,
        },
        {"relationship_type", "source_ref", "target_ref"},
        _relationship_post,
    ),
    "sighting": _spec(
        _SEEN
        | {
            "description": p.string,
            "count": p.integer_in(0, 999_999_999),
            "sighting_of_ref": p.reference(),
            "observed_data_refs": p.references(("observed-data",)),
            "where_sighted_refs": p.references(("identity", "location")),
            "summary": p.boolean,
        },
        {"sighting_of_ref"},
        _seen_order,
    ),
    "malware": _spec(
        _NAMED
        | _SEEN
        | {
            "malware_types": p.strings,
            "is_family": p.boolean,
            "kill_chain_phases": p.kill_chain_phases,
            "operating_system_refs": p.references(("software",)),
            "architecture_execution_envs": p.strings,
            "implementation_languages": p.strings,
            "capabilities": p.strings,
            "sample_refs": p.references(("file", "artifact")),
        },
        {"is_family"},
        _malware_post,
    ),
    "intrusion-set": _spec(_NAMED | _SEEN | _MOTIVES, {"name"}, _seen_order),
    "campaign": _spec(_NAMED | _SEEN | {"objective": p.string}, {"name"}, _seen_order),
    "report": _spec(
        {
            "name": p.string,
            "description": p.string,
            "report_types": p.strings,
            "published": p.timestamp,
            "object_refs": p.references(),
        },
        {"name", "published", "object_refs"},
    ),
    "marking-definition": TypeSpec(
        {
            key: COMMON[key]
            for key in (
                "type",
                "spec_version",
                "id",
                "created",
                "created_by_ref",
                "external_references",
                "object_marking_refs",
                "granular_markings",
                "extensions",
            )
        }
        | {"name": p.string, "definition_type": p.string, "definition": p.dictionary},
        frozenset({"type", "spec_version", "id", "created"}),
        _marking_post,
    ),
}
