"""Guess a file's format from its first 64 KiB: JSON (STIX or a Sentinel body), CSV or a list.

JSON is told by its first byte; a Sentinel upload body by its top-level member names. Text
is CSV when every sampled data line splits into the same number (two or more) of fields
on one delimiter, or when the name ends in .csv or .tsv; anything else is a plain list.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from indicia.errors import InputError

__all__ = ["FORMATS", "sniff_format", "pick_delimiter"]

FORMATS = ("stix", "sentinel", "csv", "list")

_HEAD_BYTES = 64 << 10
_SAMPLE_LINES = 50
_BOM = b"\xef\xbb\xbf"
# Member names only a Sentinel upload body has at its top (Upload API and the legacy
# Upload Indicators API); a STIX bundle has type, id and objects.
_SENTINEL_FIRST_KEY = re.compile(rb'\A\{\s*"(?:sourcesystem|stixobjects|indicators)"\s*:')
_SENTINEL_KEY = re.compile(rb'"(?:sourcesystem|stixobjects)"\s*:')
_TRAILING_COMMENT = re.compile(r"\s+[#;].*\Z")
_DELIMITERS = (",", "\t")


def sniff_format(path: str | Path) -> str:
    """Return 'stix', 'sentinel', 'csv' or 'list' for the file at path."""
    head = _read_head(path)
    body = head.removeprefix(_BOM).lstrip()
    if body[:1] in (b"{", b"["):
        is_sentinel = _SENTINEL_FIRST_KEY.match(body) or _SENTINEL_KEY.search(body)
        return "sentinel" if is_sentinel else "stix"

    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return "stix"
    if suffix in (".csv", ".tsv"):
        return "csv"
    lines = head.removeprefix(_BOM).decode("utf-8", errors="replace").splitlines()
    if len(head) == _HEAD_BYTES:
        lines = lines[:-1]  # the last line may be cut short
    return "csv" if pick_delimiter(_data_lines(lines)) else "list"


def pick_delimiter(lines: list[str]) -> str | None:
    """The delimiter that splits every line into the same number (two or more) of fields."""
    if not lines:
        return None
    for delimiter in _DELIMITERS:
        counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
        if len(counts) == 1 and counts.pop() >= 2:
            return delimiter
    return None


def _data_lines(lines: list[str]) -> list[str]:
    """Sample lines that are neither blank nor comments, with trailing comments cut."""
    sample = []
    for line in lines:
        text = _TRAILING_COMMENT.sub("", line)
        if text.strip() and text.strip()[0] not in "#;":
            sample.append(text)  # trailing tabs are empty fields, so keep them
        if len(sample) == _SAMPLE_LINES:
            break
    return sample


def _read_head(path: str | Path) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read(_HEAD_BYTES)
    except OSError as error:
        raise InputError(str(path), f"cannot open: {error.strerror or error}") from error
