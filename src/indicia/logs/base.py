"""What every log parser yields, and the shape every parser module has.

A parser turns lines of one log format into :class:`Event` objects whose fields are named after
the Elastic Common Schema (``source.ip``, ``dns.question.name``, ``url.full``, ...). It never
drops a line silently: a line it cannot read comes out as :class:`Unreadable`, with its position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from indicia.errors import InputError

# A nested mapping is only for values whose exact structure matters, such as RFC 5424 structured
# data (``syslog.structured_data``); matchers read the flat string and list fields.
FieldValue = str | int | float | bool | list[str] | dict[str, dict[str, str]]


@dataclass(slots=True)
class Event:
    """One normalised log event: a UTC time, the log source, ECS-named fields and its origin."""

    timestamp: datetime | None
    source: str
    fields: dict[str, FieldValue]
    path: str = "-"
    line: int = 0
    raw: str | None = None

    @property
    def ref(self) -> str:
        """Where the raw event came from, as ``path:line``."""
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A line the parser could not read: its position and the reason, never silently lost."""

    path: str
    line: int
    reason: str
    text: str = ""


ParseResult = Event | Unreadable
Lines = Iterable[tuple[int, str]]


@dataclass(frozen=True, slots=True)
class LogFormat:
    """A log format: its registry name, how to recognise it, and how to parse it.

    ``sniff`` gets the first non-empty lines of an input and says whether they are this format.
    ``parse`` gets numbered lines (1-based, without line endings) and the input's path.
    """

    name: str
    description: str
    sniff: Callable[[list[str]], bool]
    parse: Callable[[Lines, str], Iterator[ParseResult]]
    extensions: tuple[str, ...] = field(default=())


LineParser = Callable[[str, str, int], Event]


def parse_each_line(
    lines: Lines, path: str, to_event: LineParser, malformed: str
) -> Iterator[ParseResult]:
    """Run a one-line-one-event parser over numbered lines; blank lines are passed over.

    ``to_event`` raises ``indicia.errors.InputError`` for a line that is not its format; any
    ValueError, IndexError or OverflowError a broken line provokes becomes an Unreadable named
    ``malformed`` too, so one line never stops a run.
    """
    for number, line in lines:
        if not line.strip():
            continue
        try:
            yield to_event(line, path, number)
        except InputError as exc:
            yield Unreadable(path, number, exc.reason, line[:1000])
        except (ValueError, IndexError, OverflowError) as exc:
            yield Unreadable(path, number, f"{malformed}: {exc}", line[:1000])
