"""JSON lines of odd shapes read by the batch engine's msgspec loader, line numbers kept."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pytest

from indicia.matching import batch_load
from indicia.matching.batch import BatchEngine
from indicia.matching.batch_schema import SPELLINGS, build_schema, loosen
from indicia.matching.types import IndicatorEntry

START = datetime(2024, 1, 1, tzinfo=UTC)
ENTRIES = [
    IndicatorEntry("indicator--a", "ipv4-addr", "192.0.2.0/24", START),
    IndicatorEntry("indicator--b", "domain-name", "evil.example", START),
    IndicatorEntry("indicator--c", "url", "https://evil.example/drop", START),
    IndicatorEntry("indicator--d", "ipv4-addr", "192.0.2.80", START, port=8443),
]
CASES = json.loads((Path(__file__).parent / "batch_load_cases.json").read_text("utf-8"))["cases"]


@pytest.fixture(scope="module")
def engine() -> BatchEngine:
    batch = BatchEngine()
    batch.load(ENTRIES)
    return batch


def _rows(table: pa.Table) -> list[list[Any]]:
    columns = [table.column(name).to_pylist() for name in ("row", "field", "matched_value")]
    return sorted([list(row) for row in zip(*columns, strict=True)])


def _line_count(text: bytes) -> int:
    return text.count(b"\n") + (1 if text and not text.endswith(b"\n") else 0)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_odd_jsonl_inputs(engine: BatchEngine, tmp_path: Path, case: dict[str, Any]) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(case["text"].encode("utf-8"))

    result = engine.match_jsonl(path)

    assert _rows(result.matches) == sorted(case["matches"])
    assert list(result.unreadable_lines) == case["unreadable"]
    assert (result.values, result.invalid_values) == (case["values"], case["invalid"])
    assert result.rows == _line_count(path.read_bytes())


def _random_line(rng: random.Random, number: int) -> tuple[str, bool, str | None]:
    """(line text, unreadable, matching address or None) for the chunking test."""
    roll = rng.random()
    address = f"192.0.2.{number % 250}"
    if roll < 0.1:
        return rng.choice(["", "  ", "\t"]), False, None
    if roll < 0.2:
        return rng.choice(["not json", "[1]", '{"a": 1} {"b": 2}', '{"source": ']), True, None
    if roll < 0.3:
        return json.dumps({"related": {"hosts": [f"h{number}.evil.example"]}}), False, None
    if roll < 0.5:
        return json.dumps({"source": {"ip": address}}), False, address
    if roll < 0.6:
        # A list where the other lines hold one string: the column takes both shapes.
        return json.dumps({"source": {"ip": [address]}}), False, address
    return json.dumps({"destination.ip": f"203.0.113.{number % 250}"}), False, None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chunk_boundaries_keep_line_numbers(
    engine: BatchEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    # Tiny chunks and batches put every kind of line at a chunk's start, middle and end, and
    # spellings and shapes appear and vanish from batch to batch.
    monkeypatch.setattr(batch_load, "CHUNK_BYTES", 97)
    monkeypatch.setattr(batch_load, "FIRST_CHUNK_LINES", 3)
    monkeypatch.setattr(batch_load, "BATCH_ROWS", 7)
    rng = random.Random(seed)
    lines = [_random_line(rng, number) for number in range(400)]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(text for text, _, _ in lines), encoding="utf-8")

    result = engine.match_jsonl(path)

    addresses = [(n, a) for n, (_, _, a) in enumerate(lines, 1) if a is not None]
    found = [(r, v) for r, f, v in _rows(result.matches) if f == "source.ip"]
    assert found == addresses
    assert list(result.unreadable_lines) == [n for n, (_, bad, _) in enumerate(lines, 1) if bad]
    assert result.rows == len(lines)


def test_schema_reads_only_used_spellings() -> None:
    used = [s for s in SPELLINGS if s.keys == ("source", "ip")]
    schema = build_schema(used)

    document = schema.decoder.decode(b'{"source": {"ip": "192.0.2.1", "bytes": 7}, "x": 1}')

    # Attribute names are generated; the schema's paths lead to the value.
    path = schema.paths[used[0]].split(".")
    value: Any = document
    for attribute in path:
        value = getattr(value, attribute)
    assert value == "192.0.2.1"
    with pytest.raises(msgspec.ValidationError, match="Expected `null`"):
        schema.decoder.decode(b'{"destination": {"ip": "192.0.2.1"}}')


def test_loosen_names_spellings_and_coerces_values() -> None:
    kept, found = loosen({"source": {"ip": 5, "port": " 22 "}, "url.full": ["a", 1, None]})

    assert kept == {"source": {"ip": "5", "port": 22}, "url.full": ["a", "1"]}
    assert {(s.field, s.keys) for s in found} == {
        ("source.ip", ("source", "ip")),
        ("source.port", ("source", "port")),
        ("url.full", ("url.full",)),
    }
