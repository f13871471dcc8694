"""The official TLP marking definitions (TLP 1.0 from STIX 2.1, TLP 2.0 from OASIS) and lookups.

TLP 1.0: STIX 2.1 section 7.2.1.4 predefines four marking-definition objects that MUST be used
for TLP and no others; the ids and the created date 2017-01-20T00:00:00.000Z are checked against
the OASIS JSON schema ``schemas/common/marking-definition.json`` (definitions ``tlp_white`` ...
``tlp_red``) and the OASIS stix2 library (``stix2/v21/common.py``, TLP_WHITE ... TLP_RED).

TLP 2.0: STIX 2.1 predefines none, so OASIS publishes them in oasis-open/cti-stix-common-objects,
``extension-definition-specifications/tlp-2.0/``: the schema
``extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d.json`` (one id and name per level)
and ``examples/tlp-clear.json``, ``tlp-amber.json``, ``tlp-amber+strict.json`` (created
2022-10-01T00:00:00.000Z, a property-extension carrying ``tlp_2_0``).
"""

from __future__ import annotations

import copy
from typing import Any

from indicia.errors import StixError

__all__ = [
    "TLP_LEVELS",
    "TLP2_EXTENSION_ID",
    "is_tlp_marking_id",
    "normalize_tlp",
    "tlp_marking",
    "tlp_marking_id",
    "tlp_of",
]

# TLP 2.0 (FIRST), least to most restrictive.
TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
_TLP1_CREATED = "2017-01-20T00:00:00.000Z"
_TLP2_CREATED = "2022-10-01T00:00:00.000Z"

_TLP1_IDS = {
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}
_TLP2_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

# TLP 2.0 renamed WHITE to CLEAR (FIRST TLP 2.0); the other 1.0 colours keep their meaning.
_TLP1_TO_TLP2 = {"white": "clear", "green": "green", "amber": "amber", "red": "red"}

# Every official id, 1.0 and 2.0, mapped to its TLP 2.0 level and its rank of restriction.
_LEVEL_OF_ID = {ref: _TLP1_TO_TLP2[level] for level, ref in _TLP1_IDS.items()} | {
    ref: level for level, ref in _TLP2_IDS.items()
}
_RANK = {level: rank for rank, level in enumerate(TLP_LEVELS)}


def normalize_tlp(level: str) -> str:
    """Return the TLP 2.0 level named by ``level`` ("TLP:WHITE" -> "clear"), case-insensitively."""
    if not isinstance(level, str):
        raise StixError(f"a TLP level must be a string, not {type(level).__name__}", field="tlp")

    name = level.strip().lower()
    name = name.removeprefix("tlp:").removeprefix("tlp-").strip()
    name = _TLP1_TO_TLP2.get(name, name).replace(" ", "")
    if name not in _RANK:
        raise StixError(
            f"unknown TLP level {level!r}; use one of {', '.join(TLP_LEVELS)} (or white)",
            field="tlp",
        )
    return name


def tlp_marking_id(level: str, *, version: int = 2) -> str:
    """Return the id of the official TLP marking definition for ``level`` in TLP ``version``."""
    name = normalize_tlp(level)
    if version == 2:
        return _TLP2_IDS[name]
    if version != 1:
        raise StixError(f"TLP version must be 1 or 2, not {version!r}", field="tlp")

    # TLP 1.0 has no AMBER+STRICT, and calls CLEAR white (STIX 2.1 7.2.1.4).
    if name == "amber+strict":
        raise StixError("TLP 1.0 has no AMBER+STRICT; use version=2", field="tlp")
    return _TLP1_IDS["white" if name == "clear" else name]


def tlp_marking(level: str, *, version: int = 2) -> dict[str, Any]:
    """Return a fresh copy of the official marking-definition object for ``level``."""
    ref = tlp_marking_id(level, version=version)
    return copy.deepcopy(_MARKINGS[ref])


def tlp_of(obj: dict[str, Any]) -> str | None:
    """Return the most restrictive TLP 2.0 level among the object's ``object_marking_refs``."""
    refs = obj.get("object_marking_refs")
    if not refs or not isinstance(refs, list):
        return None

    levels = [_LEVEL_OF_ID[ref] for ref in refs if ref in _LEVEL_OF_ID]
    if not levels:
        return None
    return max(levels, key=_RANK.__getitem__)


def is_tlp_marking_id(ref: str) -> bool:
    """Tell whether ``ref`` is the id of an official TLP 1.0 or 2.0 marking definition."""
    return ref in _LEVEL_OF_ID


def marking_by_id(ref: str) -> dict[str, Any] | None:
    """A fresh copy of the official TLP marking definition with id ``ref``, or None."""
    found = _MARKINGS.get(ref)
    return copy.deepcopy(found) if found is not None else None


def level_of_marking_id(ref: str) -> str | None:
    """Return the TLP 2.0 level of an official TLP marking id, or None for any other id."""
    return _LEVEL_OF_ID.get(ref)


def _tlp1_object(colour: str) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": _TLP1_IDS[colour],
        "created": _TLP1_CREATED,
        "definition_type": "tlp",
        "name": f"TLP:{colour.upper()}",
        "definition": {"tlp": colour},
    }


def _tlp2_object(level: str) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": _TLP2_IDS[level],
        "created": _TLP2_CREATED,
        "name": f"TLP:{level.upper()}",
        "extensions": {
            TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level},
        },
    }


_MARKINGS = {_TLP1_IDS[c]: _tlp1_object(c) for c in _TLP1_IDS} | {
    _TLP2_IDS[level]: _tlp2_object(level) for level in _TLP2_IDS
}
