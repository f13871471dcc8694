"""Shared helpers for the observables tests: where their data lives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data"


def load_json(name: str) -> Any:
    """Load a JSON manifest from tests/data/observables."""
    return json.loads((DATA / "observables" / name).read_text("utf-8"))
