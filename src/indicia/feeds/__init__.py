"""Readers for intelligence files: STIX bundles, Sentinel upload bodies, CSV and plain lists.

Every reader yields :data:`~indicia.feeds.records.FeedRecord` values in file order and never
raises on bad content: what it cannot read becomes a Rejection with its position. Only a
path that cannot be opened, or an unknown format name, raises :class:`~indicia.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from indicia.errors import InputError
from indicia.feeds.csv_list import read_csv
from indicia.feeds.plain_list import read_plain_list
from indicia.feeds.records import (
    FeedRecord,
    Notice,
    Position,
    Rejection,
    StixRecord,
    ValueRecord,
)
from indicia.feeds.sentinel import read_sentinel
from indicia.feeds.sniff import FORMATS, sniff_format
from indicia.feeds.stix_file import read_stix

__all__ = [
    "FORMATS",
    "FeedRecord",
    "Notice",
    "Position",
    "Rejection",
    "StixRecord",
    "ValueRecord",
    "read_file",
    "sniff_format",
]

_READERS: dict[str, Callable[[str | Path], Iterator[FeedRecord]]] = {
    "stix": read_stix,
    "sentinel": read_sentinel,
    "csv": read_csv,
    "list": read_plain_list,
}


def read_file(path: str | Path, *, fmt: str = "auto") -> Iterator[FeedRecord]:
    """Yield the records of one file; fmt is auto, stix, sentinel, csv or list."""
    chosen = sniff_format(path) if fmt == "auto" else fmt
    reader = _READERS.get(chosen)
    if reader is None:
        raise InputError(str(path), f"unknown format {fmt!r}; use auto or one of {FORMATS}")
    return reader(path)
