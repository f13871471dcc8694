"""Shared helpers for the feeds tests: where their data lives, and record sorting."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from indicia.feeds import FeedRecord, Notice, Rejection, StixRecord, ValueRecord

DATA = Path(__file__).resolve().parents[1] / "data"
FEEDS = DATA / "feeds"


def load_manifest(name: str) -> Any:
    """Load a JSON manifest from tests/data/feeds."""
    return json.loads((FEEDS / name).read_text("utf-8"))


def field_cases() -> dict[str, dict[str, Any]]:
    """The field cases of area feed-csv from tests/data/cases/cases.jsonl, by id."""
    lines = (DATA / "cases" / "cases.jsonl").read_text("utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip()]
    return {case["id"]: case for case in cases if case["area"] == "feed-csv"}


def split(records: Iterable[FeedRecord]) -> dict[str, list[Any]]:
    """Sort records by kind: stix, values, rejections, notices."""
    out: dict[str, list[Any]] = {"stix": [], "values": [], "rejections": [], "notices": []}
    for record in records:
        if isinstance(record, StixRecord):
            out["stix"].append(record)
        elif isinstance(record, ValueRecord):
            out["values"].append(record)
        elif isinstance(record, Rejection):
            out["rejections"].append(record)
        elif isinstance(record, Notice):
            out["notices"].append(record)
    return out
