"""Zeek parser: real TSV and JSON logs (manifest), header handling, hostile input."""

from __future__ import annotations

import pytest

from indicia.logs import zeek
from indicia.logs.base import Event, Unreadable
from indicia.logs.registry import get_format, sniff_format

from .manifest_check import DATA

FORMAT = zeek.FORMAT


HEADER = [
    "#separator \\x09",
    "#set_separator\t,",
    "#empty_field\t(empty)",
    "#unset_field\t-",
    "#path\tconn",
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice",
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring",
]
GOOD = "1700000000.5\tCabc\t10.0.0.1\t5000\t203.0.113.7\t443\ttcp\tssl"


def numbered(lines: list[str]) -> list[tuple[int, str]]:
    return list(enumerate(lines, start=1))


def test_header_tells_path_types_and_markers() -> None:
    [event] = FORMAT.parse(numbered([*HEADER, GOOD]), "anything.log")

    assert isinstance(event, Event)
    assert event.timestamp is not None and event.timestamp.isoformat() == (
        "2023-11-14T22:13:20.500000+00:00"
    )
    assert event.fields["event.dataset"] == "zeek.conn"
    assert event.fields["destination.port"] == 443
    assert event.fields["network.protocol"] == "ssl"


def test_custom_separator_and_unset_marker() -> None:
    lines = ["#separator |", "#unset_field|NONE", "#fields|ts|id.orig_h|query", "1.0|10.0.0.9|NONE"]
    [event] = FORMAT.parse(numbered(lines), "dns.log")

    assert isinstance(event, Event)
    assert event.fields["source.ip"] == "10.0.0.9"
    assert "dns.question.name" not in event.fields
    assert event.fields["event.dataset"] == "zeek.dns"  # from the file name: no #path line


def test_new_separator_line_starts_a_new_header() -> None:
    lines = [*HEADER, GOOD, "#close\tx", "#separator \\x09", GOOD]
    results = list(FORMAT.parse(numbered(lines), "conn.log"))

    assert [(r.line, type(r).__name__) for r in results] == [(8, "Event"), (11, "Unreadable")]
    assert isinstance(results[1], Unreadable)
    assert results[1].reason == "Zeek record before any #fields header"


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("dns.log", "dns"),
        ("conn.00:00:00-01:00:00.log.gz", "conn"),
        ("x__http.log.json", "http"),
        ("scripts.base.protocols.http.http-methods__weird.log", "weird"),
        ("zeek-connection-json.log", "conn"),
        ("capture.json", ""),
    ],
)
def test_log_path_from_the_file_name(name: str, path: str) -> None:
    record = '{"ts": 1.0, "uid": "C1", "id.orig_h": "10.0.0.1", "id.orig_p": 1}'
    [event] = FORMAT.parse([(1, record)], name)

    assert isinstance(event, Event)
    assert event.fields.get("event.dataset") == (f"zeek.{path}" if path else None)


def test_json_path_field_wins_over_the_file_name() -> None:
    record = (
        '{"_path": "ssl", "ts": "2024-01-01T00:00:00Z", "uid": "C1", "server_name": "x.example"}'
    )
    [event] = FORMAT.parse([(1, record)], "dns.log")

    assert isinstance(event, Event)
    assert event.fields["event.dataset"] == "zeek.ssl"
    assert event.fields["tls.client.server_name"] == "x.example"


HOSTILE = {
    "truncated": GOOD[: len(GOOD) // 2],
    "binary junk": "\x00\x01\ufffd\x1b[31m\x07",
    "huge line": "Q" * 2_000_000,
    "too many fields": GOOD + "\textra",
    "truncated json": '{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1"',
    "json scalar": "{",
    "wrong format": "CEF:0|Zeek|Zeek|1|1|x|1|src=10.0.0.1",
}


@pytest.mark.parametrize("header", ["#separator", "#separator ", "#fields", "#types\tx\ty"])
def test_broken_header_lines_never_raise(header: str) -> None:
    results = list(FORMAT.parse(numbered([*HEADER, header, GOOD]), "conn.log"))

    assert len(results) == 1 and results[0].line == 9


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_line_is_unreadable_at_its_position(text: str) -> None:
    lines = [*HEADER, GOOD, text, GOOD]
    results = list(FORMAT.parse(numbered(lines), "conn.log"))

    assert [(r.line, type(r).__name__) for r in results] == [
        (8, "Event"), (9, "Unreadable"), (10, "Event"),
    ]  # fmt: skip
    assert isinstance(results[1], Unreadable) and len(results[1].text) <= zeek.MAX_TEXT


def test_value_that_breaks_its_type_is_kept_as_logged() -> None:
    [event] = FORMAT.parse(numbered([*HEADER, GOOD.replace("5000", "http")]), "conn.log")

    assert isinstance(event, Event)
    assert event.fields["source.ip"] == "10.0.0.1"
    assert "source.port" not in event.fields
    assert event.fields["zeek.id.orig_p"] == "http"


def test_masked_and_bad_times_are_none() -> None:
    lines = [
        *HEADER,
        GOOD.replace("1700000000.5", "XXXXXXXXXX.XXXXXX"),
        GOOD.replace("1700000000.5", "1e400"),
    ]
    results = list(FORMAT.parse(numbered(lines), "conn.log"))

    assert [r.timestamp for r in results if isinstance(r, Event)] == [None, None]


def test_registry_knows_and_sniffs_the_format() -> None:
    assert get_format("zeek") is FORMAT
    names = [
        "zeek/opt.basic__dns.log",
        "zeek/zeek-dns-json.log",
        "zeek/scripts.base.frameworks.logging.json-non-printable-escaping__http.log.json",
    ]
    for name in names:
        sample = (DATA / name).read_text().splitlines()
        assert sniff_format(sample, name).name == "zeek"
