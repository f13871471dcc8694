"""Read ECS JSON lines into Arrow columns with msgspec, keeping every line's number.

A file is read in chunks of whole lines. A chunk whose lines are one JSON object each is decoded
at once with the typed schema (:mod:`indicia.matching.batch_schema`); any other chunk is decoded
line by line, so a bad line is reported with its number (RFC 8259 4: a line must hold one JSON
object) and its neighbours still count. A line using a spelling the schema does not read widens
the schema for that line and every later one.

Before msgspec, a block of lines goes to the C scanner (``_ecs_scan``, built by setup.py),
which writes Arrow buffers directly; it reads a block only when every line in it is one it can
read exactly as the msgspec path does, and otherwise hands the whole block to that path.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from indicia.matching.batch_native import gather
from indicia.matching.batch_plan import LIST, SCALAR, Column
from indicia.matching.batch_schema import (
    PORT,
    SPELLINGS,
    TIME,
    VALUE,
    Schema,
    Spelling,
    build_schema,
    loosen,
)

CHUNK_BYTES = 1 << 17
# The C scanner reads larger blocks: fewer, longer Arrow chunks.
SCAN_BYTES = 1 << 22
BATCH_ROWS = 1 << 16
# The first chunk is small: its lines decide the schema's spellings before the rest is read.
FIRST_CHUNK_LINES = 1000

# Within one line, a "}" then optional JSON whitespace then "{" is the only way one line can hold
# two objects; without it, one object per line is certain when the object count is right.
_TWO_OBJECTS = re.compile(rb"\}[ \t\r]*\{")


@dataclass(frozen=True)
class EventTimes:
    """Event times (text) and ports, one per row, gathered only for rows with candidates.

    ``first`` is the number of the first row: 1 for line numbers, 0 for table positions.
    """

    stamps: pa.ChunkedArray
    ports: dict[str, pa.ChunkedArray]
    first: int = 1

    def times(self, rows: pa.Array | pa.ChunkedArray) -> pa.Table:
        """(ts, ports...) of these rows, one row each."""
        positions = pc.subtract(rows, self.first) if self.first else rows
        arrays = {"ts": gather(self.stamps, positions)}
        for name, values in self.ports.items():
            arrays[name] = gather(values, positions)
        return pa.table(arrays)


@dataclass
class Loaded:
    """A JSON-lines file as columns: ``table`` has ``row`` (line number) and the value columns.

    Event times and ports are kept apart, aligned with the lines (``events``).
    """

    table: pa.Table
    columns: list[Column]
    events: EventTimes
    lines: int
    unreadable: tuple[int, ...]


class _Columns:
    """Values per spelling: Python lists for the current batch, Arrow arrays for the earlier.

    Converting batch by batch keeps few Python objects alive at once (measured: fewer page
    faults and better cache use than one conversion of whole-file lists).
    """

    def __init__(self) -> None:
        self.pending: dict[Spelling, list[Any]] = {}
        self.pending_rows = 0
        self.done: dict[tuple[Spelling, str], list[pa.Array]] = {}
        self.batches: list[int] = []
        self.rows = 0

    def add(self, schema: Schema, documents: list[Any]) -> None:
        used = schema.ordered
        for spelling in used:
            if spelling not in self.pending:
                self.pending[spelling] = [None] * self.pending_rows
        if used and documents:
            self._extract(schema, used, documents)
        self.pending_rows += len(documents)
        self.rows += len(documents)
        for target in self.pending.values():
            if len(target) < self.pending_rows:
                target.extend([None] * (self.pending_rows - len(target)))
        if self.pending_rows >= BATCH_ROWS:
            self.flush()

    def _extract(self, schema: Schema, used: tuple[Spelling, ...], documents: list[Any]) -> None:
        # One attribute getter for every spelling, then a transpose: both loops run in C.
        getter = attrgetter(*(schema.paths[spelling] for spelling in used))
        rows = map(getter, documents) if len(used) > 1 else ((v,) for v in map(getter, documents))
        for spelling, values in zip(used, zip(*rows, strict=True), strict=True):
            if spelling.item is not None:
                self.pending[spelling].extend(_item_values(value) for value in values)
            else:
                self.pending[spelling].extend(values)

    def add_arrays(self, count: int, arrays: list[tuple[Spelling, str, pa.Array]]) -> None:
        """A block of ``count`` rows already in Arrow (the C scanner), after the pending rows."""
        self.flush()
        self._append(count, arrays)
        self.rows += count

    def flush(self) -> None:
        """Convert the current batch to Arrow."""
        count = self.pending_rows
        if not count:
            return
        arrays = [
            (spelling, shape, array)
            for spelling, values in self.pending.items()
            for shape, array in _arrays(values, spelling)
        ]
        self._append(count, arrays)
        self.pending = {spelling: [] for spelling in self.pending}
        self.pending_rows = 0

    def _append(self, count: int, arrays: list[tuple[Spelling, str, pa.Array]]) -> None:
        # A spelling absent from a batch gets nulls there.
        for spelling, shape, array in arrays:
            chunks = self.done.setdefault((spelling, shape), [])
            chunks.extend(pa.nulls(size, array.type) for size in self.batches[len(chunks) :])
            chunks.append(array)
        self.batches.append(count)
        for (spelling, shape), chunks in self.done.items():
            if len(chunks) < len(self.batches):
                chunks.append(pa.nulls(count, _ARROW_TYPES[spelling.role, shape]))

    def column(self, spelling: Spelling, shape: str) -> pa.ChunkedArray | None:
        chunks = self.done.get((spelling, shape))
        if chunks is None:
            return None
        return pa.chunked_array(chunks, _ARROW_TYPES[spelling.role, shape])


def _item_values(items: list[Any] | None) -> list[str] | None:
    if items is None:
        return None
    found: list[str] = []
    for item in items:
        if isinstance(item.value, list):
            found.extend(item.value)
        elif item.value is not None:
            found.append(item.value)
    return found


def load_jsonl(path: Path) -> Loaded:
    """Decode a JSON-lines file into the columns the match plan reads."""
    schema = build_schema(())
    columns = _Columns()
    unreadable: list[int] = []
    scanner = _SCANNER
    line = 1
    for block in _blocks(path, SCAN_BYTES if scanner else CHUNK_BYTES):
        scanned = scanner.scan(block) if scanner else None
        if scanned is not None:
            rows, found = scanned
            arrays = _scanned_arrays(rows, found)
            columns.add_arrays(rows, arrays)
            line += rows
            # The msgspec path's schema learns the spellings, as if it had read the block.
            seen = {spelling for spelling, _, _ in arrays}
            if not seen <= schema.used:
                schema = build_schema(schema.used | seen)
            continue
        for first, count, chunk in _pieces(line, bytes(block)):
            schema, documents, bad = _decode_chunk(schema, chunk, count)
            columns.add(schema, documents)
            unreadable.extend(first + offset for offset in bad)
            line = first + count
    return _loaded(columns, tuple(unreadable))


def _make_scanner() -> Any:
    """The C scanner for every spelling, or None where the extension was not built.

    A field inside an object array (dns.answers) is not read by the scanner: a block where it
    holds a value goes to the msgspec path.
    """
    try:
        from indicia.matching import _ecs_scan
    except ImportError:  # pragma: no cover - setup.py builds it on install
        return None
    roles = {VALUE: _ecs_scan.VALUE, PORT: _ecs_scan.PORT, TIME: _ecs_scan.TIME}
    spellings = [
        (
            tuple(key.encode() for key in spelling.keys),
            _ecs_scan.ABSENT if spelling.item is not None else roles[spelling.role],
        )
        for spelling in SPELLINGS
    ]
    return _ecs_scan.Scanner(spellings)


_SCANNER = _make_scanner()


def _scanned_arrays(rows: int, found: list[Any]) -> list[tuple[Spelling, str, pa.Array]]:
    """The scanner's buffers as Arrow arrays, per spelling and shape."""
    arrays: list[tuple[Spelling, str, pa.Array]] = []
    for spelling, (scalar, listed) in zip(SPELLINGS, found, strict=True):
        if scalar is not None:
            buffers = [pa.py_buffer(part) for part in scalar]
            kind = _ARROW_TYPES[spelling.role, SCALAR]
            arrays.append((spelling, SCALAR, pa.Array.from_buffers(kind, rows, buffers)))
        if listed is not None:
            valid, list_offsets, child_offsets, child_data = map(pa.py_buffer, listed)
            children = child_offsets.size // 4 - 1
            child = pa.Array.from_buffers(pa.string(), children, [None, child_offsets, child_data])
            array = pa.Array.from_buffers(
                _ARROW_TYPES[VALUE, LIST], rows, [valid, list_offsets], children=[child]
            )
            arrays.append((spelling, LIST, array))
    return arrays


def _pieces(first_line: int, block: bytes) -> Iterator[tuple[int, int, bytes]]:
    """A block of whole lines cut into chunks of about CHUNK_BYTES for the msgspec path."""
    start, line = 0, first_line
    while start < len(block):
        end = block.find(b"\n", start + CHUNK_BYTES)
        end = len(block) if end < 0 else end + 1
        chunk = block[start:end]
        count = chunk.count(b"\n") + (0 if chunk.endswith(b"\n") else 1)
        yield line, count, chunk
        line += count
        start = end


def _blocks(path: Path, block_bytes: int) -> Iterator[memoryview]:
    """The file in blocks of whole lines: the first FIRST_CHUNK_LINES lines, then blocks of
    about ``block_bytes``. A last line without a line end is a line too.

    Each block is a view of one reused buffer, valid until the next is asked for: fresh
    buffers per block cost more in page faults than the scan of them. Plain reads, not a
    memory map: a log truncated while it is read (logrotate's copytruncate) must end the read,
    not kill the process with SIGBUS.
    """
    with path.open("rb") as stream:
        first = b"".join(stream.readline() for _ in range(FIRST_CHUNK_LINES))
        first = first.removeprefix(
            codecs.BOM_UTF8
        )  # Windows tools start files with one; line 1 stays 1
        buffer = bytearray(max(block_bytes, len(first)) * 2)
        held = len(first)
        buffer[:held] = first
        view = memoryview(buffer)
        try:
            end = buffer.rfind(b"\n", 0, held) + 1
            if end:
                yield from _lent(view, end)
            while True:
                # Keep the unfinished last line, then fill up behind it.
                if end:
                    buffer[: held - end] = buffer[end:held]
                    held -= end
                if len(buffer) - held < block_bytes:
                    view.release()
                    buffer.extend(bytes(len(buffer)))  # a line longer than a block: grow
                    view = memoryview(buffer)
                read = stream.readinto(view[held:])
                if not read:
                    break
                # Only the new bytes can hold the last line end (a long line is read once).
                end = buffer.rfind(b"\n", held, held + read) + 1
                held += read
                if end:
                    yield from _lent(view, end)
            if held:
                yield from _lent(view, held)
        finally:
            view.release()


def _lent(view: memoryview, end: int) -> Iterator[memoryview]:
    """The first ``end`` bytes of the view, released once the reader has moved on."""
    piece = view[:end]
    try:
        yield piece
    finally:
        piece.release()


# What a typed decode of untrusted lines may raise: a line nested too deep for msgspec raises
# RecursionError, which must cost that line, not the run.
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


def _decode_chunk(schema: Schema, chunk: bytes, lines: int) -> tuple[Schema, list[Any], list[int]]:
    """The chunk's documents (one per line, empty for a bad line) and its bad lines' offsets."""
    if not _may_hold_two_objects(chunk):
        try:
            documents = schema.decoder.decode_lines(chunk)
        except _DECODE_ERRORS:
            documents = None
        if documents is not None and len(documents) == lines:
            return schema, documents, []
    pieces = chunk.split(b"\n")
    if chunk.endswith(b"\n"):
        pieces.pop()
    return _decode_lines(schema, pieces)


def _may_hold_two_objects(chunk: bytes) -> bool:
    return _TWO_OBJECTS.search(chunk) is not None


def _decode_lines(schema: Schema, lines: list[bytes]) -> tuple[Schema, list[Any], list[int]]:
    """Decode line by line; a line the schema rejects is read loosely and may widen the schema.

    Every schema has the same attribute paths (only the leaf types differ), so documents
    decoded before a widening are read with the wider schema's paths.
    """
    documents: list[Any] = []
    bad: list[int] = []
    for offset, line in enumerate(lines):
        try:
            documents.append(schema.decoder.decode(line))
            continue
        except _DECODE_ERRORS:
            pass
        document, spellings, readable = _loose(schema, line)
        if not spellings <= schema.used:
            schema = build_schema(schema.used | spellings)
            document, _, readable = _loose(schema, line)
        documents.append(document)
        if not readable:
            bad.append(offset)
    return schema, documents, bad


def _loose(schema: Schema, line: bytes) -> tuple[Any, set[Spelling], bool]:
    """A line the typed decoder rejected: (document, spellings it uses, whether it is readable).

    Bytes that are not UTF-8 (cp1252 text from Windows tools, say) are read as U+FFFD, as the
    log readers do: the line's other values still match, whichever field holds the bad bytes.
    """
    if not line.strip(b" \t\r\n\f\v"):
        return schema.empty, set(), True
    line = _as_utf8(line)
    try:
        raw = msgspec.json.decode(line)
    except RecursionError:
        return schema.empty, set(), False  # nested deeper than any reader here goes
    except msgspec.ValidationError:
        # A number beyond a double's range ("1e400") is still JSON (RFC 8259 6 lets a reader
        # limit the range, not reject the text): read the line with those numbers as infinite.
        raw = _with_huge_numbers(line)
        if raw is None:
            return schema.empty, set(), False
    except msgspec.DecodeError:
        return schema.empty, set(), False
    if not isinstance(raw, dict):
        return schema.empty, set(), False
    kept, found = loosen(raw)
    if not found <= schema.used:
        return schema.empty, found, True
    return msgspec.convert(kept, schema.document), found, True


def _as_utf8(line: bytes) -> bytes:
    try:
        line.decode()
    except UnicodeDecodeError:
        return line.decode("utf-8", errors="replace").encode()
    return line


def _with_huge_numbers(line: bytes) -> Any:
    """The line decoded by the standard library, which takes any number; None if it is not
    strict JSON after all (NaN and Infinity are not JSON) or holds what msgspec refuses: a lone
    surrogate escape (``"\\ud800"``), which no UTF-8 column can hold."""

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        document = json.loads(line, parse_constant=constant)
        # Encoding the whole document again finds a lone surrogate in any key or value.
        json.dumps(document, ensure_ascii=False).encode()
    except (ValueError, RecursionError):  # also an integer of more than 4300 digits
        return None
    return document


def _loaded(columns: _Columns, unreadable: tuple[int, ...]) -> Loaded:
    columns.flush()
    rows = columns.rows
    ones = pa.nulls(rows, pa.int32()).fill_null(1)
    arrays: dict[str, Any] = {"row": pc.cumulative_sum(ones)}
    stamps = _first(columns, [s for s in SPELLINGS if s.role == TIME], pa.string())
    ports: dict[str, pa.ChunkedArray] = {}
    for name in sorted({s.field for s in SPELLINGS if s.role == PORT}):
        spellings = [s for s in SPELLINGS if s.role == PORT and s.field == name]
        if any((s, SCALAR) in columns.done for s in spellings):
            ports[name] = _first(columns, spellings, pa.int32())

    value_columns: list[Column] = []
    for spelling in SPELLINGS:
        for shape in (SCALAR, LIST):
            values = columns.column(spelling, shape)
            if spelling.role != VALUE or values is None:
                continue
            column = Column(f"c{len(value_columns)}", spelling.field, shape)
            arrays[column.name] = values
            value_columns.append(column)
    events = EventTimes(stamps, ports)
    return Loaded(pa.table(arrays), value_columns, events, rows, unreadable)


def _first(columns: _Columns, spellings: list[Spelling], kind: pa.DataType) -> pa.ChunkedArray:
    """The first spelling's value, else the next's (as COALESCE would)."""
    present = [columns.column(s, SCALAR) for s in spellings]
    found = [values for values in present if values is not None]
    if not found:
        return pa.chunked_array([pa.nulls(columns.rows, kind)])
    merged = found[0]
    for other in found[1:]:
        merged = pc.coalesce(merged, other)
    return merged


_ARROW_TYPES: dict[tuple[str, str], pa.DataType] = {
    (VALUE, SCALAR): pa.string(),
    (VALUE, LIST): pa.list_(pa.string()),
    (TIME, SCALAR): pa.string(),
    (PORT, SCALAR): pa.int32(),
}


def _arrays(values: list[Any], spelling: Spelling) -> list[tuple[str, pa.Array]]:
    if spelling.role == TIME:
        return [(SCALAR, pa.array(values, pa.string()))]
    if spelling.role == PORT:
        return [(SCALAR, _port_array(values))]
    return _value_arrays(values, spelling)


def _port_array(values: list[int | None]) -> pa.Array:
    # A port outside 32-bit integers is no port (as a failed integer cast would give).
    try:
        return pa.array(values, pa.int32())
    except (pa.ArrowInvalid, OverflowError):
        kept = [v if v is not None and -(2**31) <= v < 2**31 else None for v in values]
        return pa.array(kept, pa.int32())


def _value_arrays(values: list[Any], spelling: Spelling) -> list[tuple[str, pa.Array]]:
    """One column in the shape the values have; both shapes when strings and lists mix."""
    first = LIST if spelling.item is not None else SCALAR
    kinds = {SCALAR: pa.string(), LIST: pa.list_(pa.string())}
    try:
        return [(first, pa.array(values, kinds[first]))]
    except (pa.ArrowTypeError, pa.ArrowInvalid, TypeError):
        pass
    scalars = [value if isinstance(value, str) else None for value in values]
    lists = [value if isinstance(value, list) else None for value in values]
    return [(SCALAR, pa.array(scalars, kinds[SCALAR])), (LIST, pa.array(lists, kinds[LIST]))]
