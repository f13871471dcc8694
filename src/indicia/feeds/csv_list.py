"""Reader for CSV feeds: one IOC per value cell, the other columns as fields.

Header policy. Lines starting with ``#`` and blank lines between rows are skipped (case
C022). The first row is the header only when it holds a known column name (see
:mod:`indicia.feeds.columns`); otherwise a comment line directly above the first row is the
header when it holds one and has as many fields (``# id,domain,lastseen``, abuse.ch's
``# "first_seen_utc","dst_ip",...``). With no header at all, every column whose sampled
values parse as observables is a value column; if none does, the first column is.

Each value cell gives one ValueRecord (a hash CSV with SHA256, SHA1 and MD5 columns gives
three per row). Unknown columns are kept in ``fields`` under their normalised names, so the
importer can apply policy (SUNBURST's ``malware_family`` = Benign), and reported once.
Lines are physical line numbers, right across quoted newlines; record numbers count rows.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

from indicia.errors import IndiciaError
from indicia.feeds.columns import Column, classify, is_known, normalize_name
from indicia.feeds.records import FeedRecord, Notice, Position, Rejection, ValueRecord
from indicia.feeds.sniff import pick_delimiter
from indicia.feeds.stix_file import open_binary
from indicia.feeds.text_lines import Line, read_lines
from indicia.observables import parse_observable

__all__ = ["read_csv"]

logger = logging.getLogger(__name__)

_SAMPLE_ROWS = 50
_HEAD_LINES = 200  # physical lines looked at to choose the delimiter
_MAX_RECORD_LINES = 1000  # a quoted field longer than this many lines is unterminated
_IOC_SHARE = 0.8  # share of a column's sampled cells that must parse for it to hold IOCs


@dataclass(slots=True)
class _Row:
    """One logical CSV record: its first physical line and its text (newlines included)."""

    line: int
    text: str
    comment_above: str | None = None  # the comment line directly above, if any


@dataclass(slots=True)
class _Layout:
    """How to read rows: delimiter, columns, and whether the first row is the header."""

    delimiter: str
    columns: list[Column]
    header_row: bool
    notices: list[str] = field(default_factory=list)


def read_csv(path: str | Path) -> Iterator[FeedRecord]:
    """Yield a ValueRecord per value cell of a CSV file, with Notices and Rejections."""
    source = str(path)
    with open_binary(path) as file:
        lines = read_lines(file, source)
        head = list(islice(lines, _HEAD_LINES))
        delimiter = _delimiter(head)
        rows = _rows(chain(head, lines), source, delimiter)
        sample = list(islice(rows, _SAMPLE_ROWS))
        yield from _read_rows(source, sample, chain(sample, rows), delimiter)


def _delimiter(head: list[Line]) -> str:
    """Comma or tab, from the first lines that are not comments (quoted newlines aside)."""
    texts = [item[1] for item in head if not isinstance(item, Rejection)]
    data = [text for text in texts if text.strip() and not text.lstrip().startswith("#")]
    if not data:
        return ","
    chosen = pick_delimiter(data[:_SAMPLE_ROWS])
    return chosen or ("\t" if "\t" in data[0] and "," not in data[0] else ",")


def _read_rows(
    source: str, sample: list[_Row | Rejection], rows: Iterator[_Row | Rejection], delimiter: str
) -> Iterator[FeedRecord]:
    good = [row for row in sample if isinstance(row, _Row)]
    if not good:
        yield from (row for row in sample if isinstance(row, Rejection))
        return
    layout = _layout(good, delimiter)
    for message in layout.notices:
        yield Notice(Position(source, line=good[0].line), message)

    number = 0
    for row in rows:
        if isinstance(row, Rejection):
            yield row
            continue
        if layout.header_row and row is good[0]:
            continue
        number += 1
        yield from _records(row, number, layout, source)


def _rows(lines: Iterator[Line], source: str, delimiter: str) -> Iterator[_Row | Rejection]:
    """Join physical lines into records while a quoted field is open; skip comments."""
    comment: str | None = None
    for item in lines:
        if isinstance(item, Rejection):
            yield item
            comment = None
            continue
        number, text = item
        if not text.strip() or text.lstrip().startswith("#"):
            comment = text.lstrip()[1:].strip() if text.strip() else None
            continue
        yield _join_quoted(_Row(number, text, comment), lines, source, delimiter)
        comment = None


def _join_quoted(row: _Row, lines: Iterator[Line], source: str, delimiter: str) -> _Row | Rejection:
    """Add physical lines to the row while it ends inside a quoted field (RFC 4180 2.6)."""
    parts = [row.text]
    while _quote_open(parts[-1] if len(parts) == 1 else "\n".join(parts), delimiter):
        if len(parts) >= _MAX_RECORD_LINES:
            return Rejection(Position(source, line=row.line), "quoted field is never closed")
        item = next(lines, None)
        if item is None:
            return Rejection(Position(source, line=row.line), "file ends inside a quoted field")
        if isinstance(item, Rejection):
            return item
        parts.append(item[1])
    row.text = "\n".join(parts)
    return row


def _quote_open(text: str, delimiter: str) -> bool:
    """Whether text ends inside a quoted field; the csv module decides, as it will parse it."""
    if '"' not in text:
        return False
    try:
        next(csv.reader([text], delimiter=delimiter, strict=True), None)
    except csv.Error as error:
        return "unexpected end of data" in str(error)
    return False


def _layout(sample: list[_Row], delimiter: str) -> _Layout:
    first = _split(sample[0].text, delimiter)
    if any(is_known(cell) for cell in first):
        return _with_notices(_Layout(delimiter, classify(first), header_row=True))

    above = sample[0].comment_above
    if above is not None:
        commented = _split(above, delimiter)
        if len(commented) == len(first) and any(is_known(cell) for cell in commented):
            return _with_notices(_Layout(delimiter, classify(commented), header_row=False))
    return _headerless(sample, delimiter, len(first))


def _with_notices(layout: _Layout) -> _Layout:
    for column in layout.columns:
        if column.role == "extra":
            layout.notices.append(f"unknown column {column.name!r} kept as an extra field")
    if not any(column.role in ("value", "kind") for column in layout.columns):
        layout.columns = _promote_first(layout.columns)
        layout.notices.append(f"no value column; reading {layout.columns[0].name!r} as the value")
    return layout


def _headerless(sample: list[_Row], delimiter: str, width: int) -> _Layout:
    """No known header: the columns whose sampled cells parse as observables hold values."""
    cells = [_split(row.text, delimiter) for row in sample]
    # Judge columns by the rows after the first, which may itself be an unknown header.
    body = cells[1:] or cells
    holds = [_holds_iocs(body, index) for index in range(width)]
    if not any(holds):
        names = [f"column_{index + 1}" for index in range(width)]
        columns = _promote_first([Column(name, "extra", name) for name in names])
        note = "no header and no column of IOCs; reading column 1 as the value"
        return _Layout(delimiter, columns, header_row=False, notices=[note])

    # A first row whose cells in the IOC columns are not IOCs is an unknown header.
    first = cells[0]
    header_row = len(sample) > 1 and not any(
        _parses(first[index].strip()) for index in range(width) if holds[index]
    )
    names = [
        (normalize_name(first[index]) if header_row else "") or f"column_{index + 1}"
        for index in range(width)
    ]
    columns = [Column(name, "value" if holds[i] else "extra", name) for i, name in enumerate(names)]
    found = ", ".join(str(index + 1) for index in range(width) if holds[index])
    notes = [f"no known header; values read from column {found}"]
    if header_row:
        notes.append("first row read as a header: none of its cells is an IOC")
    return _Layout(delimiter, columns, header_row=header_row, notices=notes)


def _holds_iocs(cells: list[list[str]], index: int) -> bool:
    values = [row[index].strip() for row in cells if index < len(row) and row[index].strip()]
    parsed = sum(1 for value in values if _parses(value))
    return bool(values) and parsed >= _IOC_SHARE * len(values)


def _parses(value: str) -> bool:
    try:
        parse_observable(value)
    except (IndiciaError, ValueError):
        return False
    return True


def _promote_first(columns: list[Column]) -> list[Column]:
    return [Column(columns[0].name, "value", "value"), *columns[1:]]


def _split(text: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error:
        return [text]


def _records(row: _Row, number: int, layout: _Layout, source: str) -> Iterator[FeedRecord]:
    position = Position(source, line=row.line, record=number)
    try:
        cells = next(csv.reader([row.text], delimiter=layout.delimiter), [])
    except csv.Error as error:
        yield Rejection(position, f"unreadable CSV row: {error}")
        return
    if len(cells) != len(layout.columns):
        reason = f"{len(cells)} fields where the header has {len(layout.columns)}"
        yield Rejection(position, reason)
        return

    fields = _fields(layout.columns, cells)
    values = [
        (column, cell.strip())
        for column, cell in zip(layout.columns, cells, strict=True)
        if column.role in ("value", "kind") and cell.strip()
    ]
    if not values:
        yield Rejection(position, "the row has no value")
    for column, value in values:
        yield ValueRecord(value, _with_type(fields, column), position)


def _fields(columns: list[Column], cells: list[str]) -> dict[str, str]:
    return {
        column.field: cell.strip()
        for column, cell in zip(columns, cells, strict=True)
        if column.role in ("field", "extra")
    }


def _with_type(fields: dict[str, str], column: Column) -> dict[str, str]:
    """A kind column gives the type hint, unless the row names its type itself."""
    if column.role != "kind" or fields.get("type"):
        return dict(fields)
    return {**fields, "type": column.field}
