"""Reading log inputs: files, directories, gzip files and standard input, as numbered lines.

Bytes are decoded as UTF-8 with replacement characters, so a stray byte never stops a run; a
leading byte order mark is dropped. Lines are split on LF only (a CR before it is removed), so a
lone CR inside a record stays part of that record. A line longer than 1 MiB (the importer's
limit too) is not handed to any parser: it is reported unreadable and memory stays bounded.
"""

from __future__ import annotations

import gzip
import itertools
import logging
import os
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from indicia.errors import InputError
from indicia.feeds.text_lines import MAX_LINE_BYTES
from indicia.logs import generic
from indicia.logs.base import Lines, LogFormat, ParseResult, Unreadable
from indicia.logs.registry import get_format, sniff_format

log = logging.getLogger(__name__)

STDIN = "-"
SNIFF_LINES = 20  # non-empty lines shown to the sniffers
_BOM = "\ufeff"
_GZIP_MAGIC = b"\x1f\x8b"


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> Iterator[str]:
    """Each path as given, with directories replaced by their files (recursively, sorted)."""
    for raw in paths:
        path = os.fspath(raw)
        if path == STDIN or not os.path.isdir(path):
            yield path
            continue
        files = sorted(p for p in Path(path).rglob("*") if p.is_file())
        yield from (str(p) for p in files)


def _open(path: str) -> BinaryIO:
    """A binary stream for ``path``: stdin for ``-``, transparently gunzipped for ``.gz``."""
    if path == STDIN:
        stdin = sys.stdin.buffer
        # A gzip stream piped in is read as a .gz file is (RFC 1952 2.3.1: ID1 ID2); closing
        # the GzipFile leaves stdin open.
        peek = getattr(stdin, "peek", None)
        if peek is not None and peek(2)[:2] == _GZIP_MAGIC:
            return gzip.GzipFile(fileobj=stdin, mode="rb")  # type: ignore[return-value]
        return stdin
    try:
        if path.endswith(".gz"):
            return gzip.open(path, "rb")  # type: ignore[return-value]
        return open(path, "rb")  # noqa: SIM115 - closed by the caller's generator
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror or exc}") from exc


def read_lines(
    path: str | os.PathLike[str], unreadable: Callable[[int, str], None] | None = None
) -> Iterator[tuple[int, str]]:
    """The lines of one file (or ``-`` for stdin) as ``(number, text)``, numbered from 1.

    A line over ``MAX_LINE_BYTES`` is left out, and a read that fails part way (a corrupt gzip
    stream) ends the lines; each is told to ``unreadable`` (line number, reason). Without it, a
    failed read raises InputError.
    """
    name = os.fspath(path)
    if name != STDIN and os.path.isdir(name):
        raise InputError(name, "is a directory; use expand_paths() or read_events()")

    stream = _open(name)
    try:
        yield from _decode(stream, name, unreadable)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _decode(
    stream: BinaryIO, name: str, unreadable: Callable[[int, str], None] | None
) -> Iterator[tuple[int, str]]:
    """Decode a byte stream into numbered lines, stripping the line ending and a leading BOM."""
    number = 0
    try:
        while chunk := stream.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                _skip_rest_of_line(stream)
                if unreadable is not None:
                    unreadable(number, f"line longer than {MAX_LINE_BYTES >> 20} MiB")
                continue
            text = chunk.decode("utf-8", errors="replace")
            if number == 1 and text.startswith(_BOM):
                text = text[1:]
            yield number, text.rstrip("\r\n")
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        if unreadable is None:
            raise InputError(name, f"read failed: {exc}", line=number + 1) from exc
        unreadable(number + 1, f"read failed, the rest of the file is not read: {exc}")


def _skip_rest_of_line(stream: BinaryIO) -> None:
    while chunk := stream.readline(MAX_LINE_BYTES):
        if chunk.endswith(b"\n"):
            return


def read_events(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    fmt: str = "auto",
    *,
    mapping: str | os.PathLike[str] | None = None,
) -> Iterator[ParseResult]:
    """Parse every input with ``fmt`` (a registry name), or sniff each file's format for "auto".

    ``mapping`` names a TOML field-mapping file for the ``generic`` format (see
    :mod:`indicia.logs.generic`); giving one implies that format.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    chosen = _choose(fmt, mapping)

    for given in paths:
        if os.path.isdir(given):
            yield from _parse_folder(os.fspath(given), chosen)
        else:
            yield from parse_path(os.fspath(given), chosen)


def _parse_folder(folder: str, fmt: LogFormat | None) -> Iterator[ParseResult]:
    """Every file in a folder; one no format fits is reported (line 0) and passed over.

    A folder of logs often holds a README or a checksum file beside them; one such file must
    not stop the rest, and it is never skipped silently.
    """
    for path in expand_paths([folder]):
        try:
            yield from parse_path(path, fmt)
        except InputError as exc:
            yield Unreadable(path, 0, exc.reason)


def _choose(fmt: str, mapping: str | os.PathLike[str] | None) -> LogFormat | None:
    """The format to parse with, or None to sniff each file."""
    if mapping is not None:
        if fmt not in ("auto", generic.MAPPED_NAME):
            raise InputError(
                os.fspath(mapping), f"a mapping file is for the generic format, not {fmt!r}"
            )
        return generic.mapped_format(os.fspath(mapping))
    if fmt == generic.MAPPED_NAME:
        raise InputError("log format", "the generic format needs a mapping file (--mapping FILE)")
    return None if fmt == "auto" else get_format(fmt)


def parse_path(path: str, fmt: LogFormat | None = None) -> Iterator[ParseResult]:
    """Parse one file with ``fmt``, sniffing the format from its first lines when None.

    A line the reader could not hand over (too long, or a read that failed part way) is an
    Unreadable among the results; the lines before it are parsed.
    """
    # Events name their file absolutely: an alert's raw_ref outlives the directory it was
    # matched from, and a re-run spelled ./fw.log or /var/log/fw.log is the same file.
    path = path if path == STDIN else os.path.abspath(path)
    skipped: list[tuple[int, str]] = []
    lines: Lines = read_lines(path, lambda number, reason: skipped.append((number, reason)))
    if fmt is None:
        head, lines = _peek(iter(lines))
        if not any(text.strip() for _, text in head):
            yield from _left_out(path, skipped)
            log.info("skipping %s: no non-blank line", path)
            return
        fmt = sniff_format([text for _, text in head], path)
        log.debug("%s sniffed as %s", path, fmt.name)
    for result in fmt.parse(lines, path):
        yield from _left_out(path, skipped)
        yield result
    yield from _left_out(path, skipped)


def _left_out(path: str, skipped: list[tuple[int, str]]) -> Iterator[Unreadable]:
    """The lines the reader left out so far, once each."""
    for number, reason in skipped:
        yield Unreadable(path, number, reason)
    skipped.clear()


def _peek(lines: Iterator[tuple[int, str]]) -> tuple[list[tuple[int, str]], Lines]:
    """The first lines holding ``SNIFF_LINES`` non-blank ones, and all lines again."""
    head: list[tuple[int, str]] = []
    non_blank = 0
    for item in lines:
        head.append(item)
        non_blank += bool(item[1].strip())
        if non_blank >= SNIFF_LINES:
            break
    return head, itertools.chain(head, lines)
