"""Physical lines of a text feed file, decoded one at a time so a bad line costs only itself.

Lines are numbered from 1. A UTF-8 byte order mark on line 1 is dropped (case C023), line
ends (LF or CRLF) are cut, and a line that is not UTF-8, holds a NUL byte or is longer than
``MAX_LINE_BYTES`` becomes a Rejection naming its line; memory stays bounded either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from indicia.feeds.records import Position, Rejection

__all__ = ["MAX_LINE_BYTES", "Line", "read_lines"]

MAX_LINE_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")

# One physical line: its number and its text, or the Rejection that replaced it.
Line = tuple[int, str] | Rejection


def read_lines(file: BinaryIO, source: str) -> Iterator[Line]:
    """Yield (line number, text) for each line, or a Rejection for a line that is unreadable."""
    number = 0
    while True:
        raw = file.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if number == 1:
            if raw.startswith(_WIDE_BOMS):
                yield Rejection(
                    Position(source, line=1), "file is UTF-16; expected UTF-8", fatal=True
                )
                return
            raw = raw.removeprefix(_BOM)
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            _skip_rest_of_line(file)
            yield Rejection(Position(source, line=number), "line longer than 1 MiB")
            continue
        yield _decode(raw, source, number)


def _decode(raw: bytes, source: str, number: int) -> Line:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        reason = f"not UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1})"
        return Rejection(Position(source, line=number), reason)
    if "\x00" in text:
        column = text.index("\x00") + 1
        return Rejection(Position(source, line=number), f"NUL byte at column {column}")
    return number, text.rstrip("\r\n")


def _skip_rest_of_line(file: BinaryIO) -> None:
    while True:
        chunk = file.readline(MAX_LINE_BYTES)
        if not chunk or chunk.endswith(b"\n"):
            return
