"""The contract between the store, the matching engines and the alert writer.

The store hands the engines :class:`IndicatorEntry` rows (one per matchable observable of a
current, non-revoked indicator); an engine turns events into :class:`Match` records. The batch
engine and the streaming engine implement the same :class:`Engine` protocol and the same
semantics (DESIGN.md, "Matching"), proven by one shared test suite.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from indicia.logs.base import Event


@dataclass(frozen=True, slots=True)
class IndicatorEntry:
    """One observable of one indicator, as the engines need it."""

    indicator_id: str
    kind: str  # an indicia.observables.Kind value: ipv4-addr, ipv6-addr, domain-name, url, ...
    value: str  # canonical; for IPs possibly a CIDR
    valid_from: datetime
    valid_until: datetime | None = None
    confidence: int | None = None
    port: int | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """An event field whose value matched an indicator's observable."""

    indicator_id: str
    kind: str
    indicator_value: str  # the observable as stored (e.g. the CIDR or the parent domain)
    matched_value: str  # the canonical event value (e.g. the address inside the CIDR)
    field: str  # the ECS field name of the event
    event: Event


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A match withheld because its value is on a warninglist (well-known benign values)."""

    match: Match
    warninglist: str  # the warninglist's name


MatchResult = Match | Suppressed


class Engine(Protocol):
    """What both engines offer: load indicators, then match events."""

    def load(self, entries: Iterable[IndicatorEntry]) -> None:
        """Replace the engine's indicators with these."""

    def match(self, events: Iterable[Event], *, min_confidence: int = 0) -> Iterator[MatchResult]:
        """Yield every match of the events against the indicators valid at each event's time."""
