"""Field cases of areas ioc-parse and ioc-extract, one test per case id (tests/data/cases)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from indicia.observables import Kind, extract_iocs, parse_observable

from .conftest import DATA

AREAS = {"ioc-parse", "ioc-extract"}
CASES = [
    json.loads(line)
    for line in (DATA / "cases" / "cases.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]
MINE = {case["id"]: case for case in CASES if case["area"] in AREAS}
KINDS_BY_KEY = {"urls": Kind.URL, "emails": Kind.EMAIL}


def test_the_expected_cases_are_present() -> None:
    assert sorted(MINE) == ["C001", "C002", "C004", "C006", "C007", "C008"]


@pytest.mark.parametrize("case_id", sorted(MINE))
def test_field_case(case_id: str) -> None:
    case = MINE[case_id]
    if case["area"] == "ioc-extract":
        _check_extract(case)
    else:
        _check_parse(case)


def _check_extract(case: dict[str, Any]) -> None:
    found = extract_iocs(case["input"])
    (key,) = [key for key in case["expected"] if key in KINDS_BY_KEY]

    values = [item.value for item in found if item.kind is KINDS_BY_KEY[key]]
    assert values == case["expected"][key]
    assert len(found) == case["expected"]["count"]
    for item in found:
        assert case["input"][item.start : item.end] == item.raw


def _check_parse(case: dict[str, Any]) -> None:
    values = [parse_observable(raw).value for raw in case["input"]]
    expected = case["expected"]["normalised"]

    if isinstance(expected, str):
        expected = [expected] * len(case["input"])
    assert values == expected
    assert len(set(values)) == case["expected"]["unique"]
