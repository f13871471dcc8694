"""Reader for plain lists: one IOC a line, as most blocklists are published.

Whole-line comments start with ``#`` or ``;``; a trailing comment is whitespace then ``#``
or ``;`` (Spamhaus DROP writes ``1.10.16.0/20 ; SBL256894``) and is kept as the row's
description. The whitespace before it is required, so a URL keeps its ``#fragment``.
Blank lines and surrounding whitespace are dropped; a UTF-8 BOM is dropped (case C023).
A hosts-file line (``0.0.0.0 bad.example``, as DNS blocklists are often published) gives
the host name as the value, with one Notice per file saying so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from indicia.feeds.records import FeedRecord, Notice, Position, Rejection, ValueRecord
from indicia.feeds.stix_file import open_binary
from indicia.feeds.text_lines import read_lines

__all__ = ["read_plain_list", "split_comment"]

_TRAILING_COMMENT = re.compile(r"\s+[#;]\s*(.*)\Z")
_COMMENT_START = ("#", ";")
# A sink address, whitespace, then one or more host names (hosts(5) format).
_HOSTS_LINE = re.compile(r"(?:0\.0\.0\.0|127\.0\.0\.1|::1?)\s+(\S.*)\Z")


def read_plain_list(path: str | Path) -> Iterator[FeedRecord]:
    """Yield a ValueRecord for each value line of a list file, and Rejections for bad lines."""
    source = str(path)
    number = 0
    hosts_noticed = False
    with open_binary(path) as file:
        for item in read_lines(file, source):
            if isinstance(item, Rejection):
                yield item
                continue
            line, text = item
            value, comment = split_comment(text)
            hosts = _HOSTS_LINE.match(value)
            if hosts and not hosts_noticed:
                hosts_noticed = True
                yield Notice(Position(source, line=line), "hosts-file lines: host names read")
            fields = {"description": comment} if comment else {}
            for name in hosts.group(1).split() if hosts else [value][: bool(value)]:
                number += 1
                yield ValueRecord(name, fields, Position(source, line=line, record=number))


def split_comment(text: str) -> tuple[str, str]:
    """Return (value, trailing comment) of one line; both empty for a comment or blank line."""
    stripped = text.strip()
    if not stripped or stripped.startswith(_COMMENT_START):
        return "", ""
    match = _TRAILING_COMMENT.search(stripped)
    if match is None:
        return stripped, ""
    return stripped[: match.start()], match.group(1).strip()
