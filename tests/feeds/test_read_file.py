"""read_file's dispatch and sniff_format on a manifest of names and contents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from indicia.errors import InputError
from indicia.feeds import FORMATS, Position, read_file, sniff_format

from .helpers import FEEDS, load_manifest, split

CASES = load_manifest("sniff_cases.json")["cases"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_sniff_format(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / case["name"]
    path.write_text(case["text"], encoding="utf-8")

    assert sniff_format(path) == case["format"]
    assert case["format"] in FORMATS


def test_real_samples_are_sniffed() -> None:
    assert sniff_format(FEEDS / "stix" / "apt1.json") == "stix"
    assert sniff_format(FEEDS / "csv" / "feodotracker_ipblocklist.csv") == "csv"
    assert sniff_format(FEEDS / "lists" / "compromised-ips.txt") == "list"


def test_an_explicit_format_overrides_sniffing(tmp_path: Path) -> None:
    path = tmp_path / "values.csv"
    path.write_text("value,type\n192.0.2.1,ipv4-addr\n", encoding="utf-8")

    assert [r.value for r in split(read_file(path, fmt="list"))["values"]] == [
        "value,type",
        "192.0.2.1,ipv4-addr",
    ]


def test_an_unknown_format_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown format 'xml'"):
        read_file(tmp_path / "x", fmt="xml")


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothing\.txt: cannot open: No such file"):
        read_file(tmp_path / "nothing.txt")


@pytest.mark.parametrize(
    ("position", "text"),
    [
        (Position("list.csv", line=12), "list.csv:12"),
        (Position("file.json", record=17), "file.json record 17"),
        (Position("file.json", line=3, record=17), "file.json:3 record 17"),
        (Position("file.json", record=2, byte=40), "file.json record 2 byte 40"),
        (Position("file.json"), "file.json"),
    ],
)
def test_position_text(position: Position, text: str) -> None:
    assert str(position) == text
