"""The C scanner of ECS JSON lines: what it reads, what it leaves to msgspec, and that a file
read through it gives the same columns as the msgspec path alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicia.matching import batch_load
from indicia.matching.batch import BatchEngine
from indicia.matching.batch_load import Loaded, load_jsonl
from indicia.matching.types import IndicatorEntry

SCANNER = batch_load._SCANNER


def test_the_scanner_is_built() -> None:
    # Without it every file takes the msgspec path: correct, but several times slower.
    assert SCANNER is not None


def _scan(text: bytes) -> dict[str, Any] | None:
    """Field -> per-row values of the scanner's columns (scalar and list parts), or None."""
    assert SCANNER is not None
    scanned = SCANNER.scan(text)
    if scanned is None:
        return None
    rows, found = scanned
    columns: dict[str, Any] = {"rows": rows}
    for spelling, shape, array in batch_load._scanned_arrays(rows, found):
        array.validate(full=True)
        columns[f"{'/'.join(spelling.keys)}/{shape}"] = array.to_pylist()
    return columns


def test_reads_nested_and_dotted_spellings_with_exact_values() -> None:
    text = (
        b'{"@timestamp":"2024-06-01T00:00:00Z","source":{"ip":"192.0.2.1","port":51000},'
        b'"destination.ip":"198.51.100.7","event":{"action":"allow","n":[1,2.5e3,{"x":null}]}}\n'
        b"\n"
        b' {"url":{"full":"https:\\/\\/evil.example\\/a\\"b","domain":"caf\\u00e9.example"}} \r\n'
        b'{"related":{"ip":["192.0.2.9","2001:db8::1"]},"source":{"port":-1,"ip":null}}'
    )
    assert _scan(text) == {
        "rows": 4,
        "@timestamp/scalar": ["2024-06-01T00:00:00Z", None, None, None],
        "source/ip/scalar": ["192.0.2.1", None, None, None],
        "source/port/scalar": [51000, None, None, -1],
        "destination.ip/scalar": ["198.51.100.7", None, None, None],
        "url/full/scalar": [None, None, 'https://evil.example/a"b', None],
        "url/domain/scalar": [None, None, "café.example", None],
        "related/ip/list": [None, None, None, ["192.0.2.9", "2001:db8::1"]],
    }


def test_decodes_escapes_and_surrogate_pairs() -> None:
    text = b'{"user":{"email":"a\\tb\\u0041\\ud83d\\ude00\\\\"}}\n'
    assert _scan(text) == {"rows": 1, "user/email/scalar": ["a\tbA\U0001f600\\"]}


def test_a_port_outside_32_bits_is_no_port() -> None:
    text = b'{"source":{"port":4294967296}}\n{"source":{"port":443}}\n'
    assert _scan(text) == {"rows": 2, "source/port/scalar": [None, 443]}


@pytest.mark.parametrize(
    "line",
    [
        b'{"source":{"ip":"192.0.2.1"}} {"source":{"ip":"192.0.2.2"}}',  # two objects
        b'{"source":{"ip":"192.0.2.1"}',  # unterminated
        b'["192.0.2.1"]',  # not an object
        b'{"source.ip":"a","source.ip":"b"}',  # repeated key: msgspec keeps the last
        b'{"source":{"ip":"a"},"source":{"ip":"b"}}',  # repeated parent
        b'{"source":{"ip":1}}',  # a number where text belongs: msgspec's path writes "1"
        b'{"source":{"ip":true}}',
        b'{"source":{"ip":{"x":1}}}',
        b'{"source":"192.0.2.1"}',  # a value where an object belongs
        b'{"related":{"ip":["a",1]}}',  # an array with a number
        b'{"source":{"port":80.0}}',  # msgspec's path turns it into 80
        b'{"source":{"port":"443"}}',
        b'{"@timestamp":1717200000}',
        b'{"sourc\\u0065":{"ip":"192.0.2.1"}}',  # an escaped key could spell a known one
        b'{"x":"\\ud800"}',  # a lone surrogate
        b'{"x":"\\udc00"}',
        b'{"x":"\xff"}',  # invalid UTF-8, even where nothing is read
        b'{"x":"\xed\xa0\x80"}',  # an encoded surrogate
        b'{"x":"a\x01"}',  # a raw control character
        b'{"x":01}',
        b'{"x":1.}',
        b'{"x":[1,]}',
        b'{"x":{"y":1,}}',
        b'{"x":tru}',
        b'\x0c{"x":1}',
        b'{"dns":{"answers":[{"data":"evil.example"}]}}',  # object arrays: msgspec's path
        b'{"a":' * 70 + b"1" + b"}" * 70,  # deeper than the scanner goes
    ],
)
def test_leaves_lines_it_cannot_read_exactly_to_msgspec(line: bytes) -> None:
    good = b'{"source":{"ip":"192.0.2.1"}}\n'
    assert _scan(good + line + b"\n" + good) is None


def test_takes_blank_lines_and_unknown_content() -> None:
    text = b'\n \t\x0b\x0c\r\n{"dns":{"answers":null},"zz":{"a":[[],{},"\\u00e9",-0.5e-3]}}\n'
    assert _scan(text) == {"rows": 3}


# ---- the same columns with and without the scanner, on generated lines ----

_KEYS = ["source", "ip", "port", "url", "full", "domain", "related", "hosts", "x", "@timestamp"]
_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(["192.0.2.1", "evil.example", "https://evil.example/x", "-", "é\u2028"]),
)
_json = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=3)
    ),
    max_leaves=8,
)
_document = st.dictionaries(
    st.sampled_from(
        [*_KEYS, "source.ip", "source.port", "url.full", "related.hosts", "destination.ip"]
    ),
    _json,
    max_size=5,
)


def _line(document: dict[str, Any], ascii_only: bool, spacing: bool) -> bytes:
    separators = (", ", " : ") if spacing else (",", ":")
    return json.dumps(document, ensure_ascii=ascii_only, separators=separators).encode()


_lines = st.lists(
    st.one_of(
        st.builds(_line, _document, st.booleans(), st.booleans()),
        st.sampled_from([b"", b"  ", b"{", b"[]", b"nope", b'{"source":{"ip":"192.0.2.1"}}x']),
    ),
    max_size=12,
)


def _view(loaded: Loaded) -> dict[str, Any]:
    """What the match plan reads of a load: per field, per row, the values; times; ports."""
    rows: dict[str, list[list[str]]] = {}
    for column in loaded.columns:
        values = loaded.table.column(column.name).to_pylist()
        target = rows.setdefault(column.field, [[] for _ in range(loaded.lines)])
        for row, value in enumerate(values):
            if isinstance(value, list):
                target[row].extend(value)
            elif value is not None:
                target[row].append(value)
    return {
        "lines": loaded.lines,
        "unreadable": loaded.unreadable,
        "rows": {field: values for field, values in rows.items() if any(values)},
        "times": loaded.events.stamps.to_pylist(),
        "ports": {name: values.to_pylist() for name, values in loaded.events.ports.items()},
    }


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=_lines, final_newline=st.booleans())
def test_scanner_and_msgspec_path_read_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[bytes], final_newline: bool
) -> None:
    path = tmp_path / "events.jsonl"
    text = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    path.write_bytes(text)

    with_scanner = _view(load_jsonl(path))
    with monkeypatch.context() as patch:
        patch.setattr(batch_load, "_SCANNER", None)
        without = _view(load_jsonl(path))

    assert with_scanner == without


def test_a_refused_block_is_read_by_msgspec_and_the_rest_by_the_scanner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small blocks: the first and last are scanned, the middle one (a bad line) is not.
    monkeypatch.setattr(batch_load, "FIRST_CHUNK_LINES", 3)
    monkeypatch.setattr(batch_load, "SCAN_BYTES", 64)
    good = b'{"source":{"ip":"192.0.2.%d"}}\n'
    text = (
        b"".join(good % n for n in range(3))
        + b"{broken\n"
        + b"".join(good % n for n in range(3, 9))
    )
    path = tmp_path / "events.jsonl"
    path.write_bytes(text)
    calls: list[bool] = []
    assert SCANNER is not None

    class Counting:
        def scan(self, block: bytes) -> Any:
            result = SCANNER.scan(block)
            calls.append(result is not None)
            return result

    monkeypatch.setattr(batch_load, "_SCANNER", Counting())

    loaded = load_jsonl(path)

    assert calls[0] is True and False in calls and calls[-1] is True
    assert loaded.unreadable == (4,)
    assert _view(loaded)["rows"]["source.ip"] == [[f"192.0.2.{n}"] for n in range(3)] + [[]] + [
        [f"192.0.2.{n}"] for n in range(3, 9)
    ]


@pytest.mark.parametrize("with_scanner", [True, False], ids=["scanner", "msgspec"])
def test_lines_longer_than_a_block_are_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_scanner: bool
) -> None:
    pad = "x" * 300
    lines = [f'{{"source":{{"ip":"192.0.2.{n}"}},"pad":"{pad * n}"}}' for n in range(1, 8)]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines), "utf-8")  # and no line end after the last
    monkeypatch.setattr(batch_load, "FIRST_CHUNK_LINES", 2)
    monkeypatch.setattr(batch_load, "SCAN_BYTES", 16)
    monkeypatch.setattr(batch_load, "CHUNK_BYTES", 16)
    if not with_scanner:
        monkeypatch.setattr(batch_load, "_SCANNER", None)

    loaded = load_jsonl(path)

    assert loaded.lines == 7 and loaded.unreadable == ()
    assert _view(loaded)["rows"]["source.ip"] == [[f"192.0.2.{n}"] for n in range(1, 8)]


# ---- regressions from QA: inputs where the two paths once disagreed ----


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], dict[str, Any]]:
    with_scanner = _view(load_jsonl(path))
    with monkeypatch.context() as patch:
        patch.setattr(batch_load, "_SCANNER", None)
        return with_scanner, _view(load_jsonl(path))


@pytest.mark.parametrize(
    "text",
    [
        b'{"source":{"ip":"192.0.2.1"},"x":1e400}\n',
        b'{"source":{"ip":"192.0.2.2"},"x":-1e400}\n{"source":{"ip":"192.0.2.1"}}\n',
    ],
)
def test_a_number_beyond_double_range_is_still_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: bytes
) -> None:
    # RFC 8259 6 lets a reader limit the range of numbers, not reject the line.
    path = tmp_path / "events.jsonl"
    path.write_bytes(text)
    scanned, plain = _both(path, monkeypatch)
    assert scanned == plain
    assert plain["unreadable"] == ()
    assert plain["rows"]["source.ip"][0] == ["192.0.2.1" if b"-1e400" not in text else "192.0.2.2"]


def test_nan_is_still_not_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"source":{"ip":"192.0.2.1"},"x":NaN,"y":1e400}\n')
    scanned, plain = _both(path, monkeypatch)
    assert scanned == plain and plain["unreadable"] == (1,)


def test_a_port_column_of_only_out_of_range_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"source":{"port":4294967296}}\n')
    scanned, plain = _both(path, monkeypatch)
    assert scanned == plain
    assert plain["ports"] == {"source.port": [None]}


def test_a_block_after_a_scanned_block_reads_as_if_msgspec_had_read_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1000 scanned lines, then one whose unknown field holds invalid UTF-8: msgspec's typed
    # decoder skips that field once its schema knows source.ip, so the line is readable.
    path = Path(__file__).parent / "scan_cases" / "invalid_utf8_after_scanned_block.jsonl"
    scanned, plain = _both(path, monkeypatch)
    assert scanned == plain
    assert plain["lines"] == 1001 and plain["unreadable"] == ()


def test_a_scanner_is_set_up_once() -> None:
    from indicia.matching import _ecs_scan

    scanner = _ecs_scan.Scanner([((b"a",), _ecs_scan.VALUE)])
    with pytest.raises(RuntimeError):
        scanner.__init__([((b"b%d" % n,), _ecs_scan.VALUE) for n in range(400)])
    assert scanner.scan(b'{"a":"x"}\n') is not None


@pytest.mark.parametrize(
    ("line", "unreadable"),
    [
        # Deeper than msgspec goes: that line is unreadable, the run goes on.
        (b'{"x":' + b"[" * 5000 + b"]" * 5000 + b"}", (2,)),
        # The typed decoder skips a huge number in a field nothing reads.
        (b'{"x":' + b"9" * 5000 + b"}", ()),
    ],
    ids=["nested-5000-deep", "integer-of-5000-digits"],
)
def test_a_line_no_reader_here_takes_costs_that_line_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: bytes, unreadable: tuple[int, ...]
) -> None:
    path = tmp_path / "events.jsonl"
    good = b'{"source":{"ip":"192.0.2.1"}}\n'
    path.write_bytes(good + line + b"\n" + good)
    scanned, plain = _both(path, monkeypatch)
    assert scanned == plain
    assert plain["lines"] == 3 and plain["unreadable"] == unreadable
    assert plain["rows"]["source.ip"] == [["192.0.2.1"], [], ["192.0.2.1"]]


def test_match_jsonl_reads_a_device_and_refuses_a_folder(tmp_path: Path) -> None:
    from indicia.errors import InputError
    from indicia.matching.batch import BatchEngine

    engine = BatchEngine()
    assert engine.match_jsonl("/dev/null").rows == 0
    with pytest.raises(InputError, match="a folder"):
        engine.match_jsonl(tmp_path)


_SINCE = datetime(2020, 1, 1, tzinfo=UTC)
_CASE_ENTRIES = [
    IndicatorEntry("indicator--a", "ipv4-addr", "192.0.2.0/24", _SINCE),
    IndicatorEntry("indicator--b", "domain-name", "late.example", _SINCE),
    IndicatorEntry("indicator--c", "domain-name", "bad.test", _SINCE),
]


@pytest.mark.parametrize(
    ("name", "lines", "unreadable", "matches"),
    [
        ("surrogate_after_huge_number.jsonl", 1, (1,), 0),
        ("surrogate_after_2000_good.jsonl", 2006, (2001,), 2005),
        ("bad_utf8_first.jsonl", 1, (), 1),
        ("bad_utf8_second.jsonl", 2, (), 1),
        ("bom_first_line.jsonl", 2, (), 2),
        ("timestamp_shapes.jsonl", 5, (), 5),
        ("year5digits.jsonl", 1, (), 1),
    ],
)
def test_field_inputs_cost_only_their_own_line(
    name: str,
    lines: int,
    unreadable: tuple[int, ...],
    matches: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = Path(__file__).parent / "scan_cases" / name
    results = []
    for scanner in (batch_load._SCANNER, None):
        monkeypatch.setattr(batch_load, "_SCANNER", scanner)
        engine = BatchEngine()
        engine.load(_CASE_ENTRIES)
        result = engine.match_jsonl(path)
        # Every event time is one Python can hold (a year past 9999 used to break to_pylist).
        rows = result.matches.to_pylist()
        assert all(row["event_time"] is None or row["event_time"].year < 10000 for row in rows)
        results.append((result.rows, result.unreadable_lines, rows))
    assert results[0] == results[1]
    assert results[0][:2] == (lines, unreadable)
    assert len(results[0][2]) == matches
