"""The batch engine's own paths: JSON lines, Arrow tables, index size, warninglists, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from indicia.errors import InputError
from indicia.logs.base import Event
from indicia.matching.batch import SAMPLE_LINES, BatchEngine
from indicia.matching.types import IndicatorEntry, Match, Suppressed
from indicia.matching.warninglists import Warninglists, parse_warninglist

START = datetime(2024, 1, 1, tzinfo=UTC)
ENTRIES = [
    IndicatorEntry(
        "indicator--00000000-0000-4000-8000-00000000000a", "ipv4-addr", "192.0.2.0/24", START
    ),
    IndicatorEntry(
        "indicator--00000000-0000-4000-8000-00000000000b", "domain-name", "evil.example", START
    ),
    IndicatorEntry("indicator--00000000-0000-4000-8000-00000000000c", "sha256", "ab" * 32, START),
    IndicatorEntry("vendor-17", "url", "https://evil.example/drop", START),
]


@pytest.fixture
def engine() -> BatchEngine:
    batch = BatchEngine()
    batch.load(ENTRIES)
    return batch


def _write(path: Path, lines: list[Any]) -> Path:
    text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    columns = ("row", "field", "matched_value", "indicator_id")
    return sorted(zip(*(table.column(c).to_pylist() for c in columns), strict=True))


def test_jsonl_reads_dotted_nested_and_array_fields(engine: BatchEngine, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "events.jsonl",
        [
            {"@timestamp": "2024-06-01T00:00:00Z", "source.ip": "192.0.2.1"},
            {"@timestamp": "2024-06-01T02:00:00+02:00", "source": {"ip": "192.0.2.2"}},
            {"related": {"ip": ["198.51.100.1", "192.0.2.3"], "hosts": ["a.evil.example"]}},
            {"dns": {"answers": [{"data": "cdn.evil.example."}, {"data": "192.0.2.9"}]}},
            {"file": {"hash": {"sha256": "AB" * 32}}, "url.full": "HTTPS://evil.example:443/drop"},
        ],
    )

    result = engine.match_jsonl(path)

    assert _rows(result.matches) == [
        (1, "source.ip", "192.0.2.1", ENTRIES[0].indicator_id),
        (2, "source.ip", "192.0.2.2", ENTRIES[0].indicator_id),
        (3, "related.hosts", "a.evil.example", ENTRIES[1].indicator_id),
        (3, "related.ip", "192.0.2.3", ENTRIES[0].indicator_id),
        (4, "dns.answers.data", "cdn.evil.example", ENTRIES[1].indicator_id),
        (5, "file.hash.sha256", "ab" * 32, ENTRIES[2].indicator_id),
        (5, "url.full", "evil.example", ENTRIES[1].indicator_id),
        (5, "url.full", "https://evil.example/drop", "vendor-17"),
    ]
    assert result.rows == 5


def test_jsonl_reports_unreadable_lines_by_number(engine: BatchEngine, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "events.jsonl",
        [
            '{"source.ip": "192.0.2.1"}',
            "",
            "not json",
            "[1, 2]",
            "   ",
            '{"source.ip": "192.0.2.6"}',
        ],
    )

    result = engine.match_jsonl(path)

    assert result.unreadable_lines == (3, 4)
    assert [row for row, *_ in _rows(result.matches)] == [1, 6]
    assert result.rows == 6


def test_jsonl_field_first_seen_after_the_sample(engine: BatchEngine, tmp_path: Path) -> None:
    # The sample decides which fields to stack; a field appearing later must still be matched.
    lines: list[Any] = [{"source.ip": "203.0.113.1"}] * (SAMPLE_LINES + 5)
    lines.append({"tls": {"client": {"server_name": "www.evil.example"}}})
    path = _write(tmp_path / "late.jsonl", lines)

    result = engine.match_jsonl(path)

    assert _rows(result.matches) == [
        (SAMPLE_LINES + 6, "tls.client.server_name", "www.evil.example", ENTRIES[1].indicator_id)
    ]


def test_jsonl_event_time_decides_validity(tmp_path: Path) -> None:
    batch = BatchEngine()
    batch.load(
        [
            IndicatorEntry(
                "indicator--late",
                "domain-name",
                "late.example",
                START,
                datetime(2024, 3, 1, tzinfo=UTC),
            )
        ]
    )
    path = _write(
        tmp_path / "t.jsonl",
        [
            {"@timestamp": "2024-02-29T23:59:59Z", "dns.question.name": "late.example"},
            {"@timestamp": "2024-03-01T00:00:00Z", "dns.question.name": "late.example"},
            {"@timestamp": "2024-03-01T00:59:59+01:00", "dns.question.name": "late.example"},
            {"dns.question.name": "late.example"},
        ],
    )

    result = batch.match_jsonl(path)

    assert result.matches.column("row").to_pylist() == [1, 3]
    assert result.matches.column("event_time").to_pylist()[0] == datetime(
        2024, 2, 29, 23, 59, 59, tzinfo=UTC
    )


def test_jsonl_missing_file_is_an_input_error(engine: BatchEngine, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        engine.match_jsonl(tmp_path / "absent.jsonl")


def test_match_table_flattens_structs_and_reads_lists(engine: BatchEngine) -> None:
    table = pa.table(
        {
            "source": pa.array([{"ip": "192.0.2.77"}, {"ip": None}]),
            "related.hosts": pa.array([None, ["x.evil.example", "-", "good.example"]]),
        }
    )

    matches = engine.match_table(table)

    assert _rows(matches) == [
        (0, "source.ip", "192.0.2.77", ENTRIES[0].indicator_id),
        (1, "related.hosts", "x.evil.example", ENTRIES[1].indicator_id),
    ]
    assert engine.last_result is not None
    assert (engine.last_result.values, engine.last_result.invalid_values) == (3, 0)


def test_invalid_values_are_counted_not_raised(engine: BatchEngine) -> None:
    events = [Event(None, "t", {"source.ip": "300.1.1.1", "dns.question.name": "a..b", "x": "y"})]

    assert list(engine.match(events)) == []
    assert engine.last_result is not None
    assert engine.last_result.invalid_values == 2


def test_warninglisted_values_come_out_suppressed(engine: BatchEngine) -> None:
    lists = Warninglists(
        [parse_warninglist({"name": "docs-net", "type": "cidr", "list": ["192.0.2.0/25"]}, "t")]
    )
    engine.warninglists = lists
    events = [Event(None, "t", {"related.ip": ["192.0.2.5", "192.0.2.200"]})]

    results = list(engine.match(events))

    suppressed = [r for r in results if isinstance(r, Suppressed)]
    assert [(s.match.matched_value, s.warninglist) for s in suppressed] == [
        ("192.0.2.5", "docs-net")
    ]
    assert [r.matched_value for r in results if isinstance(r, Match)] == ["192.0.2.200"]


def test_load_replaces_the_indicators(engine: BatchEngine) -> None:
    event = Event(None, "t", {"dns.question.name": "evil.example"})
    assert len(list(engine.match([event]))) == 1

    engine.load([])

    assert list(engine.match([event])) == []
    assert engine.index.count == 0


def test_index_stays_under_eighty_bytes_per_indicator() -> None:
    entries = [
        IndicatorEntry(f"indicator--00000000-0000-4000-8000-{n:012x}", kind, value, START)
        for n, (kind, value) in enumerate(_mix(5000))
    ]
    batch = BatchEngine()
    batch.load(entries)

    assert batch.index.count == len(entries)
    assert batch.index.nbytes / batch.index.count <= 80


def _mix(count: int) -> list[tuple[str, str]]:
    # The benchmark's mix: IPv4, CIDRs, domains, URLs and SHA-256 in roughly its proportions.
    values: list[tuple[str, str]] = []
    for n in range(count):
        a, b, c = (n >> 16) & 255, (n >> 8) & 255, n & 255
        values += [
            ("ipv4-addr", f"{11 + a}.{b}.{c}.7"),
            ("domain-name", f"host{n:05d}.example.net"),
            ("url", f"http://site{n:05d}.example.org/path/{n}.php?id={n}"),
            ("sha256", f"{n:064x}"),
        ]
        if n % 6 == 0:
            values.append(("ipv4-addr", f"{11 + a}.{b}.{c}.0/24"))
    return values


@pytest.mark.parametrize("blank_lines", [1, 3, 70])
def test_jsonl_line_numbers_survive_blank_lines(
    engine: BatchEngine, tmp_path: Path, blank_lines: int
) -> None:
    # DuckDB's reader skips blank lines; few are renumbered, many take the line-by-line path.
    lines: list[Any] = []
    for n in range(blank_lines):
        lines += ["", {"source.ip": f"192.0.2.{n % 250}"}, "  "]
    path = _write(tmp_path / "gaps.jsonl", lines)

    result = engine.match_jsonl(path)

    assert result.matches.column("row").to_pylist() == [3 * n + 2 for n in range(blank_lines)]
    assert result.rows == len(lines)
    assert result.unreadable_lines == ()


def test_jsonl_unreadable_lines_without_blank_lines(engine: BatchEngine, tmp_path: Path) -> None:
    # No blank line: DuckDB's reader is used, and only rows without values are re-checked.
    path = _write(
        tmp_path / "mixed.jsonl",
        [
            {"source.ip": "192.0.2.1"},
            "not json",
            "[1, 2]",
            '{"a": 1} {"b": 2}',
            {"event": {"action": "allow"}},
            '{"source": {"ip": "192.0.2.9"}',
            {"source": {"ip": "192.0.2.6"}},
        ],
    )

    result = engine.match_jsonl(path)

    assert result.unreadable_lines == (2, 3, 4, 6)
    assert [row for row, *_ in _rows(result.matches)] == [1, 7]
    assert result.rows == 7


def test_a_port_past_64_bits_is_no_port_and_the_event_still_matches() -> None:
    when = datetime(2024, 6, 1, tzinfo=UTC)
    since = datetime(2020, 1, 1, tzinfo=UTC)
    engine = BatchEngine()
    engine.load(
        [
            IndicatorEntry("indicator--ip", "ipv4-addr", "203.0.113.9", since),
            IndicatorEntry("indicator--nt", "ipv4-addr", "203.0.113.9", since, port=443),
        ]
    )
    fields: dict[str, Any] = {"destination.ip": "203.0.113.9", "destination.port": 10**19}
    events = [Event(when, "ecs-json", fields), Event(when, "ecs-json", {"source.ip": "192.0.2.1"})]

    found = [(m.indicator_id, m.field) for m in engine.match(events)]

    assert found == [("indicator--ip", "destination.ip")]


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2024-06-01T00:00:00Z", datetime(2024, 6, 1, tzinfo=UTC)),
        ("2024-06-01T00:00:00.123456789Z", datetime(2024, 6, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2024-06-01T05:30:00+05:30", datetime(2024, 6, 1, tzinfo=UTC)),
        ("2024-05-31T16:00:00-0800", datetime(2024, 6, 1, tzinfo=UTC)),
        ("2024-06-01 00:00:00", datetime(2024, 6, 1, tzinfo=UTC)),
        ("2024-06-01", datetime(2024, 6, 1, tzinfo=UTC)),
        # ISO 8601:2004 4.2.3: 24:00:00 is the end of the day, the next day's start.
        ("2024-06-01T24:00:00Z", datetime(2024, 6, 2, tzinfo=UTC)),
        # Shapes DuckDB's cast would read as other dates, and impossible times: no time.
        ("1 2 3", None),
        ("epoch", None),
        ("2024-06-01T00:00:00+25:00", None),
        ("0000-01-01T00:00:00Z", None),
        ("21024-06-01T00:00:00Z", None),
        ("2024-02-30T00:00:00Z", None),
    ],
)
def test_event_times_are_read_in_iso_8601_shapes_only(
    tmp_path: Path, stamp: str, expected: datetime | None
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"@timestamp": stamp, "source": {"ip": "203.0.113.9"}}) + "\n")
    engine = BatchEngine()
    since = datetime(1, 1, 1, tzinfo=UTC)
    engine.load([IndicatorEntry("indicator--ip", "ipv4-addr", "203.0.113.9", since)])

    (row,) = engine.match_jsonl(events).matches.to_pylist()

    assert row["event_time"] == expected
