"""TLP markings checked against the published definitions (STIX 2.1 7.2.1.4; OASIS TLP 2.0)."""

from __future__ import annotations

from typing import Any

import pytest
import stix2
from stix2validator import ValidationOptions, validate_instance
from stix_testdata import STIX_DATA, bundle_objects, load_json

from indicia.errors import StixError
from indicia.stix import (
    TLP_LEVELS,
    is_tlp_marking_id,
    normalize_tlp,
    tlp_marking,
    tlp_marking_id,
    tlp_of,
    validate_object,
)
from indicia.stix.markings import TLP2_EXTENSION_ID

# TLP 2.0 green and red have no example bundle; their ids and names are the enum values of
# definitions tlp_green / tlp_red in oasis-open/cti-stix-common-objects,
# extension-definition-specifications/tlp-2.0/extension-definition--60a3c5c5-...json.
TLP2_SCHEMA_IDS = {
    "green": ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN"),
    "red": ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED"),
}
TLP1_COLOURS = ("white", "green", "amber", "red")


def _schema_tlp1() -> dict[str, tuple[str, str]]:
    """Colour -> (id, name), read from the OASIS JSON schema common/marking-definition.json."""
    definitions = load_json(STIX_DATA / "schemas" / "marking-definition.json")["definitions"]
    table = {}
    for colour in TLP1_COLOURS:
        props = definitions[f"tlp_{colour}"]["properties"]
        table[colour] = (props["id"]["enum"][0], props["name"]["enum"][0])
    return table


@pytest.mark.parametrize("colour", TLP1_COLOURS)
def test_tlp1_objects_match_the_oasis_schema_and_stix2(colour: str) -> None:
    marking = tlp_marking(colour, version=1)
    schema_id, schema_name = _schema_tlp1()[colour]
    assert (marking["id"], marking["name"]) == (schema_id, schema_name)

    # The OASIS reference library carries the full 7.2.1.4 objects, created date included.
    reference = dict(getattr(stix2, f"TLP_{colour.upper()}"))
    assert marking == {
        **reference,
        "created": "2017-01-20T00:00:00.000Z",
        "definition": {"tlp": colour},
    }
    assert reference["created"].strftime("%Y-%m-%d") == "2017-01-20"


@pytest.mark.parametrize("name", ["clear", "amber", "amber+strict"])
def test_tlp2_objects_equal_the_oasis_examples(name: str) -> None:
    (published,) = bundle_objects(STIX_DATA / "tlp2" / f"tlp-{name}.json")
    assert tlp_marking(name) == published


@pytest.mark.parametrize("level", sorted(TLP2_SCHEMA_IDS))
def test_tlp2_green_and_red_match_the_extension_schema(level: str) -> None:
    marking = tlp_marking(level)
    assert (marking["id"], marking["name"]) == TLP2_SCHEMA_IDS[level]
    assert marking["created"] == "2022-10-01T00:00:00.000Z"
    assert marking["extensions"] == {
        TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level}
    }


@pytest.mark.parametrize("level", TLP_LEVELS)
def test_every_tlp2_marking_validates(level: str) -> None:
    marking = tlp_marking(level)
    assert validate_object(marking) is marking
    result = validate_instance(marking, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]


@pytest.mark.parametrize("colour", TLP1_COLOURS)
def test_every_tlp1_marking_validates(colour: str) -> None:
    marking = tlp_marking(colour, version=1)
    assert validate_object(marking) is marking
    assert validate_instance(marking, ValidationOptions(version="2.1")).is_valid


def test_tlp_marking_returns_a_copy() -> None:
    first = tlp_marking("red")
    first["extensions"][TLP2_EXTENSION_ID]["tlp_2_0"] = "clear"
    assert tlp_marking("red")["extensions"][TLP2_EXTENSION_ID]["tlp_2_0"] == "red"


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        ("white", "clear"),
        ("TLP:WHITE", "clear"),
        ("clear", "clear"),
        ("TLP:CLEAR", "clear"),
        ("Green", "green"),
        (" tlp:amber ", "amber"),
        ("TLP:AMBER+STRICT", "amber+strict"),
        ("amber+strict", "amber+strict"),
        ("TLP-RED", "red"),
    ],
)
def test_normalize_tlp(raw: str, level: str) -> None:
    assert normalize_tlp(raw) == level


@pytest.mark.parametrize("raw", ["", "orange", "TLP:", "amber strict plus", "TLP:EX:CHR"])
def test_normalize_tlp_rejects_unknown(raw: str) -> None:
    with pytest.raises(StixError, match="unknown TLP level"):
        normalize_tlp(raw)


def test_tlp_marking_id_versions() -> None:
    assert (
        tlp_marking_id("white", version=1)
        == "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
    )
    assert tlp_marking_id("clear", version=1) == tlp_marking_id("white", version=1)
    assert tlp_marking_id("white") == "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
    with pytest.raises(StixError, match="TLP 1.0 has no AMBER\\+STRICT"):
        tlp_marking_id("amber+strict", version=1)
    with pytest.raises(StixError, match="TLP version must be 1 or 2"):
        tlp_marking_id("red", version=3)


def _marked(*refs: str) -> dict[str, Any]:
    return {"object_marking_refs": list(refs)}


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        ((), None),
        (("marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168",), None),
        ((tlp_marking_id("white", version=1),), "clear"),
        ((tlp_marking_id("green", version=1), tlp_marking_id("amber")), "amber"),
        ((tlp_marking_id("red", version=1), tlp_marking_id("amber+strict")), "red"),
        ((tlp_marking_id("amber+strict"), tlp_marking_id("amber", version=1)), "amber+strict"),
        ((tlp_marking_id("clear"), tlp_marking_id("green", version=1)), "green"),
        (
            (
                "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168",
                tlp_marking_id("green"),
                tlp_marking_id("clear", version=1),
            ),
            "green",
        ),
    ],
)
def test_tlp_of_returns_the_most_restrictive(refs: tuple[str, ...], expected: str | None) -> None:
    assert tlp_of(_marked(*refs)) == expected


def test_tlp_of_without_refs() -> None:
    assert tlp_of({"type": "indicator"}) is None


def test_is_tlp_marking_id() -> None:
    for level in TLP_LEVELS:
        assert is_tlp_marking_id(tlp_marking_id(level))
    for colour in TLP1_COLOURS:
        assert is_tlp_marking_id(tlp_marking_id(colour, version=1))
    assert not is_tlp_marking_id("marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168")
    assert not is_tlp_marking_id("TLP:RED")


def test_a_home_made_tlp_marking_is_rejected() -> None:
    # STIX 2.1 7.2.1.4: other instances of TLP markings MUST NOT be created.
    forged = tlp_marking("red", version=1) | {
        "id": "marking-definition--0b7e4a52-2c3d-4e5f-9a1b-2c3d4e5f6a7b"
    }
    with pytest.raises(StixError, match="TLP:RED must use the official id"):
        validate_object(forged)

    forged2 = tlp_marking("amber") | {"id": tlp_marking_id("red")}
    with pytest.raises(StixError, match="TLP:AMBER must use the official id"):
        validate_object(forged2)
