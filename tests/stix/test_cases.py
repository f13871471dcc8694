"""Field cases of area 'stix' (tests/data/cases/cases.jsonl), one test per case id."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from stix_testdata import field_cases

from indicia.errors import StixError
from indicia.stix import extract_observables, parse_timestamp, validate_object

CASES = {case["id"]: case for case in field_cases("stix")}


def _load(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What an importer keeps: the objects validate_object accepts."""
    loaded = []
    for obj in objects:
        try:
            loaded.append(validate_object(obj))
        except StixError:
            continue
    return loaded


def _c010(case: dict[str, Any]) -> None:
    expected = case["expected"]
    patterns = case["input"]
    for number, pattern in enumerate(patterns, start=1):
        verdict = expected[f"pattern_{number}"]
        if verdict == "accept":
            assert extract_observables(pattern)
        else:
            with pytest.raises(StixError, match=verdict.removeprefix("reject: ")):
                extract_observables(pattern)

    indicators = [_indicator(pattern, number) for number, pattern in enumerate(patterns)]
    assert len(_load(indicators)) == expected["indicators_loaded"]


def _indicator(pattern: str, number: int) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--0b7e4a52-2c3d-4e5f-9a1b-2c3d4e5f6a7{number}",
        "created": "2024-05-15T12:00:00.000Z",
        "modified": "2024-05-15T12:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2024-05-15T12:00:00Z",
    }


def _c011(case: dict[str, Any]) -> None:
    obj = case["input"]
    assert len(_load([obj])) == case["expected"]["parsed"]
    assert parse_timestamp(obj["valid_from"]) == datetime(
        2024, 3, 5, 10, 20, 30, 123456, tzinfo=UTC
    )

    variant = copy.deepcopy(obj) | {"valid_from": "2024-03-05T10:20:30Z"}
    assert validate_object(variant) is variant
    assert parse_timestamp(variant["valid_from"]) == datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)


def _c013(case: dict[str, Any]) -> None:
    a = case["input"]["a"]
    b = copy.deepcopy(a) | {"valid_until": "2024-05-15T11:59:59Z"}
    message = case["expected"]["a"].removeprefix("reject: ")
    for obj in (a, b):
        with pytest.raises(StixError, match=message) as caught:
            validate_object(obj)
        assert caught.value.field == "valid_until"
    assert len(_load([a, b])) == case["expected"]["indicators_loaded"]


def _c014(case: dict[str, Any]) -> None:
    # The store owns versioning; here: both versions are valid objects and revoked is a bool.
    versions = []
    for partial in case["input"]["bundle_objects_in_this_order"]:
        versions.append(
            _indicator(partial["pattern"], 0) | partial | {"created": "2024-01-01T00:00:00.000Z"}
        )
    assert _load(versions) == versions

    newest = max(versions, key=lambda obj: parse_timestamp(obj["modified"]))
    assert newest["modified"] == case["expected"]["current_version_modified"]
    assert newest["revoked"] is True

    with pytest.raises(StixError, match="must be true or false"):
        validate_object(versions[0] | {"revoked": "true"})


CHECKS = {"C010": _c010, "C011": _c011, "C013": _c013, "C014": _c014}


def test_every_stix_case_has_a_check() -> None:
    assert set(CASES) == set(CHECKS)


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_field_case(case_id: str) -> None:
    CHECKS[case_id](CASES[case_id])
