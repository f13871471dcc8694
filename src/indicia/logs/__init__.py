"""Log parsers: each format module turns lines into ECS-named events (see ``base``)."""

from indicia.logs.base import Event, LogFormat, ParseResult, Unreadable
from indicia.logs.inputs import expand_paths, read_events, read_lines
from indicia.logs.registry import FORMATS, get_format, sniff_format

__all__ = [
    "FORMATS",
    "Event",
    "LogFormat",
    "ParseResult",
    "Unreadable",
    "expand_paths",
    "get_format",
    "read_events",
    "read_lines",
    "sniff_format",
]
