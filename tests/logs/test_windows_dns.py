"""Windows DNS debug log and analytical events, on lines built to the documented layouts.

No real sample could be shared, so tests/data/logs/dns/windows-dns-*.{log,jsonl} follow the legend
the server writes at the top of dns.log and the analytical event fields listed in Microsoft's
"DNS Logging and Diagnostics" (see tests/data/logs/dns/SOURCES.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from indicia.logs import windows_dns
from indicia.logs.base import Event, Unreadable

from .manifest_check import check_entry, manifest_cases, run_file

QUERY = (
    "6/5/2013 10:00:32 AM 0E70 PACKET  00000000033397A0 UDP Rcv 10.161.60.71    5b47   Q "
    "[0001   D   NOERROR] A      (12)somecomputer(6)domain(3)com(0)"
)


@pytest.mark.parametrize(("family", "entry"), manifest_cases("dns", "windows_dns"))
def test_documented_samples(family: str, entry: dict[str, Any]) -> None:
    check_entry(run_file(windows_dns.parse, family, entry), entry)


@pytest.mark.parametrize(
    ("wire", "name"),
    [
        ("(3)www(7)example(3)com(0)", "www.example.com"),
        ("(12)somecomputer(6)domain(3)com(0)", "somecomputer.domain.com"),
        ("(0)", ""),
        ("(5)a(1)b(3)com(0)", "a(1)b.com"),  # a length covers a "(1)" inside the label
        ("(3)www(7)exam", "www.exam"),  # truncated: best effort, never an exception
        ("plain.name", "plain.name"),
    ],
)
def test_decode_wire_name(wire: str, name: str) -> None:
    assert windows_dns.decode_wire_name(wire) == name


def test_documented_example_line() -> None:
    (event,) = windows_dns.parse([(1, QUERY)], "dns.log")
    assert isinstance(event, Event)
    assert event.fields["dns.question.name"] == "somecomputer.domain.com"
    assert event.fields["client.ip"] == "10.161.60.71"
    assert (
        event.timestamp is not None and event.timestamp.isoformat() == "2013-06-05T10:00:32+00:00"
    )


@pytest.mark.parametrize(
    "line",
    [
        QUERY[:60],
        QUERY.replace("PACKET ", "PACKET", 1).replace("Rcv", "Xyz"),
        "\x00\x00\x00garbage",
        "{not json",
        '"a string"',
        QUERY + " trailing junk",
    ],
)
def test_hostile_lines(line: str) -> None:
    (result,) = windows_dns.parse([(9, line)], "dns.log")
    assert isinstance(result, Unreadable)
    assert (result.path, result.line) == ("dns.log", 9)


def test_legend_lines_are_skipped_not_dropped() -> None:
    lines = [
        (1, "DNS Server log file creation at 4/21/2021 3:44:50 PM"),
        (2, "\t  12     [ Flags (hex)"),
    ]
    assert list(windows_dns.parse(lines, "dns.log")) == []


def test_sniff() -> None:
    assert windows_dns.sniff([QUERY])
    assert windows_dns.sniff(["DNS Server log file creation at 1/1/2024 1:00:00 AM"])
    assert windows_dns.sniff(['{"EventData": {"QNAME": "a.", "InterfaceIP": "192.0.2.1"}}'])
    assert not windows_dns.sniff(['{"QNAME": "a."}', "Jun 14 15:16:01 combo sshd[1]: x"])
