"""Azure WAF parser: real and documented samples (manifest), positions, hostile input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicia.logs import azure_waf
from indicia.logs.base import Event, Unreadable
from indicia.logs.inputs import read_events
from indicia.logs.registry import get_format, sniff_format

from .manifest_check import DATA, check_entry, manifest_cases, run_file

FORMAT = azure_waf.FORMAT
FAMILY, NAME = "azure", "azure_waf"


@pytest.mark.parametrize(("family", "entry"), manifest_cases(FAMILY, NAME))
def test_manifest_file(family: str, entry: dict[str, Any]) -> None:
    results = run_file(FORMAT.parse, family, entry)

    check_entry(results, entry)
    assert [r.line for r in results if isinstance(r, Unreadable)] == entry["unreadable_lines"]


@pytest.mark.parametrize(("family", "entry"), manifest_cases(FAMILY, NAME))
def test_read_events_sniffs_the_file_and_gives_the_same_results(
    family: str, entry: dict[str, Any]
) -> None:
    expected = [(r.line, type(r).__name__) for r in run_file(FORMAT.parse, family, entry)]
    results = read_events(DATA / family / entry["file"])

    assert [(r.line, type(r).__name__) for r in results] == expected


def test_path_only_request_uri_gets_host_and_default_scheme() -> None:
    properties = {"clientIp": "192.0.2.9", "requestUri": "/x?a=1", "hostname": "h.example"}
    record = {"category": "ApplicationGatewayFirewallLog", "properties": properties}
    [event] = FORMAT.parse([(1, json.dumps(record))], "agw.json")

    assert isinstance(event, Event)
    assert event.fields["url.full"] == f"{azure_waf.DEFAULT_SCHEME}://h.example/x?a=1"
    assert event.fields["url.original"] == "/x?a=1"


def test_relative_uri_without_host_keeps_only_the_original() -> None:
    record = {"category": "ApplicationGatewayFirewallLog", "properties": {"requestUri": "/x"}}
    [event] = FORMAT.parse([(1, json.dumps(record))], "agw.json")

    assert isinstance(event, Event)
    assert event.fields["url.original"] == "/x"
    assert "url.full" not in event.fields and "url.domain" not in event.fields


GOOD = (DATA / "azure/azure-frontdoor-waf.log").read_text().splitlines()[0]
HOSTILE = {
    "truncated": GOOD[: len(GOOD) // 2],
    "binary junk": "\x00\x01\ufffd\ufffd\x1b[31m\x07PK\x03\x04",
    "huge line": "{" + '"a": "' + "Y" * 2_000_000 + '"}',
    "wrong format": "<134>1 2024-01-01T00:00:00Z host app - - - hello",
    "json scalar": "null",
    "firewall record": json.dumps(
        {"category": "AzureFirewallNetworkRule", "properties": {"msg": "x"}}
    ),
    "bad bracket host": json.dumps(
        {
            "category": "FrontdoorWebApplicationFirewallLog",
            "properties": {"requestUri": "https://[zz/x", "host": "[zz"},
        }
    ),  # fmt: skip
    "unclosed document": "[",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_line_never_escapes_and_keeps_positions(text: str) -> None:
    results = list(FORMAT.parse([(1, GOOD), (2, text), (3, GOOD)], "hostile.json"))

    assert [(r.line, type(r).__name__) for r in results if r.line != 2] == [
        (1, "Event"), (3, "Event"),
    ]  # fmt: skip
    at_two = [r for r in results if r.line == 2]
    assert len(at_two) == 1
    if isinstance(at_two[0], Unreadable):
        assert len(at_two[0].text) <= azure_waf.MAX_TEXT
    else:  # a WAF record with a malformed URL is still an event, its URL kept as logged
        assert at_two[0].fields["url.original"] == "https://[zz/x"


def test_registry_knows_and_sniffs_the_format() -> None:
    assert get_format("azure_waf") is FORMAT
    for name in ("azure/azure-frontdoor-waf.log", "azure/appgw-waf-documented.jsonl"):
        sample = (DATA / name).read_text().splitlines()
        assert sniff_format(sample, name).name == "azure_waf"


# Lines built from the tokens that steer the parsers (JSON, CSV, TSV, headers), plus junk.
TOKENS = ["{", "}", "[", "]", '"', ",", ":", "\\", "\t", " ", "x", "1", ".", "\x00", "\ufffd"]
TOKENS += ["#separator ", "#fields\t", "#types\t", '"records":', '"msg":', '"category":', "AZFW"]
FUZZ_LINES = st.lists(st.lists(st.sampled_from(TOKENS), max_size=30).map("".join), max_size=12)


@settings(max_examples=80, deadline=None)
@given(FUZZ_LINES)
def test_any_input_yields_results_at_input_lines_and_never_raises(texts: list[str]) -> None:
    lines = list(enumerate(texts, start=1))
    results = list(FORMAT.parse(lines, "fuzz"))

    assert {r.line for r in results} <= {number for number, _ in lines}
    assert all(len(r.text) <= azure_waf.MAX_TEXT for r in results if isinstance(r, Unreadable))
