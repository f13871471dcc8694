"""Reading inputs: plain, gzip, directories, stdin, BOM and line ends; read_events end to end."""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path

import pytest

from indicia.errors import InputError
from indicia.logs import inputs
from indicia.logs.base import Event, Unreadable

from .manifest_check import DATA

CEF_LINE = "CEF:0|V|P|1|1|n|3|src=192.0.2.1"


def test_read_lines_bom_crlf_and_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"\xef\xbb\xbffirst\r\nsecond \xff\xfe\rmid\n\nlast")
    assert list(inputs.read_lines(path)) == [
        (1, "first"),
        (2, "second \ufffd\ufffd\rmid"),  # a lone CR stays inside its line
        (3, ""),
        (4, "last"),
    ]


def test_read_lines_gzip(tmp_path: Path) -> None:
    path = tmp_path / "a.log.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbfone\ntwo\n"))
    assert list(inputs.read_lines(path)) == [(1, "one"), (2, "two")]


def test_read_lines_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(InputError, match=r"bad\.gz:1: read failed"):
        list(inputs.read_lines(path))


def test_read_lines_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = io.TextIOWrapper(io.BytesIO(b"a\nb\n"))
    monkeypatch.setattr(sys, "stdin", fake)
    assert list(inputs.read_lines("-")) == [(1, "a"), (2, "b")]


def test_read_lines_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot open"):
        list(inputs.read_lines(tmp_path / "absent.log"))
    with pytest.raises(InputError, match="is a directory"):
        list(inputs.read_lines(tmp_path))


def test_directories_recursive_and_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.log").write_text(CEF_LINE + "\n")
    (tmp_path / "a.log").write_text(CEF_LINE + "\nnot cef\n")
    (tmp_path / "c.log.gz").write_bytes(gzip.compress((CEF_LINE + "\n").encode()))
    found = list(inputs.expand_paths([tmp_path]))
    assert [Path(p).relative_to(tmp_path).as_posix() for p in found] == [
        "a.log",
        "b/z.log",
        "c.log.gz",
    ]

    results = list(inputs.read_events(tmp_path, "cef"))
    assert [(Path(r.path).name, r.line, type(r).__name__) for r in results] == [
        ("a.log", 1, "Event"),
        ("a.log", 2, "Unreadable"),
        ("z.log", 1, "Event"),
        ("c.log.gz", 1, "Event"),
    ]


def test_read_events_auto_sniffs_each_file() -> None:
    paths = [DATA / "dns" / "umbrella-solarigate-beacon.csv", DATA / "cef" / "beats-cef.log"]
    results = list(inputs.read_events(paths))
    assert {r.source for r in results if isinstance(r, Event)} == {"umbrella", "cef"}
    assert not [r for r in results if isinstance(r, Unreadable)]


def test_read_events_empty_file_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_text("\n\n")
    assert list(inputs.read_events(tmp_path / "empty.log")) == []


def test_read_events_with_mapping() -> None:
    results = list(
        inputs.read_events(DATA / "generic" / "proxy.csv", mapping=DATA / "generic" / "proxy.toml")
    )
    assert [r.line for r in results if isinstance(r, Event)] == [2, 3]


def test_read_events_format_errors() -> None:
    with pytest.raises(InputError, match="needs a mapping file"):
        list(inputs.read_events("x.csv", "generic"))
    with pytest.raises(InputError, match="is for the generic format, not 'cef'"):
        list(inputs.read_events("x.csv", "cef", mapping="m.toml"))
    with pytest.raises(InputError, match="unknown format 'zzz'"):
        list(inputs.read_events("x.csv", "zzz"))


def test_unsniffable_file(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_text("hello\nworld\n")
    with pytest.raises(InputError, match=r"odd\.txt: no known log format"):
        list(inputs.read_events(path))


@pytest.mark.parametrize("suffix", [".log", ".log.gz"])
def test_a_line_over_one_mib_is_unreadable_and_the_rest_is_read(
    tmp_path: Path, suffix: str
) -> None:
    huge = "CEF:0|V|P|1|1|n|3|msg=" + "x" * (3 << 20)
    text = "\n".join([CEF_LINE, huge, CEF_LINE.replace("192.0.2.1", "192.0.2.2")]) + "\n"
    path = tmp_path / f"fw{suffix}"
    data = text.encode()
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)

    results = list(inputs.read_events([path]))

    events = [r for r in results if isinstance(r, Event)]
    unreadable = [r for r in results if isinstance(r, Unreadable)]
    assert [e.ref for e in events] == [f"{path}:1", f"{path}:3"]
    assert [(u.line, u.reason) for u in unreadable] == [(2, "line longer than 1 MiB")]


def test_an_over_long_first_line_is_reported_before_sniffing(tmp_path: Path) -> None:
    path = tmp_path / "one.log"
    path.write_bytes(b"y" * ((1 << 20) + 5))

    results = list(inputs.read_events([path]))

    assert [(r.line, r.reason) for r in results if isinstance(r, Unreadable)] == [
        (1, "line longer than 1 MiB")
    ]


def _corrupt_gzip(path: Path, lines: int) -> None:
    text = "".join(f"{CEF_LINE.replace('192.0.2.1', f'192.0.2.{n % 250}')}\n" for n in range(lines))
    data = bytearray(gzip.compress(text.encode()))
    data[len(data) // 2] ^= 0xFF  # a flipped byte inside the deflate stream
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("as_folder", [False, True])
def test_a_corrupt_gzip_is_reported_and_the_other_files_are_read(
    tmp_path: Path, as_folder: bool
) -> None:
    (tmp_path / "a.log").write_text(CEF_LINE + "\n")
    _corrupt_gzip(tmp_path / "b.log.gz", 2000)
    (tmp_path / "c.log").write_text(CEF_LINE + "\n")
    given = [tmp_path] if as_folder else [tmp_path / n for n in ("a.log", "b.log.gz", "c.log")]

    results = list(inputs.read_events(given))

    refs = [r.ref for r in results if isinstance(r, Event)]
    assert f"{tmp_path / 'a.log'}:1" in refs and f"{tmp_path / 'c.log'}:1" in refs
    failed = [r for r in results if isinstance(r, Unreadable) and "read failed" in r.reason]
    assert [r.path for r in failed] == [str(tmp_path / "b.log.gz")]
    assert "the rest of the file is not read" in failed[0].reason
    assert failed[0].line > 1  # the lines before the damage were read


def test_gzip_on_stdin_is_read_like_a_gz_file(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = io.BufferedReader(io.BytesIO(gzip.compress(f"{CEF_LINE}\n".encode())))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(piped))

    results = list(inputs.read_events(["-"], fmt="cef"))

    assert [r.fields.get("source.ip") for r in results if isinstance(r, Event)] == ["192.0.2.1"]
