"""extract_iocs over the manifest of texts, plus the position contract."""

from __future__ import annotations

from typing import Any

import pytest

from indicia.observables import extract_iocs

from .conftest import load_json

CASES: list[dict[str, Any]] = load_json("extract.json")["cases"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_extract(case: dict[str, Any]) -> None:
    found = extract_iocs(case["text"])

    assert [[item.kind.value, item.value, item.raw] for item in found] == case["found"]
    for item in found:
        assert case["text"][item.start : item.end] == item.raw


def test_finds_are_in_order_of_position() -> None:
    text = "d41d8cd98f00b204e9800998ecf8427e 203.0.113.5 evil.example.com hxxp://x.example.org/"
    found = extract_iocs(text)

    starts = [item.start for item in found]
    assert starts == sorted(starts)
    assert len(found) == 4
