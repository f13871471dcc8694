"""The matching semantics, one manifest run against both engines (DESIGN.md, "Matching")."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from indicia.logs.base import Event
from indicia.matching.types import Engine, IndicatorEntry, Match

HERE = Path(__file__).parent
MANIFEST = json.loads((HERE / "semantics.json").read_text(encoding="utf-8"))
CASES = {
    case["id"]: case
    for case in map(
        json.loads,
        (HERE.parent / "data" / "cases" / "cases.jsonl").read_text(encoding="utf-8").splitlines(),
    )
}
ENGINES = ("indicia.matching.batch:BatchEngine", "indicia.matching.stream:StreamEngine")


def _engine(spec: str) -> Engine:
    # An engine that cannot be imported fails its tests loudly; it is never skipped.
    module, _, name = spec.partition(":")
    factory: Callable[[], Engine] = getattr(importlib.import_module(module), name)
    return factory()


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _entry(spec: dict[str, Any]) -> IndicatorEntry:
    valid_from = _time(spec.get("valid_from", MANIFEST["defaults"]["valid_from"]))
    assert valid_from is not None
    return IndicatorEntry(
        indicator_id=spec["id"],
        kind=spec["kind"],
        value=spec["value"],
        valid_from=valid_from,
        valid_until=_time(spec.get("valid_until")),
        confidence=spec.get("confidence"),
        port=spec.get("port"),
    )


def _event(spec: dict[str, Any], number: int) -> Event:
    stamp = spec.get("timestamp", MANIFEST["defaults"]["timestamp"])
    return Event(_time(stamp), "semantics", spec["fields"], "semantics.json", number)


def _run(spec: str, case: dict[str, Any]) -> list[list[Any]]:
    engine = _engine(spec)
    engine.load([_entry(e) for e in case["entries"]])
    events = [_event(e, n) for n, e in enumerate(case["events"])]
    results = list(engine.match(events, min_confidence=case.get("min_confidence", 0)))

    assert all(isinstance(r, Match) for r in results), "no warninglists here, nothing suppressed"
    return [
        [r.event.line, r.indicator_id, r.field, r.matched_value, r.indicator_value]
        for r in results
        if isinstance(r, Match)
    ]


def _groups(rows: list[list[Any]]) -> dict[tuple[Any, ...], list[str]]:
    """Indicator ids per (event, field, matched value), in the order the rows came."""
    groups: dict[tuple[Any, ...], list[str]] = {}
    for event, indicator_id, field, matched, _ in rows:
        groups.setdefault((event, field, matched), []).append(indicator_id)
    return groups


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", MANIFEST["cases"], ids=lambda c: c["id"])
def test_semantics(engine: str, case: dict[str, Any]) -> None:
    got = _run(engine, case)

    assert sorted(got) == sorted(case["expected"])
    # Most specific first within one value: exact address, then the longest prefix, and so on.
    expected_order = _groups(case["expected"])
    for key, ids in _groups(got).items():
        if len(set(ids)) < len(ids) or "order_free" in case:
            continue
        specific = [i for i in expected_order[key] if i in ids]
        assert _ranked(ids, case) == _ranked(specific, case), key


def _ranked(ids: list[str], case: dict[str, Any]) -> list[int]:
    # Entries of the same specificity may come in any order; compare specificity ranks only.
    values = {e["id"]: e["value"] for e in case["entries"]}
    return [_specificity(values[i]) for i in ids]


def _specificity(value: str) -> int:
    if "://" in value or "@" in value:
        return 0
    if "/" in value:
        return int(value.rpartition("/")[2])
    if ":" in value:
        return 128
    if value.count(".") == 3 and value.replace(".", "").isdigit():
        return 32
    return value.count(".") + 1


@pytest.mark.parametrize("engine", ENGINES)
def test_case_c028_indicator_without_valid_until_matches(engine: str) -> None:
    case = CASES["C028"]
    indicator, log = case["input"]["indicator"], case["input"]["dns_log"]
    domain = indicator["pattern"].split("'")[1]
    variant = case["expected"]["variant_valid_from_2024-07-01T00:00:00Z"]

    for valid_from, alert in (
        (indicator["valid_from"], case["expected"]["alert"]),
        ("2024-07-01T00:00:00Z", variant["alert"]),
    ):
        start = _time(valid_from)
        assert start is not None
        chosen = _engine(engine)
        chosen.load([IndicatorEntry("indicator--c028", "domain-name", domain, start)])
        event = Event(_time(log["time"]), "dns", {"dns.question.name": log["query"]})

        results = list(chosen.match([event]))

        assert bool(results) is alert, valid_from
        assert all(r.indicator_value == domain for r in results if isinstance(r, Match))
