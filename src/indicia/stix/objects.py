"""Validate STIX 2.1 objects before they are stored or written, and mint their identifiers.

Eleven types are checked property by property (:data:`KNOWN_TYPES`); every other STIX 2.1 type,
and custom ``x-`` types, get the common checks of section 3 (type, spec_version, id, created,
modified, markings, custom property names).
"""

from __future__ import annotations

import uuid
from typing import Any

from indicia.errors import StixError
from indicia.stix import properties as p
from indicia.stix.object_types import (
    COMMON,
    INDICIA_PROPERTIES,
    SCO_COMMON,
    SDO_REQUIRED,
    SPECS,
    TypeSpec,
)
from indicia.stix.timestamps import known_timestamps, parse_timestamp

__all__ = ["KNOWN_TYPES", "SCO_TYPES", "STIX_TYPES", "new_id", "validate_object"]

KNOWN_TYPES: frozenset[str] = frozenset(SPECS)

# STIX 2.1 sections 4-7: every type the specification defines.
SDO_TYPES = frozenset(
    {
        "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident",
        "indicator", "infrastructure", "intrusion-set", "location", "malware", "malware-analysis",
        "note", "observed-data", "opinion", "report", "threat-actor", "tool", "vulnerability",
    }
)  # fmt: skip
SCO_TYPES = frozenset(
    {
        "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
        "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
        "software", "url", "user-account", "windows-registry-key", "x509-certificate",
    }
)  # fmt: skip
META_TYPES = frozenset({"marking-definition", "language-content", "extension-definition"})
STIX_TYPES = SDO_TYPES | SCO_TYPES | META_TYPES | {"relationship", "sighting"}

# STIX 2.1 3.1: reserved property names no object may use.
_RESERVED = frozenset({"severity", "action", "username", "phone_numbers"})

_SDO_GENERIC = TypeSpec(COMMON, SDO_REQUIRED)
_SCO_GENERIC = TypeSpec(SCO_COMMON, frozenset({"type", "id"}))
_CUSTOM_GENERIC = TypeSpec(COMMON, frozenset({"type", "spec_version", "id"}))


def validate_object(obj: dict[str, Any], *, strict_types: bool = True) -> dict[str, Any]:
    """Check ``obj`` against the STIX 2.1 rules of its type: return it, or raise StixError.

    With ``strict_types`` an unknown type must be a custom ``x-`` type; without, any valid type
    name passes with the common checks.
    """
    if not isinstance(obj, dict):
        raise StixError(f"a STIX object must be a JSON object, not {type(obj).__name__}")

    obj_type = _type_of(obj)
    object_id = _id_of(obj, obj_type)
    spec = _spec_for(obj_type, strict_types, object_id)
    _check_spec_version(obj, obj_type, object_id)
    if not spec.required <= obj.keys():
        missing = sorted(spec.required - obj.keys())[0]
        raise StixError(f"is required for {obj_type}", object_id=object_id, field=missing)

    _check_properties(obj, spec, obj_type in SCO_TYPES, object_id)
    if "created" in obj and "modified" in obj:
        _check_modified(obj, object_id)
    if spec.post is not None:
        spec.post(obj, object_id)
    return obj


def new_id(stix_type: str) -> str:
    """Return a fresh identifier ``<type>--<UUIDv4>`` (STIX 2.1 2.9)."""
    if not isinstance(stix_type, str) or not p.TYPE_NAME.fullmatch(stix_type) or len(stix_type) < 3:
        raise StixError(f"{stix_type!r} is not a STIX type name", field="type")
    return f"{stix_type}--{uuid.uuid4()}"


def _type_of(obj: dict[str, Any]) -> str:
    obj_type = obj.get("type")
    if not isinstance(obj_type, str):
        raise StixError("is required and must be a string", object_id=_raw_id(obj), field="type")
    if obj_type in STIX_TYPES:
        return obj_type
    if not (3 <= len(obj_type) <= 250 and p.TYPE_NAME.fullmatch(obj_type)):
        raise StixError(
            f"{obj_type!r} is not a valid type name (3.1)", object_id=_raw_id(obj), field="type"
        )
    return obj_type


def _id_of(obj: dict[str, Any], obj_type: str) -> str:
    raw = obj.get("id")
    if raw is None:
        raise StixError(f"is required for {obj_type}", field="id")
    id_type = p.unique_identifier_type(raw, "id", None)
    if id_type != obj_type:
        raise StixError(
            f"{raw!r} does not start with its type {obj_type}--", object_id=raw, field="id"
        )
    return str(raw)


def _raw_id(obj: dict[str, Any]) -> str | None:
    raw = obj.get("id")
    return raw if isinstance(raw, str) else None


def _spec_for(obj_type: str, strict_types: bool, object_id: str) -> TypeSpec:
    spec = SPECS.get(obj_type)
    if spec is not None:
        return spec
    if obj_type in SCO_TYPES:
        return _SCO_GENERIC
    if obj_type in STIX_TYPES:
        return _SDO_GENERIC
    if obj_type == "bundle":
        raise StixError(
            "a bundle is not a STIX object; validate its objects", object_id=object_id, field="type"
        )
    if strict_types and not obj_type.startswith("x-"):
        message = f"{obj_type!r} is not a STIX 2.1 type; custom types start with x-"
        raise StixError(message, object_id=object_id, field="type")
    return _CUSTOM_GENERIC


def _check_spec_version(obj: dict[str, Any], obj_type: str, object_id: str) -> None:
    # STIX 2.1 3.2: spec_version is required on SDOs, SROs and meta objects; optional on SCOs.
    version = obj.get("spec_version")
    if version == "2.1" or (version is None and obj_type in SCO_TYPES):
        return
    if version is None or version == "2.0":
        found = "missing" if version is None else "2.0"
        message = (
            f"is {found}: STIX 2.0 objects are not accepted; {obj_type} needs spec_version '2.1'"
        )
        raise StixError(message, object_id=object_id, field="spec_version")
    raise StixError(f"must be '2.1', not {version!r}", object_id=object_id, field="spec_version")


def _check_properties(obj: dict[str, Any], spec: TypeSpec, is_sco: bool, object_id: str) -> None:
    checks = spec.properties
    string, timestamp, strings = p.string, p.timestamp, p.strings
    parsed = known_timestamps()
    for name, value in obj.items():
        check = checks.get(name)
        # The commonest checks are inlined: this loop runs once per property of every object
        # imported, and a call costs more than the check. Whatever the inlined test does not
        # pass goes to the full check, which decides (and words the error).
        if check is string:
            if type(value) is not str:
                string(value, name, object_id)
        elif check is timestamp:
            if value not in parsed:
                parse_timestamp(value, field=name, object_id=object_id)
        elif check is strings:
            if type(value) is not list or not value or not _all_str(value):
                strings(value, name, object_id)
        elif check is not None:
            check(value, name, object_id)
        else:
            _check_custom(name, value, is_sco, object_id)


def _all_str(values: list[Any]) -> bool:
    # A plain loop: all() over a generator costs more than the short lists it checks.
    for value in values:  # noqa: SIM110
        if type(value) is not str:
            return False
    return True


def _check_custom(name: str, value: Any, is_sco: bool, object_id: str) -> None:
    # STIX 2.1 3.1 and 11.1: property names are a-z, 0-9 and _, 3 to 250 characters.
    if not isinstance(name, str) or not p.PROPERTY_NAME.fullmatch(name):
        raise StixError(
            "is not a valid property name (a-z, 0-9, _; 3-250 characters)",
            object_id=object_id,
            field=name,
        )
    if name in _RESERVED and not is_sco:
        raise StixError(
            "is a reserved property name in STIX 2.1 (3.1)", object_id=object_id, field=name
        )

    check = INDICIA_PROPERTIES.get(name)
    if check is not None:
        check(value, name, object_id)


def _check_modified(obj: dict[str, Any], object_id: str) -> None:
    # STIX 2.1 3.2: modified MUST be later than or equal to created.
    created = parse_timestamp(obj["created"], field="created", object_id=object_id)
    if obj["modified"] == obj["created"]:
        return  # the same text, the same instant: a new object's usual case
    modified = parse_timestamp(obj["modified"], field="modified", object_id=object_id)
    if modified < created:
        raise StixError(
            "must be later than or equal to created", object_id=object_id, field="modified"
        )
