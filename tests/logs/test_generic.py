"""ecs-json and mapping-driven JSON-lines / CSV parsing, and the mapping file's checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from indicia.errors import InputError
from indicia.logs import generic
from indicia.logs.base import Event

from .manifest_check import DATA, check_entry, manifest_cases, run_file


@pytest.mark.parametrize(("family", "entry"), manifest_cases("generic", "generic"))
def test_samples(family: str, entry: dict[str, Any]) -> None:
    fmt = generic.FORMAT
    if "mapping" in entry:
        fmt = generic.mapped_format(DATA / family / entry["mapping"])
    check_entry(run_file(fmt.parse, family, entry), entry)


@pytest.mark.parametrize(
    ("record", "fields"),
    [
        ({"a": {"b": {"c": 1}}}, {"a.b.c": 1}),
        ({"a.b": "x", "a": {"c": True}}, {"a.b": "x", "a.c": True}),
        ({"l": [1, "2", None]}, {"l": ["1", "2"]}),
        ({"l": [{"x": "1"}, {"x": "2", "y": ["3", "4"]}]}, {"l.x": ["1", "2"], "l.y": ["3", "4"]}),
        ({"l": [[1, 2], {"x": 1}]}, {"l.x": ["1"]}),
        ({"n": None, "e": {}}, {}),
    ],
)
def test_flatten(record: dict[str, Any], fields: dict[str, Any]) -> None:
    assert generic.flatten(record) == fields


@pytest.mark.parametrize(
    ("toml", "reason"),
    [
        ("[format]\nkind = 'xml'\n[fields]\na = 'b'\n", 'kind must be "jsonl" or "csv"'),
        ("[format]\nkind = 'csv'\n", r"\[fields\] must map"),
        ("[format]\nkind = 'csv'\n[fields]\na = 1\n", "must be ECS field names"),
        ("[format]\nkind = 'csv'\nheader = false\n[fields]\na = 'b'\n", "must list its columns"),
        ("[format]\nkind = 'csv'\ndelimiter = ';;'\n[fields]\na = 'b'\n", "one character"),
        ("[format\nkind =", "not valid TOML"),
    ],
)
def test_bad_mapping(tmp_path: Path, toml: str, reason: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(InputError, match=reason):
        generic.load_mapping(path)


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read mapping file"):
        generic.load_mapping(tmp_path / "absent.toml")


def test_headerless_csv_with_columns(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(
        "[format]\nkind = 'csv'\nheader = false\ncolumns = ['t', 'ip']\n"
        "timestamp_field = 't'\ntimestamp_format = 'epoch_ms'\n[fields]\nip = 'source.ip'\n",
        encoding="utf-8",
    )
    fmt = generic.mapped_format(path)
    (event,) = fmt.parse([(1, "1717243200500,192.0.2.9")], "x.csv")
    assert isinstance(event, Event)
    assert event.fields == {"source.ip": "192.0.2.9"}
    assert (
        event.timestamp is not None
        and event.timestamp.isoformat() == "2024-06-01T12:00:00.500000+00:00"
    )


def test_ecs_json_hostile_lines() -> None:
    lines = [
        (1, "\x00\x01"),
        (2, "{" * 10_000),
        (3, '{"source": {"ip": "192.0.2.1"}}' + " " * 10),
        (4, "1"),
    ]
    results = list(generic.parse_ecs_json(lines, "e.jsonl"))
    assert [(type(r).__name__, r.line) for r in results] == [
        ("Unreadable", 1), ("Unreadable", 2), ("Event", 3), ("Unreadable", 4),
    ]  # fmt: skip


def test_sniff_ecs_json() -> None:
    assert generic.sniff_ecs_json(['{"@timestamp": "2024-01-01T00:00:00Z", "source": {"ip": "x"}}'])
    assert generic.sniff_ecs_json(['{"@timestamp": "2024-01-01T00:00:00Z", "url.full": "x"}'])
    assert not generic.sniff_ecs_json(['{"ts": 1, "src": "x"}'])
    assert not generic.sniff_ecs_json(["not json"])
