"""validate_object: the OASIS example bundles, STIX 2.0 refusal, and a manifest of bad objects."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from stix_testdata import STIX_DATA, bundle_objects, load_json

from indicia.errors import PatternError, StixError
from indicia.stix import KNOWN_TYPES, extract_observables, new_id, tlp_marking, validate_object

EXAMPLES = sorted((STIX_DATA / "oasis-examples").glob("*.json"))

# One object of the OASIS Poison Ivy report is wrong: its pattern files the text
# "domain autuo.xicp.net" (with a space) as a domain-name value. It is a C010-kind fault in the
# example itself, so it is rejected, and this test pins that.
KNOWN_BAD = {
    "indicator--4e4c4ad7-4909-456a-b6fa-e24a6f682a40": "domain-name value must be a domain name"
}

# Paths on which a '=' comparison yields an observable (see indicia.stix.pattern_values).
_MATCHABLE = re.compile(
    r"(ipv4-addr|ipv6-addr|domain-name|url|email-addr):value\s*=|file:hashes\.\S+\s*=|"
    r"network-traffic:(dst|src)_ref\.value\s*=|email-message:from_ref\.value\s*="
)


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_oasis_examples_validate(path: Path) -> None:
    objects = bundle_objects(path)
    for obj in objects:
        if obj["id"] in KNOWN_BAD:
            with pytest.raises(PatternError, match=KNOWN_BAD[obj["id"]]):
                validate_object(obj)
        else:
            assert validate_object(obj) is obj


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_oasis_example_indicators_give_their_observables(path: Path) -> None:
    indicators = [
        o for o in bundle_objects(path) if o["type"] == "indicator" and o["id"] not in KNOWN_BAD
    ]
    for indicator in indicators:
        found = extract_observables(indicator["pattern"])
        matchable = _MATCHABLE.search(indicator["pattern"]) is not None
        assert bool(found) == matchable, indicator["pattern"]
        for obs in found:
            assert obs.value.lower() in indicator["pattern"].lower()


def test_the_examples_cover_every_fully_checked_type() -> None:
    seen = {obj["type"] for path in EXAMPLES for obj in bundle_objects(path)}
    assert {"indicator", "malware", "relationship", "identity", "campaign", "report"} <= seen
    assert {"sighting", "marking-definition"} <= KNOWN_TYPES


def test_validate_object_does_not_change_the_object() -> None:
    objects = bundle_objects(STIX_DATA / "oasis-examples" / "poisonivy.json")
    before = copy.deepcopy(objects)
    for obj in objects:
        if obj["id"] not in KNOWN_BAD:
            validate_object(obj)
    assert objects == before


def test_stix20_objects_are_refused() -> None:
    objects = bundle_objects(STIX_DATA / "stix20" / "pymisp_misp2stix2_stix20_bundle.json")
    assert objects
    for obj in objects:
        with pytest.raises(StixError, match="STIX 2.0 objects are not accepted") as caught:
            validate_object(obj)
        assert caught.value.field == "spec_version"


def _invalid_cases() -> list[dict[str, Any]]:
    manifest = load_json(STIX_DATA / "objects_invalid.json")
    cases = []
    for case in manifest["cases"]:
        obj = case.get("raw", copy.deepcopy(manifest["bases"].get(case.get("base"), {})))
        for key in case.get("unset", []):
            obj.pop(key)
        if isinstance(obj, dict):
            obj.update(case.get("set", {}))
        cases.append(case | {"object": obj})
    return cases


INVALID = _invalid_cases()


@pytest.mark.parametrize("case", INVALID, ids=[case["id"] for case in INVALID])
def test_invalid_objects_are_rejected(case: dict[str, Any]) -> None:
    with pytest.raises(StixError, match=case["error"]) as caught:
        validate_object(case["object"])
    assert caught.value.field == case.get("field")


def test_manifest_bases_are_valid() -> None:
    for obj in load_json(STIX_DATA / "objects_invalid.json")["bases"].values():
        assert validate_object(obj) is obj


def test_typical_indicator_is_valid(indicator: dict[str, Any]) -> None:
    assert validate_object(indicator) is indicator


@pytest.mark.parametrize(
    "obj",
    [
        # SCOs: spec_version is optional (STIX 2.1 3.2), and they have no created/modified.
        {
            "type": "ipv4-addr",
            "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
            "value": "198.51.100.3",
        },
        {
            "type": "domain-name",
            "spec_version": "2.1",
            "id": "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5",
            "value": "example.com",
        },
        {
            "type": "x-mitre-tactic",
            "spec_version": "2.1",
            "id": "x-mitre-tactic--daa4cbb1-b4f4-4723-a824-7f1efd6e0592",
            "created": "2018-10-17T00:14:20.652Z",
            "modified": "2025-04-25T14:45:11.075Z",
            "name": "Exfiltration",
            "x_mitre_shortname": "exfiltration",
        },
        {
            "type": "vulnerability",
            "spec_version": "2.1",
            "id": "vulnerability--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
            "created": "2016-05-12T08:17:27.000Z",
            "modified": "2016-05-12T08:17:27.000Z",
            "name": "CVE-2016-1234",
        },
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": "marking-definition--0b7e4a52-2c3d-4e5f-9a1b-2c3d4e5f6a7b",
            "created": "2016-08-01T00:00:00.000Z",
            "definition_type": "statement",
            "definition": {"statement": "Copyright 2019, Example Corp"},
        },
        tlp_marking("amber+strict"),
        tlp_marking("white", version=1),
    ],
    ids=[
        "sco-no-spec-version",
        "sco",
        "custom-x-type",
        "vulnerability",
        "statement-marking",
        "tlp2",
        "tlp1",
    ],
)
def test_other_valid_objects(obj: dict[str, Any]) -> None:
    assert validate_object(obj) is obj


def test_strict_types_off_allows_any_type_name() -> None:
    obj = {
        "type": "acme-widget",
        "spec_version": "2.1",
        "id": "acme-widget--0b7e4a52-2c3d-4e5f-9a1b-2c3d4e5f6a7b",
    }
    with pytest.raises(StixError, match="not a STIX 2.1 type"):
        validate_object(obj)
    assert validate_object(obj, strict_types=False) is obj


def test_indicator_with_other_pattern_type_skips_the_stix_check(indicator: dict[str, Any]) -> None:
    indicator |= {"pattern_type": "yara", "pattern": "rule x { condition: true }"}
    assert validate_object(indicator) is indicator


def test_indicator_valid_until_later_passes(indicator: dict[str, Any]) -> None:
    indicator["valid_until"] = "2024-03-05T10:20:30.000001Z"
    assert validate_object(indicator) is indicator


def test_new_id() -> None:
    first, second = new_id("indicator"), new_id("indicator")
    assert first != second
    assert re.fullmatch(
        r"indicator--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first
    )
    with pytest.raises(StixError, match="is not a STIX type name"):
        new_id("Bad Type")
