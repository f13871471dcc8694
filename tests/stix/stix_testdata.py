"""Paths to and readers of the stix test data under tests/data (no fixtures here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data"
STIX_DATA = DATA / "stix"


def load_json(path: Path) -> Any:
    """Read one JSON file from the test data."""
    return json.loads(path.read_text(encoding="utf-8"))


def bundle_objects(path: Path) -> list[dict[str, Any]]:
    """The objects of a bundle file, or the single object a file holds."""
    data = load_json(path)
    return data["objects"] if data.get("type") == "bundle" else [data]


def field_cases(area: str) -> list[dict[str, Any]]:
    """The field cases of one area from tests/data/cases/cases.jsonl."""
    lines = (DATA / "cases" / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip()]
    return [case for case in cases if case["area"] == area]
