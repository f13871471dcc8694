"""A streaming JSON cursor: walks the top of a document and parses array elements whole.

There is no tokenizer in Python. The cursor reads 1 MiB chunks and hands ``orjson`` runs of
text that end at a candidate closing brace: JSON is parsed left to right, so text cut inside
a string or a nested value always leaves a bracket open and fails, and text that parses was
cut at an element's end. Array elements go a 256 KiB batch per ``orjson.loads`` call (the
cut chosen where brackets balance); after a batch fails, the next elements are read one by
one, which finds a bad element's exact byte and line. An element with many nested closers
falls back to an exact scan that skips strings by regex. Memory stays at a few chunks plus
the largest element (at most ``MAX_VALUE_BYTES``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

__all__ = ["JsonBreak", "JsonCursor", "BadElement", "MAX_VALUE_BYTES"]

CHUNK_BYTES = 1 << 20
MAX_VALUE_BYTES = 64 << 20  # one STIX object larger than this is hostile, not intelligence
_FAST_TRIES = 64  # candidate closers tried before the exact scan takes over

_WS = b" \t\r\n"
_STRUCT = re.compile(rb'[\[\]{}"]')
# The rest of a JSON string after its opening quote (RFC 8259 section 7), unrolled.
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_SCALAR = re.compile(rb"-?[0-9][0-9eE.+-]*|true|false|null")
_SEPARATOR = re.compile(rb"[ \t\r\n]*([,\]])[ \t\r\n]*")
_EOF_MESSAGE = "unexpected end of data"
_END = ord("]")
_BATCH_BYTES = 256 << 10
_SINGLE_AFTER_MISS = 32
_CUT_TRIES = 64


class JsonBreak(Exception):
    """The document cannot be read past this point; carries the absolute byte and line."""

    def __init__(self, reason: str, byte: int, line: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.byte = byte
        self.line = line


class BadElement(JsonBreak):
    """One value was not valid JSON, but its extent was found, so reading can go on."""


class JsonCursor:
    """Reads a JSON document from a binary file a chunk at a time, tracking byte and line."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._buf = b""
        self._pos = 0
        self._base = 0  # absolute offset of self._buf[0]
        self._line = 1  # line number at self._line_pos; counted lazily up to self._pos
        self._line_pos = 0
        self._eof = False
        self._fill()

    @property
    def byte(self) -> int:
        """Absolute offset of the next unread byte."""
        return self._base + self._pos

    @property
    def line(self) -> int:
        """Line number (1-based) of the next unread byte."""
        if self._line_pos != self._pos:
            self._line += self._buf.count(b"\n", self._line_pos, self._pos)
            self._line_pos = self._pos
        return self._line

    def strip_bom(self) -> None:
        """Skip a UTF-8 byte order mark; refuse UTF-16 and UTF-32 (RFC 8259 section 8.1)."""
        head = self._buf[:4]
        if head.startswith(b"\xef\xbb\xbf"):
            self._pos = 3
        elif head[:2] in (b"\xff\xfe", b"\xfe\xff") or head.startswith(b"\x00\x00\xfe\xff"):
            raise self._break("file is UTF-16 or UTF-32; JSON must be UTF-8 (RFC 8259 8.1)")

    def peek(self) -> int:
        """Skip whitespace and return the next byte without taking it, or -1 at the end."""
        while True:
            buf, pos, size = self._buf, self._pos, len(self._buf)
            while pos < size and buf[pos] in _WS:
                pos += 1
            self._advance(pos)
            if pos < size:
                return buf[pos]
            if self._eof:
                return -1
            self._fill()

    def take(self, expected: bytes) -> int:
        """Take one of the expected punctuation bytes after whitespace, or break."""
        found = self.peek()
        if found == -1 or found not in expected:
            shown = "end of file" if found == -1 else repr(chr(found))
            wanted = " or ".join(repr(chr(c)) for c in expected)
            raise self._break(f"expected {wanted}, found {shown}")
        self._advance(self._pos + 1)
        return found

    def read_value(self) -> Any:
        """Parse the next JSON value whole and move past it."""
        first = self.peek()
        if first == -1:
            raise self._break("unexpected end of file")
        if first == ord("{"):
            return self._read_container(b"}")
        if first == ord("["):
            return self._read_container(b"]")
        if first == ord('"'):
            return self._parse(self._string_end(self._pos + 1))
        return self._parse(self._scalar_end())

    def elements(self) -> Iterator[tuple[Any, int | None]]:
        """Yield (value, line) per element of the array here; a bad one comes as BadElement.

        In a file under one chunk every element is read on its own and carries the line it
        starts on. In larger files runs of elements are parsed a batch at a time and carry
        no line; after a batch fails, the next elements are read on their own, with lines.
        """
        for values, line in self.element_runs():
            for value in values:
                yield value, line

    def element_runs(self) -> Iterator[tuple[list[Any], int | None]]:
        """Like :meth:`elements`, a run at a time: a parsed batch (no line), or one element."""
        self.take(b"[")
        if self.peek() == _END:
            self._pos += 1
            return
        # A short first read means the whole file is in the buffer: lines cost nothing.
        batching = not (self._base == 0 and len(self._buf) < CHUNK_BYTES)
        single = 0  # elements still to read one by one after a failed batch
        while True:
            if batching and not single:
                batch, last = self._batch()
                if batch is not None:
                    yield batch, None
                    if last:
                        return
                    continue
                single = _SINGLE_AFTER_MISS
            single = max(single - 1, 0)
            line = self.line
            try:
                value = self.read_value()
            except BadElement as bad:
                value = bad
            yield [value], line
            if self._separator() == _END:
                return

    def _batch(self) -> tuple[list[Any] | None, bool]:
        """Parse whole elements up to a '}' near the end of a window with one orjson call.

        A cut inside a string or a nested value always leaves a bracket open, so a batch
        that parses was cut between elements. Returns (values, array ended) or (None, _).
        """
        if len(self._buf) - self._pos < _BATCH_BYTES and not self._eof:
            self._fill()
        cut, separator = self._batch_cut()
        if separator is None:
            return None, False
        try:
            values = orjson.loads(b"[" + self._buf[self._pos : cut] + b"]")
        except orjson.JSONDecodeError:
            return None, False
        self._pos = separator.end()
        return values, separator.group(1) == b"]"

    def _batch_cut(self) -> tuple[int, re.Match[bytes] | None]:
        """The last '}' in the window that is followed by ',' or ']' and balances the braces.

        Braces inside strings are counted too, which can only make a true cut look
        unbalanced (then the batch is skipped) or a false one balanced (then orjson fails).
        Square brackets are not counted: between the objects of the array they balance
        anyway, and a cut inside an element that is an array fails in orjson.
        """
        buf, pos = self._buf, self._pos
        end = min(len(buf), pos + _BATCH_BYTES)
        balance = buf.count(b"{", pos, end) - buf.count(b"}", pos, end)
        for _ in range(_CUT_TRIES):
            cut = buf.rfind(b"}", pos, end)
            if cut <= pos:
                break
            # Move the window's end back to just after this '}' and update the balance.
            balance += buf.count(b"}", cut + 1, end) - buf.count(b"{", cut + 1, end)
            end = cut
            if balance == 0:
                separator = _SEPARATOR.match(buf, cut + 1)
                if separator is not None and (separator.end() < len(buf) or self._eof):
                    return cut + 1, separator
            balance += 1  # the '}' at cut leaves the window with it
        return 0, None

    def _separator(self) -> int:
        """Take the ',' or ']' after an element and the whitespace around it."""
        match = _SEPARATOR.match(self._buf, self._pos)
        if match is None or match.end() == len(self._buf):
            separator = self.take(b",]")
            if separator != _END:
                self.peek()  # bring the next element into the buffer
            return separator
        self._pos = match.end()
        return match.group(1)[0]

    def at_end(self) -> bool:
        """True when only whitespace is left."""
        return self.peek() == -1

    def fail(self, reason: str) -> JsonBreak:
        """A JsonBreak at the current position."""
        return self._break(reason)

    # -- buffer management -------------------------------------------------------------

    def _fill(self, keep_from: int | None = None) -> bool:
        """Read more bytes, keeping the buffer from keep_from (default: the cursor) on."""
        if self._eof:
            return False
        keep = self._pos if keep_from is None else keep_from
        kept = len(self._buf) - keep
        if kept > MAX_VALUE_BYTES:
            raise self._break(f"a value is larger than {MAX_VALUE_BYTES >> 20} MiB")

        # Grow geometrically so one large value is read in amortised linear time.
        chunk = self._file.read(max(CHUNK_BYTES, kept))
        if not chunk:
            self._eof = True
        if keep < self._line_pos:
            self._line -= self._buf.count(b"\n", keep, self._line_pos)
        else:
            self._line += self._buf.count(b"\n", self._line_pos, keep)
        self._buf = self._buf[keep:] + chunk
        self._base += keep
        self._pos -= keep
        self._line_pos = 0
        return bool(chunk)

    def _advance(self, new_pos: int) -> None:
        self._pos = new_pos

    def _break(self, reason: str, pos: int | None = None) -> JsonBreak:
        at = self._pos if pos is None else pos
        line = self.line + self._buf.count(b"\n", self._pos, at)
        return JsonBreak(reason, self._base + at, line)

    # -- finding where a value ends ----------------------------------------------------

    def _read_container(self, closer: bytes) -> Any:
        """Try orjson at each closer where the brackets balance (ignoring strings) so far."""
        opener = b"{" if closer == b"}" else b"["
        offset, depth = 0, 0  # offsets are relative to the value's start, which may move
        for _ in range(_FAST_TRIES):
            start = self._pos
            end = self._buf.find(closer, start + offset)
            if end == -1:
                if not self._fill():
                    break
                continue
            depth += self._buf.count(opener, start + offset, end) - 1
            offset = end + 1 - start
            if depth > 0:
                continue
            parsed, complete = self._try_parse(end + 1)
            if complete:
                return parsed
        return self._parse(self._exact_end())

    def _try_parse(self, end: int) -> tuple[Any, bool]:
        try:
            value = orjson.loads(memoryview(self._buf)[self._pos : end])
        except orjson.JSONDecodeError as error:
            if error.msg.startswith(_EOF_MESSAGE):
                return None, False
            return self._parse(self._exact_end()), True
        self._advance(end)
        return value, True

    def _exact_end(self) -> int:
        """Find the end of the container at the cursor by counting brackets outside strings."""
        scan, depth = self._pos, 0
        while True:
            match = _STRUCT.search(self._buf, scan)
            if match is None:
                scan = self._refill_or_break(len(self._buf), "the file ends inside a value")
                continue
            at = match.start()
            char = self._buf[at]
            if char == ord('"'):
                rest = _STRING_REST.match(self._buf, at + 1)
                if rest is None:
                    scan = self._refill_or_break(at, "the file ends inside a string")
                    continue
                scan = rest.end()
                continue
            depth += 1 if char in b"{[" else -1
            scan = at + 1
            if depth == 0:
                return scan

    def _refill_or_break(self, resume: int, reason: str) -> int:
        offset = resume - self._pos
        if not self._fill():
            raise self._break(reason, len(self._buf))
        return self._pos + offset

    def _string_end(self, after_quote: int) -> int:
        while True:
            rest = _STRING_REST.match(self._buf, after_quote)
            if rest is not None:
                return rest.end()
            after_quote = self._refill_or_break(after_quote, "the file ends inside a string")

    def _scalar_end(self) -> int:
        while True:
            match = _SCALAR.match(self._buf, self._pos)
            if match is None:
                raise self._break(f"unexpected {chr(self._buf[self._pos])!r}")
            if match.end() < len(self._buf) or self._eof:
                return match.end()
            self._fill()

    def _parse(self, end: int) -> Any:
        """Parse buf[pos:end] whole; a failure is a BadElement and the cursor moves past it."""
        text = memoryview(self._buf)[self._pos : end]
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            bad = BadElement(*self._locate(bytes(text), error))
            self._advance(end)
            raise bad from None
        self._advance(end)
        return value

    def _locate(self, text: bytes, error: orjson.JSONDecodeError) -> tuple[str, int, int]:
        """The reason, absolute byte and line of a parse error inside text."""
        try:
            decoded = text.decode("utf-8")
        except UnicodeDecodeError as bad_utf8:
            offset, reason = bad_utf8.start, "invalid UTF-8"
        else:
            # orjson counts characters; convert to a byte offset for the report.
            offset, reason = len(decoded[: error.pos].encode("utf-8")), error.msg
        line = self.line + text.count(b"\n", 0, offset)
        return reason, self._base + self._pos + offset, line
