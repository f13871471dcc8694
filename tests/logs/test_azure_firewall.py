"""Azure Firewall parser: real and documented samples (manifest), positions, hostile input."""

from __future__ import annotations

import json

import pytest

from indicia.logs import azure_firewall
from indicia.logs.base import Unreadable
from indicia.logs.registry import get_format, sniff_format

from .manifest_check import DATA

FORMAT = azure_firewall.FORMAT


def test_records_document_on_one_line_keeps_each_record_index() -> None:
    records = [json.loads(line) for line in (DATA / "azure/azure-firewall-networkrules-raw.log")
               .read_text().splitlines()[:3]]  # fmt: skip
    results = list(FORMAT.parse([(7, json.dumps({"records": records}))], "hub.json"))

    assert [(r.line, r.fields["azure_firewall.record_index"]) for r in results] == [
        (7, 0), (7, 1), (7, 2),
    ]  # fmt: skip
    assert [r.fields["destination.port"] for r in results[1:]] == [53, 1688]


GOOD = (DATA / "azure/azure-firewall-networkrules-raw.log").read_text().splitlines()[1]
HOSTILE = {
    "truncated": GOOD[: len(GOOD) // 2],
    "binary junk": "\x00\x01\ufffd\ufffd\x1b[31m\x07PK\x03\x04",
    "huge msg": json.dumps(
        {"category": "AzureFirewallNetworkRule", "properties": {"msg": "X" * 2_000_000}}
    ),  # fmt: skip
    "wrong format": "CEF:0|Microsoft|Azure Firewall|1.0|100|Deny|5|src=10.0.0.1 dst=10.0.0.2",
    "json scalar": "42",
    "array of numbers": "[1, 2, 3]",
    "deep nesting": "[" * 5000 + "]" * 5000,
    "unclosed document": "{",
    "other azure record": json.dumps({"category": "ApplicationGatewayAccessLog", "x": 1}),
    "msg not a request": json.dumps(
        {"category": "AzureFirewallNetworkRule", "properties": {"msg": "hello"}}
    ),  # fmt: skip
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_line_is_unreadable_at_its_position(text: str) -> None:
    results = list(FORMAT.parse([(1, GOOD), (2, text), (3, GOOD)], "hostile.json"))

    assert [(r.line, type(r).__name__) for r in results if r.line != 2] == [
        (1, "Event"), (3, "Event"),
    ]  # fmt: skip
    bad = [r for r in results if r.line == 2]
    assert bad and all(isinstance(r, Unreadable) for r in bad)  # one per record of the line
    assert all(r.path == "hostile.json" and len(r.text) <= azure_firewall.MAX_TEXT for r in bad)


def test_registry_knows_and_sniffs_the_format() -> None:
    assert get_format("azure_firewall") is FORMAT
    sample = (DATA / "azure/azure-firewall-networkrules-raw.log").read_text().splitlines()
    assert sniff_format(sample, "fw.log").name == "azure_firewall"
    pretty = (DATA / "azure/azfw-documented-forms.json").read_text().splitlines()[:20]
    assert sniff_format(pretty, "fw.json").name == "azure_firewall"
