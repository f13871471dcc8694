"""CEF parser: real samples (manifest), case C025, escapes, syslog prefixes and the CEF writer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from indicia.errors import InputError
from indicia.logs import cef
from indicia.logs.base import Event, Unreadable
from indicia.matching.batch import BatchEngine
from indicia.matching.stream import StreamEngine
from indicia.matching.types import IndicatorEntry
from indicia.matching.warninglists import default_warninglists

from .manifest_check import check_entry, manifest_cases, run_file

CASES = Path(__file__).parents[1] / "data" / "cases" / "cases.jsonl"


def _case(case_id: str) -> dict[str, Any]:
    for line in CASES.read_text(encoding="utf-8").splitlines():
        case = orjson.loads(line)
        if case["id"] == case_id:
            return case  # type: ignore[no-any-return]
    raise LookupError(case_id)


def _event(line: str) -> Event:
    return cef.to_event(line, "t.cef", 1, year=2024)


@pytest.mark.parametrize(("family", "entry"), manifest_cases("cef", "cef"))
def test_real_samples(family: str, entry: dict[str, Any]) -> None:
    check_entry(run_file(cef.parse, family, entry), entry)


@pytest.mark.parametrize("case_id", ["C025"])
def test_field_case(case_id: str) -> None:
    case = _case(case_id)
    expected = case["expected"]
    header, pairs = cef.parse_record(case["input"])
    assert len(pairs) == expected["extension_keys"]
    for key in ("src", "request", "dst", "cs1Label", "cs1"):
        assert pairs[key] == expected[key]

    event = _event(case["input"])
    assert event.fields["url.full"] == expected["request"]
    assert event.fields["url.domain"] == "shop.example.com"
    assert event.fields["cef.note"] == expected["cs1"]
    assert event.fields["destination.ip"] == expected["dst"]


@pytest.mark.parametrize("case_id", ["C025"])
def test_field_case_url_indicator_alerts_with_the_default_warninglists(case_id: str) -> None:
    # example.com is on the top-site lists; a URL with a path on it is still a specific resource.
    case = _case(case_id)
    (key,) = [k for k, v in case["expected"].items() if k.startswith("url_indicator_")]
    url = key.removeprefix("url_indicator_")
    entry = IndicatorEntry("indicator--c025", "url", url, datetime(2020, 1, 1, tzinfo=UTC))
    engine = BatchEngine(warninglists=default_warninglists())
    engine.load([entry])

    results = list(engine.match([_event(case["input"])]))

    assert case["expected"][key] == "matches"
    # request fills url.full and url.original; both are hits, neither withheld.
    assert sorted((type(r).__name__, r.indicator_id, r.field) for r in results) == [
        ("Match", "indicator--c025", "url.full"),
        ("Match", "indicator--c025", "url.original"),
    ]


@pytest.mark.parametrize(
    ("extension", "expected"),
    [
        # every escape of the extension (CEF rev. 25): \= \\ \n \r; others stay as written
        (r"msg=a\=b", {"msg": "a=b"}),
        (r"msg=C:\\Temp\\x.exe", {"msg": "C:\\Temp\\x.exe"}),
        (r"msg=line1\nline2\rend", {"msg": "line1\nline2\rend"}),
        (r"msg=keep \t and \q", {"msg": "keep \\t and \\q"}),
        (r"msg=ends in \\ dst=1.2.3.4", {"msg": "ends in \\", "dst": "1.2.3.4"}),
        # an escaped '=' never starts a key, an unescaped one inside a word does not either
        (r"request=/a?x\=1 y\=2 src=10.0.0.1", {"request": "/a?x=1 y=2", "src": "10.0.0.1"}),
        ("msg=lang=en dst=10.0.0.2", {"msg": "lang=en", "dst": "10.0.0.2"}),
        # values run to the next key, spaces inside kept, padding around trimmed
        ("cs1=My App 1 cs1Label=appName", {"cs1": "My App 1", "cs1Label": "appName"}),
        ("  app=HTTP   cs5=N/A   ", {"app": "HTTP", "cs5": "N/A"}),
        ("pipes=a|b|c", {"pipes": "a|b|c"}),
        ("", {}),
        ("no pairs at all", {"": "no pairs at all"}),
    ],
)
def test_split_extension(extension: str, expected: dict[str, str]) -> None:
    assert cef.split_extension(extension) == expected


@pytest.mark.parametrize(
    ("record", "header"),
    [
        (r"CEF:0|Ex|GW|1|100|Blocked a\|b|5|", ["0", "Ex", "GW", "1", "100", "Blocked a|b", "5"]),
        (r"CEF:0|Ex\\|GW|1|100|n|5|", ["0", "Ex\\", "GW", "1", "100", "n", "5"]),
        ("CEF: 1|||||N/A|Low|", ["1", "", "", "", "", "N/A", "Low"]),
    ],
)
def test_header_escapes(record: str, header: list[str]) -> None:
    assert cef.parse_record(record)[0][:7] == header


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "<134>Sep 19 13:35:00 fw1.example.net CEF:0|V|P|1|1|n|3|src=192.0.2.1",
            {"host.name": "fw1.example.net", "log.syslog.priority": 134},
        ),
        (
            "<14>1 2021-03-01T20:46:50.869Z relay.example app - msgid - "
            "CEF:0|V|P|1|1|n|3|src=192.0.2.1",
            {
                "host.name": "relay.example",
                "log.syslog.appname": "app",
                "log.syslog.msgid": "msgid",
            },
        ),
        (
            "Mar 1 20:46:50 198.51.100.9 2206 4581 <14>1 2021-03-01T20:46:50Z in.example a - m - "
            "CEF:0|V|P|1|1|n|3|src=192.0.2.1",
            {"host.name": "in.example", "log.syslog.appname": "a"},
        ),
        ("Aug  3 10:49:35 Barracuda CEF: 0|V|P|1|1|n|3| src=192.0.2.1", {"host.name": "Barracuda"}),
    ],
)
def test_syslog_prefixes(line: str, expected: dict[str, object]) -> None:
    event = _event(line)
    assert {key: event.fields.get(key) for key in expected} == expected
    assert event.fields["source.ip"] == "192.0.2.1"


@pytest.mark.parametrize(
    ("rt", "iso"),
    [
        ("1659523775038", "2022-08-03T10:49:35.038+00:00"),
        ("Sep 19 2012 13:53:33", "2012-09-19T13:53:33+00:00"),
        ("Sep 19 2012 13:53:33.250 GMT", "2012-09-19T13:53:33.250+00:00"),
        ("Sep 19 2012 13:53:33 EDT", "2012-09-19T17:53:33+00:00"),
        ("Feb 27 20:16:21", "2024-02-27T20:16:21+00:00"),
        ("2022-07-25T04:56:13-05:00", "2022-07-25T09:56:13+00:00"),
    ],
)
def test_receipt_times(rt: str, iso: str) -> None:
    from datetime import datetime

    event = _event(f"CEF:0|V|P|1|1|n|3|rt={rt} src=192.0.2.1")
    assert event.timestamp == datetime.fromisoformat(iso)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("d41d8cd98f00b204e9800998ecf8427e", "file.hash.md5"),
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "file.hash.sha1"),
        ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "file.hash.sha256"),
        ("ab" * 64, "file.hash.sha512"),
        ("abc123", "file.hash.unknown"),
    ],
)
def test_file_hash_by_length(value: str, name: str) -> None:
    assert _event(f"CEF:0|V|P|1|1|n|3|fileHash={value}").fields[name] == value


def test_custom_labels_and_direction() -> None:
    line = (
        "CEF:0|V|P|1|1|n|3|cs2=Alpha Team cs2Label=team cn1=7 cn1Label=score "
        "deviceDirection=1 shost=10.1.1.1 dhost=www.example.org flexString1=x"
    )
    fields = _event(line).fields
    assert fields["cef.team"] == "Alpha Team"
    assert fields["cef.score"] == "7"
    assert fields["cef.flexString1"] == "x"  # no label: kept under its own key
    assert fields["network.direction"] == "outbound"
    assert fields["source.ip"] == "10.1.1.1"  # an address in shost also fills source.ip
    assert "destination.ip" not in fields
    assert "cef.cs2Label" not in fields


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("CEF:0|Vendor|Product|1.0|100", "5 of 8"),
        ("CEF:x|V|P|1|1|n|3|src=1.2.3.4", "version 'x'"),
        ("Sep 19 13:35:00 host no record here", "no 'CEF:'"),
        ("\x00\x01\x02\xff binary", "no 'CEF:'"),
        (r"CEF:0|a\|b\|c\|d\|e\|f\|g", "2 of 8"),
    ],
)
def test_unreadable_lines(line: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        cef.to_event(line, "bad.cef", 7)
    result = list(cef.parse([(7, line)], "bad.cef"))
    assert len(result) == 1 and isinstance(result[0], Unreadable)
    assert (result[0].path, result[0].line) == ("bad.cef", 7)
    assert reason in result[0].reason


def test_hostile_stream_keeps_positions() -> None:
    huge = "CEF:0|V|P|1|1|n|3|msg=" + "A" * 2_000_000 + " src=192.0.2.7"
    lines = [(1, "CEF:0|V|P|1|1|n|3|src=192.0.2.1"), (2, "garbage"), (3, ""), (4, huge),
             (5, "CEF:0|V|P|1"), (6, "\ufffd\ufffd\x00")]  # fmt: skip
    results = list(cef.parse(lines, "h.cef"))
    assert [(type(r).__name__, r.line) for r in results] == [
        ("Event", 1), ("Unreadable", 2), ("Event", 4), ("Unreadable", 5), ("Unreadable", 6),
    ]  # fmt: skip
    big = results[2]
    assert isinstance(big, Event) and big.fields["source.ip"] == "192.0.2.7"
    assert all(len(r.text) <= 1000 for r in results if isinstance(r, Unreadable))


def test_sniff() -> None:
    assert cef.sniff(["CEF:0|V|P|1|1|n|3|src=1.2.3.4"])
    assert cef.sniff(["<134>Sep 19 13:35:00 h ASM:CEF:0|F5|ASM|1|2|n|5|a=b"])
    assert not cef.sniff(["Jun 14 15:16:01 combo sshd[1]: CEF: not really"])
    assert not cef.sniff(['{"CEF:0|a|b|c|d|e|f|": 1}', "x", "y"])


# ---- writer ------------------------------------------------------------------------------------


@given(name=st.text(max_size=40), value=st.text(max_size=60), other=st.text(max_size=20))
def test_writer_round_trips(name: str, value: str, other: str) -> None:
    # Trailing whitespace of a value cannot survive CEF (a value ends at the last non-space).
    value, other = value.rstrip(), other.rstrip()
    line = cef.format_cef(
        "Indicia", "Matcher", "0.1", "ioc-hit", name, 5, {"msg": value, "cs1": other}
    )
    header, pairs = cef.parse_record(line)
    assert header[5] == name.replace("\r", " ").replace("\n", " ")
    assert pairs == {"msg": value, "cs1": other}


def test_trailing_spaces_are_trimmed() -> None:
    assert cef.split_extension("msg=padded    src=192.0.2.1   ") == {
        "msg": "padded",
        "src": "192.0.2.1",
    }


@pytest.mark.parametrize(
    "attacker",
    [
        "x src=203.0.113.66 act=allow",
        "x\\ dst=203.0.113.66",
        "evil\n<134>Sep 19 13:35:00 host CEF:0|forged|x|1|1|n|10|src=6.6.6.6",
        "a|b|c|d|e|f|g|h",
    ],
)
def test_writer_cannot_forge_keys(attacker: str) -> None:
    line = cef.format_cef(
        "Indicia|x", "P", "1", "1", attacker, 3, {"msg": attacker, "dst": "192.0.2.9"}
    )
    assert "\n" not in line and "\r" not in line
    header, pairs = cef.parse_record(line)
    assert header[1] == "Indicia|x"
    assert set(pairs) == {"msg", "dst"}
    assert pairs["msg"] == attacker
    assert pairs["dst"] == "192.0.2.9"


def test_writer_rejects_bad_key() -> None:
    with pytest.raises(InputError, match="not a plain CEF key"):
        cef.format_cef("V", "P", "1", "1", "n", 1, {"bad key=": "x"})


@pytest.mark.parametrize(
    ("raw", "header", "extension"),
    [
        ("a|b\\c", "a\\|b\\\\c", "a|b\\\\c"),
        ("k=v", "k=v", "k\\=v"),
        ("l1\nl2\r", "l1 l2 ", "l1\\nl2\\r"),
    ],
)
def test_escapers(raw: str, header: str, extension: str) -> None:
    assert cef.escape_cef_header(raw) == header
    assert cef.escape_cef_extension_value(raw) == extension


def test_structured_data_prefix_is_not_shared() -> None:
    line = '<14>1 2024-01-01T00:00:00Z h a - m [x@1 k="v"] CEF:0|V|P|1|1|n|3|src=192.0.2.1'
    first, second = _event(line), _event(line)
    assert first.fields["syslog.structured_data"] == {"x@1": {"k": "v"}}
    assert first.fields["syslog.structured_data"] is not second.fields["syslog.structured_data"]
    assert first.timestamp == second.timestamp


def test_iocs_in_custom_vendor_and_msg_fields_are_matched_fields() -> None:
    line = (
        "CEF:0|Barracuda|WAF|12|100|proxy|5|src=192.0.2.10 cs3Label=ProxyIP cs3=203.0.113.77 "
        "cs1Label=C2 cs1=hxxp://stage[.]bad.example.net/p.bin vendorRef=ref.bad.example.org "
        "c6a1Label=Peer v6 c6a1=2001:db8::66 msg=relay to ops@bad.example.com refused cs2=-"
    )
    fields = _event(line).fields

    assert fields["cef.ProxyIP"] == "203.0.113.77"
    assert fields["related.ip"] == ["203.0.113.77", "2001:db8::66"]
    assert fields["url.full"] == "http://stage.bad.example.net/p.bin"
    assert fields["related.hosts"] == ["ref.bad.example.org"]
    assert fields["related.email"] == ["ops@bad.example.com"]
    assert fields["source.ip"] == "192.0.2.10"


def test_a_custom_field_ioc_raises_an_alert_on_both_engines() -> None:
    event = _event("CEF:0|V|P|1|100|n|5|cs1Label=C2 cs1=203.0.113.77 rt=Jan 01 2024 10:00:02")
    since = datetime(2020, 1, 1, tzinfo=UTC)
    entries = [
        IndicatorEntry("indicator--ip", "ipv4-addr", "203.0.113.77", since),
        IndicatorEntry("indicator--mail", "email-addr", "ops@bad.example.com", since),
    ]
    mail = _event("CEF:0|V|P|1|100|n|5|msg=relay to OPS@bad.example.com refused")
    for engine in (BatchEngine(), StreamEngine()):
        engine.load(entries)
        found = [(m.indicator_id, m.field) for m in engine.match([event, mail])]
        assert found == [("indicator--ip", "related.ip"), ("indicator--mail", "related.email")]
