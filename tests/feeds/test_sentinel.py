"""Sentinel upload bodies: both APIs, the sourcesystem notice, and the body's required members."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest

from indicia.feeds import Notice, StixRecord
from indicia.feeds.sentinel import read_sentinel_stream

from .helpers import split

INDICATOR = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": "indicator--6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    "created": "2024-03-05T10:20:30.123Z",
    "modified": "2024-03-05T10:20:30.123Z",
    "pattern": "[ipv4-addr:value = '198.51.100.23']",
    "pattern_type": "stix",
    "valid_from": "2024-03-05T10:20:30Z",
}
IDENTITY = {"type": "identity", "spec_version": "2.1", "id": "identity--1", "name": "Contoso"}


def _read(body: Any) -> list[Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return list(read_sentinel_stream(io.BytesIO(text.encode()), "body.json"))


def test_upload_api_body() -> None:
    records = _read({"sourcesystem": "Contoso TIP", "stixobjects": [INDICATOR, IDENTITY]})

    assert isinstance(records[0], Notice)
    assert records[0].message == "sourcesystem: Contoso TIP"
    assert [r.obj for r in records[1:]] == [INDICATOR, IDENTITY]
    assert [r.position.record for r in records[1:]] == [1, 2]


def test_legacy_upload_indicators_body() -> None:
    got = split(_read({"sourcesystem": "Contoso TIP", "indicators": [INDICATOR, IDENTITY]}))

    assert [r.obj["id"] for r in got["stix"]] == [INDICATOR["id"]]
    [rejection] = got["rejections"]
    assert rejection.reason == "the Upload Indicators API takes indicator objects, not 'identity'"
    assert rejection.position.record == 2


def test_sourcesystem_after_the_array_still_comes_first() -> None:
    records = _read({"stixobjects": [INDICATOR], "sourcesystem": "Late TIP"})

    assert [type(r).__name__ for r in records] == ["Notice", "StixRecord"]
    assert records[0].message == "sourcesystem: Late TIP"


def test_missing_spec_version_defaults_to_21_with_a_notice() -> None:
    bare = {key: value for key, value in INDICATOR.items() if key != "spec_version"}
    got = split(_read({"sourcesystem": "X", "stixobjects": [bare]}))

    assert got["stix"][0].obj["spec_version"] == "2.1"
    assert "objects without spec_version were read as 2.1" in got["notices"][-1].message


def test_more_than_a_request_holds_is_noticed() -> None:
    many = [dict(INDICATOR, id=f"indicator--{i}") for i in range(101)]
    got = split(_read({"sourcesystem": "X", "stixobjects": many}))

    assert len(got["stix"]) == 101
    assert got["notices"][-1].message == "101 objects; the Upload API takes 100 a request"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"sourcesystem": "X"}, r"^the body has neither 'stixobjects' nor 'indicators'$"),
        ({"sourcesystem": "", "stixobjects": []}, r"'sourcesystem' must be a non-empty string"),
        ({"sourcesystem": 7, "stixobjects": []}, r"'sourcesystem' must be a non-empty string"),
        ({"sourcesystem": "X", "stixobjects": {}}, r"'stixobjects' must be an array"),
        ({"sourcesystem": "X", "stixobjects": [], "indicators": []}, r"a body holds one array"),
        ([INDICATOR], r"a Sentinel upload body is a JSON object"),
        ({"sourcesystem": "X", "stixobjects": [{"id": "x"}]}, r"needs a string 'type'"),
        ({"sourcesystem": "X", "stixobjects": [{"type": "x"}]}, r"needs a string 'id'"),
    ],
)
def test_a_broken_body_is_rejected(body: Any, reason: str) -> None:
    got = split(_read(body))

    assert got["stix"] == []
    assert len(got["rejections"]) == 1
    assert re.search(reason, got["rejections"][0].reason)


def test_a_body_without_sourcesystem_ends_with_a_rejection() -> None:
    records = _read({"stixobjects": [INDICATOR]})

    assert [type(r).__name__ for r in records] == ["StixRecord", "Rejection"]
    assert records[-1].reason == "the body has no 'sourcesystem'"


def test_truncated_body_keeps_the_objects_before_the_break() -> None:
    text = json.dumps({"sourcesystem": "X", "stixobjects": [INDICATOR, IDENTITY]})[:-40]
    records = _read(text)

    assert [type(r).__name__ for r in records] == ["Notice", "StixRecord", "Rejection"]
    assert records[-1].position.record == 2
    assert isinstance(records[1], StixRecord)


def test_reserved_source_name_and_unknown_member_are_noticed() -> None:
    got = split(_read({"sourcesystem": "Microsoft Sentinel", "extra": 1, "stixobjects": []}))

    assert [n.message for n in got["notices"]] == [
        "sourcesystem: Microsoft Sentinel",
        "the source system name 'Microsoft Sentinel' is reserved",
        "unknown member 'extra' of the upload body ignored",
    ]
