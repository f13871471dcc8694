"""The import workers: each handles every n-th part of a file, and together they handle all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from indicia import import_workers
from indicia.feeds import read_file
from indicia.feeds.records import StixRecord
from indicia.import_workers import Failed, decode, encode, worker_parts


def _indicator(n: int, **changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{n:08x}-3333-4333-8333-333333333333",
        "created": "2024-05-01T10:00:00.000Z",
        "modified": "2024-05-01T10:00:00.000Z",
        "pattern": f"[domain-name:value = 'host{n}.example.org']",
        "pattern_type": "stix",
        "valid_from": "2024-05-01T10:00:00Z",
        "labels": ["pad" * 40],
    }
    obj.update(changes)
    return obj


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """Over a MiB, so it is read in runs; with a bad object and a non-object inside them."""
    objects: list[Any] = [_indicator(n) for n in range(6000)]
    objects[100] = _indicator(100, pattern="[ipv4-addr:value = '10.0.0.300']")
    objects[4000] = ["not", "an", "object"]
    path = tmp_path / "bundle.json"
    body = b",\n".join(orjson.dumps(obj) for obj in objects)
    path.write_bytes(b'{"type": "bundle", "id": "bundle--1", "objects": [\n' + body + b"\n]}")
    return path


def _outcomes(parts: list[list[Any]]) -> list[Any]:
    """One entry per record: the object's id, or the kind of outcome it had."""
    found: list[Any] = []
    for pieces in parts:
        for piece in pieces:
            if type(piece) is list:
                found.extend(row[0][0] for row in piece)
            else:
                found.append(type(piece).__name__)
    return found


@pytest.mark.parametrize("count", [1, 2, 3])
def test_the_workers_parts_taken_in_turn_are_the_whole_file(bundle: Path, count: int) -> None:
    streams = [list(worker_parts(str(bundle), None, index, count)) for index in range(count)]
    merged = [streams[n % count][n // count] for n in range(sum(map(len, streams)))]

    expected = [
        r.obj["id"] if isinstance(r, StixRecord) else "Rejection" for r in read_file(bundle)
    ]
    expected[100] = "Failed"
    assert _outcomes(merged) == expected
    assert len(streams[0]) > 2  # the file came in several runs


def test_a_failed_object_names_its_record(bundle: Path) -> None:
    pieces = [p for part in worker_parts(str(bundle), None, 0, 1) for p in part]

    failed = [p for p in pieces if isinstance(p, Failed)]
    assert [f.where for f in failed] == [f"{bundle} record 101"]
    assert "10.0.0.300" in failed[0].reason


def test_messages_of_rows_are_marshalled_and_others_pickled() -> None:
    row = (("indicator--1", "indicator", None, True, 3), "2024-01-01", [("url", "x", None)])
    rows_only = [[[row, row]], "end"]
    with_failure = [[[row], Failed("f.json record 2", "bad")], "end"]

    encoded = [encode(message) for message in (rows_only, with_failure)]

    assert [data[:1] for data in encoded] == [b"m", b"p"]
    assert [decode(data) for data in encoded] == [rows_only, with_failure]


def test_one_core_gets_one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_workers.os, "cpu_count", lambda: 1)
    assert import_workers.worker_count() == 1
    monkeypatch.setattr(import_workers.os, "cpu_count", lambda: 8)
    assert import_workers.worker_count() == import_workers.WORKERS
