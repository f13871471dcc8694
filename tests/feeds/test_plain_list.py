"""Plain one-value-a-line lists: real blocklists, comments of both kinds, hostile lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from indicia.feeds import read_file
from indicia.feeds.plain_list import read_plain_list, split_comment

from .helpers import FEEDS, split


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("198.51.100.7", ("198.51.100.7", "")),
        ("  198.51.100.7\t", ("198.51.100.7", "")),
        ("# whole-line comment", ("", "")),
        ("; whole-line comment", ("", "")),
        ("   # indented comment", ("", "")),
        ("1.10.16.0/20 ; SBL256894", ("1.10.16.0/20", "SBL256894")),
        ("bad.example # seen 2024 # twice", ("bad.example", "seen 2024 # twice")),
        ("http://bad.example/#fragment", ("http://bad.example/#fragment", "")),
        ("http://bad.example/a;b=c", ("http://bad.example/a;b=c", "")),
        ("", ("", "")),
    ],
)
def test_split_comment(line: str, expected: tuple[str, str]) -> None:
    assert split_comment(line) == expected


def test_the_emerging_threats_list() -> None:
    path = FEEDS / "lists" / "compromised-ips.txt"
    lines = path.read_text("utf-8").splitlines()
    got = split(read_file(path))

    assert len(got["values"]) == len(lines) == 539
    assert [r.value for r in got["values"]] == [line.strip() for line in lines]
    assert got["values"][-1].position.line == 539
    assert got["values"][-1].position.record == 539


def test_the_cobalt_strike_domain_list() -> None:
    got = split(read_file(FEEDS / "lists" / "cps_cobaltstrike_domain.txt"))

    assert len(got["values"]) == 67
    assert got["values"][0].value == "1302768123-l3a4w496qm.ap-shanghai.tencentscf.com"
    assert got["rejections"] == got["notices"] == []


def test_comments_blanks_bom_and_trailing_comments(tmp_path: Path) -> None:
    path = tmp_path / "drop.txt"
    text = "; Spamhaus DROP List\n\n1.10.16.0/20 ; SBL256894\n  # note\n2001:db8::/32\t\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    got = split(read_plain_list(path))

    assert [(r.value, r.fields, r.position.line) for r in got["values"]] == [
        ("1.10.16.0/20", {"description": "SBL256894"}, 3),
        ("2001:db8::/32", {}, 5),
    ]


def test_hostile_lines_are_rejections_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "hostile.txt"
    path.write_bytes(
        b"a.example\n"
        + b"b\x00.example\n"
        + b"caf\xe9.example\n"
        + b"y" * (10 << 20)
        + b"\nd.example"
    )
    got = split(read_plain_list(path))

    assert [(r.value, r.position.line) for r in got["values"]] == [
        ("a.example", 1),
        ("d.example", 5),
    ]
    assert [(r.position.line, r.reason) for r in got["rejections"]] == [
        (2, "NUL byte at column 2"),
        (3, "not UTF-8 (byte 0xe9 at column 4)"),
        (4, "line longer than 1 MiB"),
    ]


def test_hosts_file_lines_give_the_host_names(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    path.write_text("# hosts\n0.0.0.0 ads.example\n127.0.0.1\ta.example b.example # x\n")
    got = split(read_plain_list(path))

    assert [(r.value, r.position.line, r.position.record) for r in got["values"]] == [
        ("ads.example", 2, 1),
        ("a.example", 3, 2),
        ("b.example", 3, 3),
    ]
    assert [n.message for n in got["notices"]] == ["hosts-file lines: host names read"]


def test_a_utf16_list_is_one_rejection(tmp_path: Path) -> None:
    path = tmp_path / "wide.txt"
    path.write_bytes("a.example\nb.example\n".encode("utf-16"))
    got = split(read_plain_list(path))

    assert got["values"] == []
    assert [r.reason for r in got["rejections"]] == ["file is UTF-16; expected UTF-8"]
