"""Syslog parser: RFC 5424 / RFC 3164 headers, structured data (C024), vendor bodies, samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from indicia.errors import InputError
from indicia.logs import syslog
from indicia.logs.base import Event, Unreadable

from .manifest_check import check_entry, manifest_cases, run_file

CASES = Path(__file__).parents[1] / "data" / "cases" / "cases.jsonl"


def _cases(*ids: str) -> list[dict[str, Any]]:
    rows = [orjson.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines()]
    return [row for row in rows if row["id"] in ids]


def _event(line: str) -> Event:
    return syslog.to_event(line, "t.log", 1, year=2024)


@pytest.mark.parametrize(("family", "entry"), manifest_cases("syslog", "syslog"))
def test_real_samples(family: str, entry: dict[str, Any]) -> None:
    check_entry(run_file(syslog.parse, family, entry), entry)


@pytest.mark.parametrize("case", _cases("C024"), ids=lambda case: case["id"])
def test_field_case(case: dict[str, Any]) -> None:
    expected = case["expected"]
    event = _event(case["input"])
    assert event.fields["host.name"] == expected["hostname"]
    assert event.fields["log.syslog.appname"] == expected["app_name"]
    assert event.fields["log.syslog.msgid"] == expected["msgid"]
    assert event.fields["syslog.structured_data"] == expected["structured_data"]
    assert event.fields["message"] == expected["msg"]
    # the flat copy the matchers read carries the single-backslash path too
    assert event.fields["syslog.sd.ex@32473.path"] == "C:\\Temp\\x.exe"


@pytest.mark.parametrize(
    ("sd", "expected", "rest"),
    [
        ('[a x="1"]', {"a": {"x": "1"}}, ""),
        ('[a x="1" y=""][b@1 z="q"] msg', {"a": {"x": "1", "y": ""}, "b@1": {"z": "q"}}, " msg"),
        (r'[a v="\\"]', {"a": {"v": "\\"}}, ""),
        (r'[a v="\\\""]', {"a": {"v": '\\"'}}, ""),
        (r'[a v="x\]y\z"]', {"a": {"v": "x]y\\z"}}, ""),  # RFC 5424 6.3.3: \z stays as written
        ('[a v="[nested] ok"]', {"a": {"v": "[nested] ok"}}, ""),
        ('[timeQuality tzKnown="1"]', {"timeQuality": {"tzKnown": "1"}}, ""),
        ("[origin]", {"origin": {}}, ""),
    ],
)
def test_structured_data(sd: str, expected: dict[str, dict[str, str]], rest: str) -> None:
    assert syslog.parse_structured_data(sd) == (expected, rest)


@pytest.mark.parametrize(
    ("sd", "reason"),
    [
        ('[a x="1"', "element 'a' is not closed"),
        ('[a x="1]', "a value is not closed"),
        ("[a x=1]", "no quoted value"),
        ('[a x="1"junk]', "unexpected 'j'"),
        ("[]", "empty name at column 2"),
    ],
)
def test_structured_data_errors(sd: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        syslog.parse_structured_data(sd)


def test_rfc5424_full_header() -> None:
    line = (
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su 77 ID47 - \ufeff'su root' failed"
    )
    event = _event(line)
    assert event.timestamp == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)
    assert event.fields["log.syslog.priority"] == 34
    assert event.fields["log.syslog.procid"] == "77"
    assert event.fields["message"] == "'su root' failed"  # BOM removed (RFC 5424 6.4)
    assert "syslog.structured_data" not in event.fields


def test_rfc5424_nil_values_and_offset() -> None:
    event = _event("<165>1 2003-08-24T05:14:15.000003-07:00 - - - - - from 198.51.100.7 port 22")
    assert event.timestamp == datetime(2003, 8, 24, 12, 14, 15, 3, tzinfo=UTC)
    assert "host.name" not in event.fields and "log.syslog.appname" not in event.fields
    assert event.fields["source.ip"] == "198.51.100.7"
    assert event.fields["source.port"] == 22


@pytest.mark.parametrize(
    ("line", "host", "app", "pid", "message"),
    [
        (
            "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: auth failure",
            "combo",
            "sshd(pam_unix)",
            "19939",
            "auth failure",
        ),
        (
            "Jun  4 01:02:03 host1 kernel: Linux version 2.6",
            "host1",
            "kernel",
            None,
            "Linux version 2.6",
        ),
        (
            "Jun  4 01:02:03 host1 syslogd 1.4.1: restart.",
            "host1",
            None,
            None,
            "syslogd 1.4.1: restart.",
        ),
        ("<13>Jun  4 01:02:03 host1 app: key=a:b", "host1", "app", None, "key=a:b"),
        (
            "2024-04-01T10:00:00.5+02:00 relay01 cron[7]: job done",
            "relay01",
            "cron",
            "7",
            "job done",
        ),
    ],
)
def test_rfc3164_headers(
    line: str, host: str, app: str | None, pid: str | None, message: str
) -> None:
    fields = _event(line).fields
    assert fields["host.name"] == host
    assert fields.get("log.syslog.appname") == app
    assert fields.get("log.syslog.procid") == pid
    assert fields["message"] == message


def test_rfc3164_year_comes_from_argument() -> None:
    line = "Dec 31 23:59:59 h app: x"
    assert syslog.to_event(line, year=1999).timestamp == datetime(
        1999, 12, 31, 23, 59, 59, tzinfo=UTC
    )
    # With no year given, the latest year that does not put the time in the future.
    stamp = syslog.to_event(line).timestamp
    now = datetime.now(UTC)
    assert stamp is not None and now - timedelta(days=366) < stamp <= now + timedelta(days=1)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Accepted publickey for alice from 203.0.113.5 port 50022 ssh2",
            {"source.ip": "203.0.113.5", "source.port": 50022, "user.name": "alice"},
        ),
        (
            "Failed password for root from 2001:db8::7 port 22 ssh2",
            {"source.ip": "2001:db8::7", "user.name": "root"},
        ),
        (
            "client 203.0.113.9 fetched http://bad.example.net/x.sh and mailed ops@example.org",
            {"url.full": "http://bad.example.net/x.sh", "related.ip": ["203.0.113.9"]},
        ),
        (
            "alice/[2001:db8::9]:1194 MULTI: Learn",
            {"source.ip": "2001:db8::9", "user.name": "alice"},
        ),
        ("connection from 999.1.1.1 refused", {"source.ip": None}),
    ],
)
def test_free_text_iocs(message: str, expected: dict[str, object]) -> None:
    fields = _event(f"Jun  4 01:02:03 host1 app[1]: {message}").fields
    assert {key: fields.get(key) for key in expected} == expected


def test_hostile_lines_are_unreadable_with_position() -> None:
    lines = [
        (1, "Jun  4 01:02:03 host1 app: fine"),
        (2, "\x00\x01\x02 binary junk \ufffd"),
        (3, "   "),
        (4, "Jun  4 01:02:03 host1 app: " + "x" * 1_000_000),
        (5, '<165>1 2024-04-01T10:00:00Z h a - - [ex@1 k="unterminated'),
        (6, "<9999999>"),
        (7, '{"json": true}'),
    ]
    results = list(syslog.parse(lines, "h.log", year=2024))
    assert [(type(r).__name__, r.line) for r in results] == [
        ("Event", 1), ("Unreadable", 2), ("Event", 4), ("Unreadable", 5), ("Unreadable", 6),
        ("Unreadable", 7),
    ]  # fmt: skip
    bad = results[3]
    assert isinstance(bad, Unreadable) and "not closed" in bad.reason
    assert all(len(r.text) <= 1000 for r in results if isinstance(r, Unreadable))


def test_sniff() -> None:
    assert syslog.sniff(["Jun 14 15:16:01 combo sshd[1]: x"])
    assert syslog.sniff(['<189>date=2020-04-23 time=01:16:08 devname="a" logid="1"'])
    assert syslog.sniff(["1,2021/03/24 11:30:00,0131,GLOBALPROTECT,0,2305,2021/03/24 11:30:00,v"])
    assert not syslog.sniff(['{"a": 1}', "plain text"])


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("random words only", "no RFC 3164 or RFC 5424 header"),
        ('<1>1 2024-01-01T00:00:00Z h a p m [x y="1"', "element 'x' is not closed"),
    ],
)
def test_to_event_errors_name_the_position(line: str, reason: str) -> None:
    with pytest.raises(InputError, match=rf"f\.log:12: .*{reason}"):
        syslog.to_event(line, "f.log", 12)


def test_short_panos_row_is_unreadable() -> None:
    (result,) = syslog.parse([(3, "1,2021/03/24 11:30:00,x,TRAFFIC,")], "p.log")
    assert isinstance(result, Unreadable)
    assert "of at least 7 columns" in result.reason


def test_panos_unmapped_type_keeps_only_type() -> None:
    line = "1,2024/01/02 03:04:05,0011,SYSTEM,general,0,2024/01/02 03:04:05,,general,,0,0,general"
    fields = syslog.to_event(line).fields
    assert fields["panos.type"] == "SYSTEM"
    assert "source.ip" not in fields and "event.action" not in fields


def test_yearless_time_never_lands_in_the_future() -> None:
    # A December line read in early January belongs to the year before.
    from indicia.logs.times import parse_bsd_time

    now = datetime.now(UTC)
    tomorrow_plus = now + timedelta(days=3)
    text = f"{tomorrow_plus:%b} {tomorrow_plus.day:2d} {tomorrow_plus:%H:%M:%S}"
    stamp = parse_bsd_time(text)

    assert stamp is not None and stamp <= now and stamp.year in (now.year - 1, now.year)


def test_yearless_feb_29_goes_to_the_latest_leap_year() -> None:
    import calendar

    from indicia.logs.times import parse_bsd_time

    now = datetime.now(UTC)
    stamp = parse_bsd_time("Feb 29 12:00:00")

    assert stamp is not None and (stamp.month, stamp.day) == (2, 29)
    assert calendar.isleap(stamp.year) and stamp <= now
    later_leaps = [y for y in range(stamp.year + 1, now.year + 1) if calendar.isleap(y)]
    assert all(datetime(y, 2, 29, 12, tzinfo=UTC) > now for y in later_leaps)


def test_structured_data_values_are_matched_fields() -> None:
    # RFC 5424 7.2.1 origin ip is the originator; IOCs in other SD values join related.*.
    line = (
        '<165>1 2003-10-11T22:14:15.003Z host app - - [origin ip="192.0.2.44"]'
        '[proxy@32473 peer="203.0.113.80" via="cdn.bad.example.net" to="x@bad.example.org"]'
        " fetched from 198.51.100.3"
    )
    fields = syslog.to_event(line).fields

    assert fields["host.ip"] == "192.0.2.44"
    assert fields["related.ip"] == ["192.0.2.44", "203.0.113.80", "198.51.100.3"]
    assert fields["related.hosts"] == ["cdn.bad.example.net"]
    assert fields["related.email"] == ["x@bad.example.org"]
    assert fields["syslog.sd.proxy@32473.peer"] == "203.0.113.80"


def test_an_origin_that_is_not_an_address_is_not_a_host_ip() -> None:
    fields = syslog.to_event('<165>1 - host app - - [origin ip="fw01"] hi').fields
    assert "host.ip" not in fields
