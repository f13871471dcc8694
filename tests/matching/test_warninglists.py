"""Warninglists: MISP list types, the C020 CIDR policy, the shipped lists, and their speed."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indicia.errors import InputError
from indicia.logs.base import Event
from indicia.matching.types import Match
from indicia.matching.warninglists import (
    CLOUD_LISTS,
    SHIPPED_DIR,
    Warninglists,
    parse_warninglist,
    read_warninglist,
)

DATA = Path(__file__).parents[1] / "data"
MANIFEST = json.loads((DATA / "matching" / "warninglist_cases.json").read_text())
CASES = {
    case["id"]: case
    for case in map(json.loads, (DATA / "cases" / "cases.jsonl").read_text().splitlines())
}


def _lists(*docs: dict[str, Any]) -> Warninglists:
    return Warninglists(parse_warninglist(doc, "test") for doc in docs)


@pytest.fixture(scope="module")
def default() -> Warninglists:
    return Warninglists.load_default()


@pytest.mark.parametrize("case_id", ["C020"])
def test_field_case(case_id: str) -> None:
    case = CASES[case_id]
    doc = {"name": "case list", **case["input"]["warninglist"]}
    lists = _lists(doc)

    for value in case["input"]["attributes"]:
        warned = lists.lookup("ipv4-addr", value) == "case list"
        assert warned == (case["expected"][value] == "warning"), value


@pytest.mark.parametrize(
    ("doc", "kind", "value", "expected"),
    [
        pytest.param(case["list"], kind, value, expected, id=f"{case['list']['name']}-{value}")
        for case in MANIFEST["custom"]
        for kind, value, expected in case["checks"]
    ],
)
def test_list_types(doc: dict[str, Any], kind: str, value: str, expected: bool) -> None:
    assert (_lists(doc).lookup(kind, value) == doc["name"]) is expected


@pytest.mark.parametrize(("kind", "value", "expected"), MANIFEST["default"], ids=str)
def test_shipped_lists(default: Warninglists, kind: str, value: str, expected: str | None) -> None:
    assert default.lookup(kind, value) == expected


def test_shipped_lists_are_all_loaded_and_documented(default: Warninglists) -> None:
    files = sorted(p.name for p in SHIPPED_DIR.glob("*.json"))
    sources = (SHIPPED_DIR / "SOURCES.md").read_text()

    assert len(default.lists) == len(files)
    for name in files:
        assert f"| {name} |" in sources, name


# SUNBURST C2 addresses (CISA AA20-352A indicator release) that sit in AWS ranges.
SUNBURST_ON_AWS = ["13.59.205.66", "54.193.127.66", "54.215.192.52", "34.203.203.23"]


def test_cloud_lists_can_be_skipped(default: Warninglists) -> None:
    without_cloud = Warninglists.load_default(skip=CLOUD_LISTS)

    for address in SUNBURST_ON_AWS:
        assert default.lookup("ipv4-addr", address) == "List of known Amazon AWS IP address ranges"
        assert without_cloud.lookup("ipv4-addr", address) is None
    assert without_cloud.lookup("ipv4-addr", "10.1.1.1") == "List of RFC 1918 CIDR blocks"
    assert Warninglists.load_default(skip=CLOUD_LISTS) is without_cloud


def test_skipping_an_unknown_list_is_an_error() -> None:
    with pytest.raises(ValueError, match="no shipped warninglist named nonesuch"):
        Warninglists.load_default(skip=["nonesuch"])


def _match(kind: str, indicator_value: str, matched_value: str) -> Match:
    event = Event(datetime(2024, 1, 1, tzinfo=UTC), "test", {})
    return Match("indicator--x", kind, indicator_value, matched_value, "source.ip", event)


def test_check_uses_the_event_value_then_the_indicator_value() -> None:
    lists = _lists({"name": "private", "type": "cidr", "list": ["10.0.0.0/8"]})

    assert lists.check(_match("ipv4-addr", "0.0.0.0/1", "10.9.9.9")) == "private"
    assert lists.check(_match("ipv4-addr", "10.0.0.0/8", "10.9.9.9")) == "private"
    assert lists.check(_match("ipv4-addr", "0.0.0.0/1", "11.9.9.9")) is None


def test_without_public_suffixes_hostname_lists_cover_every_subdomain() -> None:
    # Plain MISP behaviour when no Public Suffix List is loaded alongside.
    top = {"name": "top", "type": "hostname", "list": ["duckdns.org"]}
    assert _lists(top).lookup("domain-name", "evil.duckdns.org") == "top"

    with_psl = Warninglists([parse_warninglist(top, "t")], public_suffixes=["duckdns.org"])
    assert with_psl.lookup("domain-name", "evil.duckdns.org") is None
    assert with_psl.lookup("domain-name", "duckdns.org") == "top"


def test_from_paths_reads_files_and_directories(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(
        json.dumps({"name": "A", "type": "string", "list": ["a.example"], "version": 1})
    )
    (tmp_path / "schema.json").write_text("{}")
    single = tmp_path / "b.json"
    single.write_text(json.dumps({"name": "B", "type": "cidr", "list": ["192.0.2.0/24"]}))

    lists = Warninglists.from_paths(tmp_path / "a.json", single)
    assert lists.names == ["A", "B"]
    assert Warninglists.from_paths(tmp_path).names == ["A", "B"]
    assert lists.lookup("ipv4-addr", "192.0.2.7") == "B"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"type": "string", "list": []}, "lacks the required field 'name'"),
        ({"name": "x", "list": []}, "lacks the required field 'type'"),
        ({"name": "x", "type": "fuzzy", "list": []}, "unknown warninglist type 'fuzzy'"),
        ({"name": "x", "type": "string", "list": [1, 2]}, "must be an array of strings"),
    ],
)
def test_bad_documents_are_rejected(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_warninglist(doc, "bad.json")


def test_unreadable_files_are_rejected(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    array = tmp_path / "array.json"
    array.write_text("[]")

    with pytest.raises(InputError, match=r"broken\.json: cannot read warninglist"):
        read_warninglist(broken)
    with pytest.raises(InputError, match="must be a JSON object"):
        read_warninglist(array)


def test_invalid_regex_entries_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    lists = _lists({"name": "r", "type": "regex", "list": ["/([a-z/", "/^ok$/"]})

    assert lists.lookup("domain-name", "ok") == "r"
    assert "skipped invalid regex" in caplog.text


_BLOCKS = st.lists(
    st.tuples(st.integers(0, 2**32 - 1), st.integers(8, 32)), min_size=1, max_size=12
).map(lambda pairs: [ipaddress.ip_network((a, p), strict=False) for a, p in pairs])


@given(blocks=_BLOCKS, address=st.integers(0, 2**32 - 1), prefix=st.integers(0, 32))
def test_cidr_lookup_agrees_with_a_scan(
    blocks: list[ipaddress.IPv4Network], address: int, prefix: int
) -> None:
    lists = _lists({"name": "n", "type": "cidr", "list": [str(b) for b in blocks]})
    query = ipaddress.ip_network((address, prefix), strict=False)
    text = str(query.network_address) if prefix == 32 else str(query)

    inside = any(query.subnet_of(block) for block in blocks)
    assert (lists.lookup("ipv4-addr", text) == "n") is inside


_LABEL = st.sampled_from(["a", "b", "ab", "ba", "x-y"])


@given(
    listed=st.lists(st.lists(_LABEL, min_size=1, max_size=3), min_size=1, max_size=5),
    name=st.lists(_LABEL, min_size=1, max_size=5),
)
def test_hostname_lookup_agrees_with_a_scan(listed: list[list[str]], name: list[str]) -> None:
    entries = [".".join(labels) for labels in listed]
    lists = _lists({"name": "n", "type": "hostname", "list": entries})
    value = ".".join(name)

    # A single-label entry is a top-level domain: by the PSL default rule it is a public
    # suffix, so it does not cover the registrable domains beneath it.
    covered = any(value == e or ("." in e and value.endswith("." + e)) for e in entries)
    assert (lists.lookup("domain-name", value) == "n") is covered


def test_lookups_are_fast(default: Warninglists) -> None:
    import time

    start = time.perf_counter()
    for i in range(20_000):
        default.lookup("ipv4-addr", f"45.{i % 256}.{i // 256}.9")
        default.lookup("domain-name", f"host{i}.cdn.example-shop.org")
    per_lookup = (time.perf_counter() - start) / 40_000

    assert per_lookup < 50e-6  # measured ~3 µs; a scan over the 10k-entry lists would be ~ms
