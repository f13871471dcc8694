"""What every JSON-family parser (Azure, Microsoft 365, Zeek, Suricata) must do, one suite for all.

Each format's manifest of real and documented samples gives exact fields and unreadable lines;
reading the same files through the registry's sniffing gives the same results; and arbitrary
lines built from the tokens that steer these parsers never raise and keep their positions.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicia.logs import azure_firewall, azure_waf, o365, suricata, zeek
from indicia.logs.base import LogFormat, Unreadable
from indicia.logs.inputs import read_events
from indicia.logs.json_records import MAX_TEXT

from .manifest_check import DATA, check_entry, manifest_cases, run_file

FORMATS: dict[str, tuple[str, LogFormat]] = {
    "azure_firewall": ("azure", azure_firewall.FORMAT),
    "azure_waf": ("azure", azure_waf.FORMAT),
    "o365": ("o365", o365.FORMAT),
    "zeek": ("zeek", zeek.FORMAT),
    "suricata": ("suricata", suricata.FORMAT),
}
CASES = [
    pytest.param(fmt, *case.values, id=case.id)
    for name, (family, fmt) in FORMATS.items()
    for case in manifest_cases(family, name)
]


@pytest.mark.parametrize(("fmt", "family", "entry"), CASES)
def test_manifest_file(fmt: LogFormat, family: str, entry: dict[str, Any]) -> None:
    results = run_file(fmt.parse, family, entry)

    check_entry(results, entry)
    assert [r.line for r in results if isinstance(r, Unreadable)] == entry["unreadable_lines"]


@pytest.mark.parametrize(("fmt", "family", "entry"), CASES)
def test_read_events_sniffs_the_file_and_gives_the_same_results(
    fmt: LogFormat, family: str, entry: dict[str, Any]
) -> None:
    expected = [(r.line, type(r).__name__) for r in run_file(fmt.parse, family, entry)]
    results = read_events(DATA / family / entry["file"])

    assert [(r.line, type(r).__name__) for r in results] == expected


TOKENS = ["{", "}", "[", "]", '"', ",", ":", "\\", "\t", " ", "x", "1", ".", "\x00", "\ufffd"]
TOKENS += ["#separator ", "#fields\t", "#types\t", '"records":', '"msg":', '"category":', "AZFW"]
FUZZ_LINES = st.lists(st.lists(st.sampled_from(TOKENS), max_size=30).map("".join), max_size=12)


@pytest.mark.parametrize("fmt", [fmt for _, fmt in FORMATS.values()], ids=list(FORMATS))
@settings(max_examples=80, deadline=None)
@given(texts=FUZZ_LINES)
def test_any_input_yields_results_at_input_lines_and_never_raises(
    fmt: LogFormat, texts: list[str]
) -> None:
    lines = list(enumerate(texts, start=1))
    results = list(fmt.parse(lines, "fuzz"))

    assert {r.line for r in results} <= {number for number, _ in lines}
    assert all(len(r.text) <= MAX_TEXT for r in results if isinstance(r, Unreadable))
