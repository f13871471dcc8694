"""Sentinel CommonSecurityLog CSV export: the real 154-column SUNBURST record, and edge cases."""

from __future__ import annotations

from typing import Any

import pytest

from indicia.logs import commonsecuritylog as csl
from indicia.logs.base import Event, Unreadable

from .manifest_check import check_entry, manifest_cases, run_file

HEADER = (
    "TimeGenerated [UTC],DeviceVendor,DeviceProduct,SourceIP,DestinationIP,RequestURL,FileHash,"
    "Message"
)


@pytest.mark.parametrize(("family", "entry"), manifest_cases("cef", "commonsecuritylog"))
def test_real_sample(family: str, entry: dict[str, Any]) -> None:
    check_entry(run_file(csl.parse, family, entry), entry)


def test_multiline_cells_and_mapping() -> None:
    sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    lines = [
        (1, HEADER),
        (2, '"4/7/2021, 5:14:23.000 AM",Zscaler,NSS,192.0.2.1,198.51.100.2,'),
        (3, f'https://Evil.example.net:8443/a?b=1,{sha},"two'),
        (4, 'lines"'),
    ]
    lines[1] = (2, lines[1][1] + lines[2][1])
    lines.pop(2)
    (event,) = csl.parse(lines, "c.csv")
    assert isinstance(event, Event)
    assert event.line == 2
    assert event.fields["url.full"] == "https://Evil.example.net:8443/a?b=1"
    assert event.fields["url.domain"] == "Evil.example.net"
    assert event.fields["file.hash.sha256"] == sha
    assert event.fields["message"] == "two\nlines"
    assert event.fields["observer.vendor"] == "Zscaler"


def test_time_generated_iso() -> None:
    lines = [(1, HEADER), (2, "2024-06-01T12:00:00.5Z,V,P,192.0.2.1,,,,")]
    (event,) = csl.parse(lines, "c.csv")
    assert isinstance(event, Event)
    assert (
        event.timestamp is not None
        and event.timestamp.isoformat() == "2024-06-01T12:00:00.500000+00:00"
    )
    assert "destination.ip" not in event.fields


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ([(1, "a,b,c"), (2, "1,2,3")], "no CommonSecurityLog header"),
        ([(1, HEADER), (2, "1,2")], "record has 2 cells, the header 8"),
        ([(1, HEADER), (2, "\x00\x01,\xff")], "record has 2 cells"),
    ],
)
def test_unreadable(lines: list[tuple[int, str]], reason: str) -> None:
    results = list(csl.parse(lines, "c.csv"))
    bad = [r for r in results if isinstance(r, Unreadable)]
    assert bad and reason in bad[0].reason


def test_sniff() -> None:
    assert csl.sniff([HEADER])
    assert not csl.sniff(["Timestamp,Policy Identity,InternalIp"])


def test_unbalanced_quote_cannot_swallow_the_file() -> None:
    lines = [(1, HEADER), (2, '2024-06-01T12:00:00Z,V,"P')]
    lines += [(n, "x") for n in range(3, 3 + csl.MAX_RECORD_LINES + 5)]
    results = list(csl.parse(lines, "c.csv"))
    last = 3 + csl.MAX_RECORD_LINES + 5
    # the first record stops after MAX_RECORD_LINES lines; each later line stands alone
    assert [r.line for r in results] == [2, *range(2 + csl.MAX_RECORD_LINES, last)]
    assert all(isinstance(r, Unreadable) for r in results)
