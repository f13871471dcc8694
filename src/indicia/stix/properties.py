"""Checks for single STIX 2.1 property values (section 2 data types, section 3 common properties).

A check takes ``(value, field, object_id)`` and raises StixError naming the field, or returns.
They are plain functions kept in per-type tables, so validating an object is one dict lookup
and one call per property.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

from indicia.errors import StixError
from indicia.stix.timestamps import parse_timestamp

Check = Callable[[Any, str, "str | None"], None]

# STIX 2.1 2.9 identifier: <type>--<RFC 4122 UUID>, as the OASIS schema common/identifier.json.
IDENTIFIER = re.compile(
    r"([a-z][a-z0-9-]+[a-z0-9])--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}"
    r"-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
)
# STIX 2.1 3.1 type names and 3.x property names (OASIS schema common/core.json).
TYPE_NAME = re.compile(r"(?:[a-z][a-z0-9]*)+(?:-[a-z0-9]+)*-?")
PROPERTY_NAME = re.compile(r"[a-z0-9_]{3,250}")
_EXTENSION_NAME = re.compile(r"(?:[a-z][a-z0-9]*)+(?:-[a-z0-9]+)*-ext")
_LANG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")

_TYPE_PART = re.compile(r"[a-z][a-z0-9-]+[a-z0-9]")
_ID_CACHE: dict[str, str] = {}
_TYPE_PARTS: dict[str, bool] = {}  # type parts already checked against _TYPE_PART
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
)


def fail(message: str, field: str, object_id: str | None) -> StixError:
    """Build the StixError for ``field`` of ``object_id``."""
    return StixError(message, object_id=object_id, field=field)


def identifier_type(value: Any, field: str, object_id: str | None) -> str:
    """Return the type part of a STIX identifier, or raise if ``value`` is not one."""
    # References repeat (created_by_ref, markings): remember the recent ones.
    cached = _ID_CACHE.get(value) if isinstance(value, str) else None
    if cached is not None:
        return cached

    kind = unique_identifier_type(value, field, object_id)
    if len(_ID_CACHE) > 65536:
        _ID_CACHE.clear()
    _ID_CACHE[value] = kind
    return kind


def unique_identifier_type(value: Any, field: str, object_id: str | None) -> str:
    """:func:`identifier_type` for a value seen once, such as an object's own id."""
    # The same test as IDENTIFIER.fullmatch, in two steps: that regex backtracks through the
    # whole UUID (its characters fit the type's class), which made it the dearest check of
    # an object. The UUID has a fixed length, so the type is everything before its "--".
    if (
        isinstance(value, str)
        and value[-38:-36] == "--"
        and _UUID.fullmatch(value, len(value) - 36)
    ):
        kind = value[:-38]
        known = _TYPE_PARTS.get(kind)
        if known is None:
            known = _TYPE_PART.fullmatch(kind) is not None
            if len(_TYPE_PARTS) < 1024:  # a few dozen types in practice
                _TYPE_PARTS[kind] = known
        if known:
            return kind
    raise fail(
        f"{value!r} is not a STIX identifier (<type>--<RFC 4122 UUID>, 2.9)", field, object_id
    )


def string(value: Any, field: str, object_id: str | None) -> None:
    if not isinstance(value, str):
        raise fail(f"must be a string, not {type(value).__name__}", field, object_id)


def boolean(value: Any, field: str, object_id: str | None) -> None:
    if not isinstance(value, bool):
        raise fail(f"must be true or false, not {value!r}", field, object_id)


def timestamp(value: Any, field: str, object_id: str | None) -> None:
    parse_timestamp(value, field=field, object_id=object_id)


def dictionary(value: Any, field: str, object_id: str | None) -> None:
    if not isinstance(value, dict) or not value:
        raise fail("must be a non-empty dictionary", field, object_id)


def non_empty_list(value: Any, field: str, object_id: str | None) -> list[Any]:
    """Return ``value`` if it is a non-empty list (STIX lists MUST NOT be empty)."""
    if not isinstance(value, list) or not value:
        raise fail("must be a non-empty list", field, object_id)
    return value


def strings(value: Any, field: str, object_id: str | None) -> None:
    for item in non_empty_list(value, field, object_id):
        if not isinstance(item, str):
            raise fail(f"must be a list of strings; found {item!r}", field, object_id)


def integer_in(low: int, high: int) -> Check:
    """A check for an integer from ``low`` to ``high`` inclusive (booleans are not integers)."""

    def check(value: Any, field: str, object_id: str | None) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise fail(f"must be an integer from {low} to {high}, not {value!r}", field, object_id)

    return check


def reference(types: Collection[str] | None = None) -> Check:
    """A check for one identifier, of one of ``types`` when given."""

    def check(value: Any, field: str, object_id: str | None) -> None:
        ref_type = identifier_type(value, field, object_id)
        if types is not None and ref_type not in types:
            raise fail(
                f"must reference {' or '.join(sorted(types))}, not {ref_type}", field, object_id
            )

    return check


def references(types: Collection[str] | None = None) -> Check:
    """A check for a non-empty list of identifiers, of ``types`` when given."""
    one = reference(types)

    def check(value: Any, field: str, object_id: str | None) -> None:
        for item in non_empty_list(value, field, object_id):
            one(item, field, object_id)

    return check


def one_of(values: Collection[str]) -> Check:
    """A check for a string from a closed vocabulary (an enum)."""

    def check(value: Any, field: str, object_id: str | None) -> None:
        if value not in values:
            raise fail(f"must be one of {', '.join(values)}; not {value!r}", field, object_id)

    return check


def lang(value: Any, field: str, object_id: str | None) -> None:
    # RFC 5646 language tag, checked for shape only.
    if not isinstance(value, str) or _LANG.fullmatch(value) is None:
        raise fail(f"must be an RFC 5646 language tag, not {value!r}", field, object_id)


def kill_chain_phases(value: Any, field: str, object_id: str | None) -> None:
    # STIX 2.1 4.2: kill_chain_name and phase_name, both required strings.
    for phase in non_empty_list(value, field, object_id):
        if not isinstance(phase, dict):
            raise fail(f"each phase must be an object, not {phase!r}", field, object_id)
        for key in ("kill_chain_name", "phase_name"):
            if not isinstance(phase.get(key), str) or not phase[key]:
                raise fail(f"each phase needs a {key} string", field, object_id)


def external_references(value: Any, field: str, object_id: str | None) -> None:
    # STIX 2.1 2.5: source_name, and at least one of description, url, external_id.
    for ref in non_empty_list(value, field, object_id):
        if not isinstance(ref, dict) or not isinstance(ref.get("source_name"), str):
            raise fail("each external reference needs a source_name string", field, object_id)
        for key in ("description", "url", "external_id"):
            if key in ref and not isinstance(ref[key], str):
                raise fail(f"external reference {key} must be a string", field, object_id)
        if not ("description" in ref or "url" in ref or "external_id" in ref):
            raise fail(
                "an external reference needs a description, url or external_id", field, object_id
            )
        if "hashes" in ref:
            dictionary(ref["hashes"], f"{field}.hashes", object_id)


def granular_markings(value: Any, field: str, object_id: str | None) -> None:
    # STIX 2.1 7.2.3: selectors, and exactly one of marking_ref or lang.
    for marking in non_empty_list(value, field, object_id):
        if not isinstance(marking, dict):
            raise fail("each granular marking must be an object", field, object_id)
        strings(marking.get("selectors"), f"{field}.selectors", object_id)
        if ("marking_ref" in marking) == ("lang" in marking):
            raise fail(
                "a granular marking has exactly one of marking_ref and lang", field, object_id
            )
        if "marking_ref" in marking:
            reference(("marking-definition",))(
                marking["marking_ref"], f"{field}.marking_ref", object_id
            )


def extensions(value: Any, field: str, object_id: str | None) -> None:
    # STIX 2.1 7.3 and the predefined SCO extensions: keys are extension-definition ids or *-ext.
    dictionary(value, field, object_id)
    for key, body in value.items():
        if key.startswith("extension-definition--"):
            reference(("extension-definition",))(key, field, object_id)
        elif not _EXTENSION_NAME.fullmatch(key):
            raise fail(
                f"{key!r} is neither an extension-definition id nor a *-ext name", field, object_id
            )
        if not isinstance(body, dict):
            raise fail(f"extension {key!r} must be an object", field, object_id)
