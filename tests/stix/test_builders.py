"""Builders: new indicators, versions and revocation, checked by us and by the OASIS validator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from stix2validator import ValidationOptions, validate_instance

from indicia.errors import StixError
from indicia.observables import Kind, Observable
from indicia.stix import (
    INDICATOR_TYPES,
    extract_observables,
    new_indicator,
    new_version,
    parse_kill_chain,
    parse_timestamp,
    revoke,
    tlp_marking_id,
    tlp_of,
    validate_object,
)

OPTIONS = ValidationOptions(version="2.1")
CREATED = datetime(2024, 3, 5, 10, 20, 30, 123456, tzinfo=UTC)

OBSERVABLES = [
    Observable(Kind.IPV4, "203.0.113.5"),
    Observable(Kind.IPV4, "198.51.100.0/24"),
    Observable(Kind.IPV6, "2001:db8::1"),
    Observable(Kind.DOMAIN, "c2.example.net"),
    Observable(Kind.URL, "http://example.com/it's"),
    Observable(Kind.EMAIL, "phish@example.org"),
    Observable(Kind.MD5, "d41d8cd98f00b204e9800998ecf8427e"),
    Observable(Kind.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    Observable(Kind.SHA256, "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"),
    Observable(
        Kind.SHA512,
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
    ),
    Observable(Kind.IPV4, "198.51.100.7", port=443),
    Observable(Kind.IPV6, "2001:db8::5", port=8443),
]


def _oasis_errors(obj: dict[str, Any]) -> list[str]:
    result = validate_instance(obj, OPTIONS)
    return [str(error) for error in result.errors]


@pytest.mark.parametrize(
    "observable", OBSERVABLES, ids=[f"{o.kind.value}-{o.port}" for o in OBSERVABLES]
)
def test_new_indicator_for_each_kind_passes_both_validators(observable: Observable) -> None:
    obj = new_indicator([observable], name="test", created=CREATED)
    assert validate_object(obj) is obj
    assert _oasis_errors(obj) == []
    assert extract_observables(obj["pattern"]) == [observable]


def test_new_indicator_with_everything() -> None:
    obj = new_indicator(
        OBSERVABLES[:3],
        name="C2 servers",
        description="Seen in the March campaign",
        indicator_types=["malicious-activity", "attribution"],
        kill_chain_phases=[
            parse_kill_chain("lockheed:command-and-control"),
            parse_kill_chain("mitre-attack:command-and-control"),
        ],
        severity="high",
        tlp="amber+strict",
        confidence=75,
        labels=["c2", "apt"],
        valid_from=CREATED,
        valid_until=CREATED + timedelta(days=30),
        source="AbuseIPDB",
        created_by_ref="identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
        created=CREATED,
    )
    assert _oasis_errors(obj) == []
    assert obj["created"] == obj["modified"] == "2024-03-05T10:20:30.123Z"
    assert obj["valid_from"] == "2024-03-05T10:20:30.123456Z"
    assert obj["valid_until"] == "2024-04-04T10:20:30.123456Z"
    assert obj["object_marking_refs"] == [tlp_marking_id("amber+strict")]
    assert tlp_of(obj) == "amber+strict"
    assert obj["x_indicia_severity"] == "high"
    assert obj["x_indicia_source"] == "AbuseIPDB"
    assert obj["kill_chain_phases"][0] == {
        "kill_chain_name": "lockheed-martin-cyber-kill-chain",
        "phase_name": "command-and-control",
    }
    assert extract_observables(obj["pattern"]) == OBSERVABLES[:3]


def test_new_indicator_defaults() -> None:
    obj = new_indicator([OBSERVABLES[0]])
    assert obj["indicator_types"] == ["malicious-activity"]
    assert obj["valid_from"] == obj["created"]
    for absent in (
        "name",
        "valid_until",
        "object_marking_refs",
        "labels",
        "kill_chain_phases",
        "x_indicia_severity",
    ):
        assert absent not in obj
    assert abs(parse_timestamp(obj["created"]) - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize("indicator_type", INDICATOR_TYPES)
def test_every_indicator_type_is_accepted(indicator_type: str) -> None:
    obj = new_indicator([OBSERVABLES[0]], indicator_types=[indicator_type])
    assert _oasis_errors(obj) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"indicator_types": ["malicious"]},
            "'malicious' is not in indicator-type-ov; use anomalous-activity, anonymization",
        ),
        ({"indicator_types": []}, "non-empty list of indicator types"),
        ({"indicator_types": "benign"}, "non-empty list of indicator types"),
        ({"severity": "severe"}, "severity must be one of informational, low"),
        ({"tlp": "orange"}, "unknown TLP level"),
        ({"confidence": 120}, "must be an integer from 0 to 100"),
        (
            {"valid_from": CREATED, "valid_until": CREATED},
            "valid_until must be later than valid_from",
        ),
        (
            {"created_by_ref": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"},
            "must reference identity",
        ),
        ({"created": datetime(2024, 3, 5)}, "naive datetime"),
    ],
)
def test_new_indicator_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(StixError, match=message):
        new_indicator([OBSERVABLES[0]], **kwargs)


def test_new_indicator_needs_an_observable() -> None:
    with pytest.raises(StixError, match="needs at least one observable"):
        new_indicator([])


def test_new_version_keeps_id_and_created() -> None:
    old = new_indicator([OBSERVABLES[0]], created=CREATED, confidence=50)
    later = CREATED + timedelta(hours=1)
    new = new_version(old, {"confidence": 90, "name": "renamed"}, modified=later)

    assert (new["id"], new["created"]) == (old["id"], old["created"])
    assert new["modified"] == "2024-03-05T11:20:30.123Z"
    assert (new["confidence"], new["name"]) == (90, "renamed")
    assert old["confidence"] == 50 and "name" not in old
    assert _oasis_errors(new) == []


def test_new_version_with_none_removes_a_property() -> None:
    old = new_indicator([OBSERVABLES[0]], created=CREATED, name="x")
    assert "name" not in new_version(old, {"name": None})


def test_new_version_modified_is_strictly_later_even_within_a_millisecond() -> None:
    old = new_indicator([OBSERVABLES[0]], created=CREATED)
    stamp = CREATED + timedelta(microseconds=500)  # same millisecond as the old modified (.123)
    new = new_version(old, {"confidence": 10}, modified=stamp)
    assert parse_timestamp(new["modified"]) > parse_timestamp(old["modified"])


def test_new_version_steps_past_a_lagging_clock() -> None:
    future = datetime.now(UTC) + timedelta(days=1)
    old = new_indicator([OBSERVABLES[0]], created=future)
    new = new_version(old, {"confidence": 10})
    assert parse_timestamp(new["modified"]) > parse_timestamp(old["modified"])


@pytest.mark.parametrize(
    ("changes", "modified", "message"),
    [
        ({"id": "indicator--0b7e4a52-2c3d-4e5f-9a1b-2c3d4e5f6a7b"}, None, "cannot change id"),
        ({"created": "2020-01-01T00:00:00.000Z"}, None, "cannot change created"),
        ({"confidence": 1}, CREATED.replace(microsecond=123000), "must be later than the current"),
        (
            {"confidence": 1},
            CREATED - timedelta(days=1),
            "must be later than the current version's modified",
        ),
        (
            {"valid_until": "2000-01-01T00:00:00Z"},
            None,
            "valid_until must be later than valid_from",
        ),
    ],
)
def test_new_version_errors(
    changes: dict[str, Any], modified: datetime | None, message: str
) -> None:
    old = new_indicator([OBSERVABLES[0]], created=CREATED)
    with pytest.raises(StixError, match=message):
        new_version(old, changes, modified=modified)


def test_revoke_is_permanent() -> None:
    old = new_indicator([OBSERVABLES[0]], created=CREATED)
    revoked = revoke(old)
    assert revoked["revoked"] is True
    assert revoked["id"] == old["id"]
    assert parse_timestamp(revoked["modified"]) > parse_timestamp(old["modified"])
    assert _oasis_errors(revoked) == []
    with pytest.raises(StixError, match="revoked object cannot have new versions"):
        new_version(revoked, {"revoked": False})
