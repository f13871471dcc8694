"""Run a parser over a sample file and compare it with the manifest's expectations for it.

A manifest (``tests/data/logs/<family>/<format>.manifest.json``) lists, per file, how many events
and unreadable lines it must give, and for chosen lines the exact timestamp, source and field
values (a subset of the event's fields) plus fields that must be absent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from indicia.logs.base import Event, ParseResult, Unreadable
from indicia.logs.inputs import read_lines

DATA = Path(__file__).parents[1] / "data" / "logs"


def manifest_cases(family: str, name: str) -> list[Any]:
    """One ``pytest.param`` per file of the manifest, with the file name as its id."""
    manifest = orjson.loads((DATA / family / f"{name}.manifest.json").read_bytes())
    return [
        pytest.param(family, entry, id=f"{name}:{entry['file']}") for entry in manifest["files"]
    ]


def run_file(
    parse: Callable[..., Iterator[ParseResult]], family: str, entry: dict[str, Any]
) -> list[ParseResult]:
    """Parse the entry's file, passing its ``year`` when the manifest gives one."""
    if "year" in entry:
        parse = functools.partial(parse, year=entry["year"])
    path = DATA / family / entry["file"]
    return list(parse(read_lines(path), str(path)))


def check_entry(results: list[ParseResult], entry: dict[str, Any]) -> None:
    """Assert counts, and the expected lines' timestamp, source and fields."""
    events = {r.line: r for r in results if isinstance(r, Event)}
    unreadable = [r for r in results if isinstance(r, Unreadable)]
    assert len(events) == entry["events"], [u.reason for u in unreadable]
    assert len(unreadable) == entry["unreadable"], [(u.line, u.reason) for u in unreadable]

    for expected in entry["lines"]:
        event = events[expected["line"]]
        if "timestamp" in expected:
            want = expected["timestamp"]
            assert event.timestamp == (datetime.fromisoformat(want) if want else None)
        if "source" in expected:
            assert event.source == expected["source"]
        got = {key: event.fields.get(key) for key in expected["fields"]}
        assert got == expected["fields"], f"line {expected['line']}"
        for key in expected.get("absent", ()):
            assert key not in event.fields, f"line {expected['line']}: {key} should be absent"
        assert event.raw is not None and event.path.endswith(entry["file"])
