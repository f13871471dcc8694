"""Suricata parser: real EVE and fast.log samples (manifest), DNS shapes, hostile input."""

from __future__ import annotations

import json

import pytest

from indicia.logs import suricata
from indicia.logs.base import Event, Unreadable
from indicia.logs.registry import get_format, sniff_format

from .manifest_check import DATA

FORMAT = suricata.FORMAT


def eve(**values: object) -> str:
    record = {"timestamp": "2024-01-01T00:00:00.000000+0000", "src_ip": "10.0.0.1", **values}
    return json.dumps(record)


def test_dns_v2_grouped_answers_join_without_duplicates() -> None:
    dns = {"version": 2, "type": "answer", "rrname": "a.example", "rrtype": "A",
           "answers": [{"rrname": "a.example", "rrtype": "A", "rdata": "192.0.2.1"}],
           "grouped": {"A": ["192.0.2.1", "192.0.2.2"]}}  # fmt: skip
    [event] = FORMAT.parse([(1, eve(event_type="dns", dns=dns))], "eve.json")

    assert isinstance(event, Event)
    assert event.fields["dns.answers.data"] == ["192.0.2.1", "192.0.2.2"]


def test_absolute_http_url_is_kept_and_port_goes_into_the_url() -> None:
    proxied = {"hostname": "x.example", "url": "http://y.example/a", "http_port": 3128}
    direct = {"hostname": "2001:db8::8", "url": "/b", "http_port": 8080}
    lines = [(1, eve(event_type="http", http=proxied)), (2, eve(event_type="http", http=direct))]
    results = list(FORMAT.parse(lines, "eve.json"))

    assert [r.fields["url.full"] for r in results if isinstance(r, Event)] == [
        "http://y.example/a", "http://[2001:db8::8]:8080/b",
    ]  # fmt: skip


def test_stats_record_is_an_event_with_its_counters() -> None:
    stats = {"uptime": 10, "decoder": {"pkts": 5, "ipv4": {"fragments": 1}}}
    [event] = FORMAT.parse([(1, eve(event_type="stats", stats=stats))], "eve.json")

    assert isinstance(event, Event)
    assert event.fields["suricata.stats.decoder.ipv4.fragments"] == 1


GOOD = (DATA / "suricata/suricata-eve-small.log").read_text().splitlines()[1]
HOSTILE = {
    "truncated": GOOD[: len(GOOD) // 2],
    "binary junk": "\x00\x01\ufffd\x1b[31m\x07",
    "huge line": '{"event_type": "' + "E" * 2_000_000,
    "no event_type": json.dumps({"timestamp": "2024-01-01T00:00:00Z", "src_ip": "10.0.0.1"}),
    "event_type not text": json.dumps({"event_type": 7}),
    "json array": "[1, 2]",
    "deep nesting": "{" + '"a":{' * 3000 + "}" * 3001,
    "fast.log cut": "08/02/2014-10:50:25.823699  [**] [1:6:1] (null) [**]",
    "wrong format": "#separator \\x09",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_line_is_unreadable_at_its_position(text: str) -> None:
    results = list(FORMAT.parse([(1, GOOD), (2, text), (3, GOOD)], "eve.json"))

    assert [(r.line, type(r).__name__) for r in results] == [
        (1, "Event"), (2, "Unreadable"), (3, "Event"),
    ]  # fmt: skip
    assert isinstance(results[1], Unreadable) and len(results[1].text) <= suricata.MAX_TEXT


def test_deep_but_valid_record_is_an_event_with_bounded_fields() -> None:
    nested: dict[str, object] = {"leaf": 1}
    for _ in range(50):
        nested = {"n": nested}
    [event] = FORMAT.parse([(1, eve(event_type="weird", weird=nested))], "eve.json")

    assert isinstance(event, Event)
    assert not any(name.endswith(".leaf") for name in event.fields)  # below FLATTEN_DEPTH


def test_registry_knows_and_sniffs_the_format() -> None:
    assert get_format("suricata") is FORMAT
    for name in ("suricata/suricata-eve-small.log", "suricata/http2-files_fast.log"):
        sample = (DATA / name).read_text().splitlines()
        assert sniff_format(sample, name).name == "suricata"
