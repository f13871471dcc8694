"""Azure WAF parser: real and documented samples (manifest), positions, hostile input."""

from __future__ import annotations

import json

import pytest

from indicia.logs import azure_waf
from indicia.logs.base import Event, Unreadable
from indicia.logs.registry import get_format, sniff_format

from .manifest_check import DATA

FORMAT = azure_waf.FORMAT


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
