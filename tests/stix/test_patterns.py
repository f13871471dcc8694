"""Patterns: a manifest of patterns and the observables (or error) each must give."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stix_testdata import STIX_DATA, load_json

from indicia.errors import PatternError
from indicia.observables import Kind, Observable
from indicia.stix import build_pattern, extract_observables, quote_literal, validate_pattern
from indicia.stix.pattern_fast import fast_observations
from indicia.stix.pattern_tree import parse_observations

CASES: list[dict[str, Any]] = load_json(STIX_DATA / "patterns.json")["cases"]
GOOD = [case for case in CASES if "observables" in case]
BAD = [case for case in CASES if "error" in case]


def _triples(observables: list[Observable]) -> list[list[object]]:
    return [[obs.kind.value, obs.value, obs.port] for obs in observables]


@pytest.mark.parametrize("case", GOOD, ids=[case["id"] for case in GOOD])
def test_extract_observables(case: dict[str, Any]) -> None:
    assert _triples(extract_observables(case["pattern"])) == case["observables"]
    validate_pattern(case["pattern"])


@pytest.mark.parametrize("case", BAD, ids=[case["id"] for case in BAD])
def test_extract_observables_rejects(case: dict[str, Any]) -> None:
    with pytest.raises(PatternError, match=case["error"]) as caught:
        extract_observables(
            case["pattern"], object_id="indicator--0b7e4a52-2c3d-4e5f-9a1b-2c3d4e5f6a7b"
        )
    assert caught.value.object_id == "indicator--0b7e4a52-2c3d-4e5f-9a1b-2c3d4e5f6a7b"
    assert caught.value.field == "pattern"


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_manifest_names_the_path_taken(case: dict[str, Any]) -> None:
    taken = "fast" if fast_observations(case["pattern"]) is not None else "tree"
    assert taken == case["path"]


FAST_VALID = [case for case in GOOD if case["path"] == "fast"]


@pytest.mark.parametrize("case", FAST_VALID, ids=[case["id"] for case in FAST_VALID])
def test_fast_path_agrees_with_the_parse_tree(case: dict[str, Any]) -> None:
    # Whatever the regex accepts, stix2patterns must accept and read the same way.
    assert fast_observations(case["pattern"]) == parse_observations(case["pattern"], None)


def test_validate_pattern_reports_the_grammar_error() -> None:
    with pytest.raises(PatternError, match="mismatched input 'or'"):
        validate_pattern("[ipv4-addr:value = '198.51.100.1'] or [ipv4-addr:value = '198.51.100.2']")
    with pytest.raises(PatternError, match="'zz' is not a valid SHA-256 hash"):
        validate_pattern("[file:hashes.'SHA-256' = 'zz']")
    # stix2patterns itself crashes on these; we answer with a PatternError.
    for empty in ("", "   ", "(("):
        with pytest.raises(PatternError, match="needs at least one observation expression"):
            validate_pattern(empty)


def test_extract_observables_rejects_non_strings() -> None:
    with pytest.raises(PatternError, match="a pattern must be a string"):
        extract_observables(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("observable", "pattern"),
    [
        (Observable(Kind.IPV4, "203.0.113.5"), "[ipv4-addr:value = '203.0.113.5']"),
        (Observable(Kind.IPV6, "2001:db8::/32"), "[ipv6-addr:value = '2001:db8::/32']"),
        (Observable(Kind.DOMAIN, "c2.example.net"), "[domain-name:value = 'c2.example.net']"),
        (Observable(Kind.EMAIL, "a@example.org"), "[email-addr:value = 'a@example.org']"),
        (
            Observable(Kind.URL, "http://example.com/it's"),
            "[url:value = 'http://example.com/it\\'s']",
        ),
        (
            Observable(Kind.MD5, "d41d8cd98f00b204e9800998ecf8427e"),
            "[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427e']",
        ),
        (
            Observable(
                Kind.SHA256, "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"
            ),
            "[file:hashes.'SHA-256' = "
            "'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']",
        ),
        (
            Observable(Kind.IPV4, "198.51.100.7", port=443),
            "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = "
            "'198.51.100.7' AND network-traffic:dst_port = 443]",
        ),
    ],
)
def test_build_pattern_one(observable: Observable, pattern: str) -> None:
    assert build_pattern([observable]) == pattern
    assert extract_observables(pattern) == [observable]
    validate_pattern(pattern)


def test_build_pattern_several_are_ored() -> None:
    observables = [
        Observable(Kind.IPV4, "198.51.100.1"),
        Observable(Kind.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ]
    pattern = build_pattern(observables)
    assert pattern == (
        "[ipv4-addr:value = '198.51.100.1'] OR "
        "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']"
    )
    assert extract_observables(pattern) == observables


def test_build_pattern_errors() -> None:
    with pytest.raises(PatternError, match="needs at least one observable"):
        build_pattern([])
    with pytest.raises(PatternError, match="a port needs an address or domain, not md5"):
        build_pattern([Observable(Kind.MD5, "d41d8cd98f00b204e9800998ecf8427e", port=80)])
    with pytest.raises(PatternError, match="network-traffic observable needs an address kind"):
        build_pattern([Observable(Kind.NETWORK_TRAFFIC, "198.51.100.1")])


def test_quote_literal_escapes_quote_and_backslash() -> None:
    assert quote_literal("a'b\\c") == "'a\\'b\\\\c'"
    assert quote_literal("") == "''"


@given(st.text(max_size=40))
def test_quote_literal_round_trips_through_the_grammar(text: str) -> None:
    # Any text, quoted, reads back unchanged on both paths (9.3 escapes only ' and \).
    pattern = f"[x-test:value = {quote_literal(text)}]"
    expected = [[("x-test", ("value",), text)]]
    assert parse_observations(pattern, None) == expected
    fast = fast_observations(pattern)
    assert fast is None or fast == expected
