"""The streaming engine: one event at a time against an in-memory index of indicators.

Exact values sit in dicts, domains are found by walking the event name's labels up to its
top-level domain, and CIDRs sit in one dict per prefix length keyed by the network number, probed
from the longest prefix down: at most 33 (IPv4) or 129 (IPv6) probes find every containing
network, most specific first, where one sorted interval list could only find the innermost.
The semantics and the order of results are the batch engine's (DESIGN.md, "Matching"; the
shared suite ``tests/matching/test_semantics.py``). ``reload`` swaps the whole index in one
assignment, so a running listener picks up new indicators without a restart and never sees
half an index.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import socket
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from indicia.errors import ObservableError
from indicia.logs.base import Event, FieldValue
from indicia.matching import fields as F
from indicia.matching.types import IndicatorEntry, Match, MatchResult, Suppressed
from indicia.matching.warninglists import Warninglists, url_host
from indicia.observables import (
    normalize_domain,
    normalize_email,
    normalize_hash,
    normalize_ipv4,
    normalize_ipv6,
    normalize_url,
)

logger = logging.getLogger(__name__)

Entries = tuple[IndicatorEntry, ...]
_IP_BITS = {4: 32, 6: 128}


@dataclass(slots=True)
class _Index:
    """An immutable-once-built snapshot of the indicators, shaped for one-value lookups."""

    exact: dict[tuple[str, str], Entries] = field(default_factory=dict)
    domains: dict[str, Entries] = field(default_factory=dict)
    # version -> [(prefix length, {network number >> host bits: entries})], longest prefix first
    networks: dict[int, list[tuple[int, dict[int, Entries]]]] = field(default_factory=dict)
    size: int = 0
    rejected: int = 0  # entries whose value is not a valid observable of their kind


def build_index(entries: Iterable[IndicatorEntry]) -> _Index:
    """Sort indicator entries into the dicts and per-prefix tables the engine searches."""
    exact: dict[tuple[str, str], list[IndicatorEntry]] = {}
    domains: dict[str, list[IndicatorEntry]] = {}
    networks: dict[int, dict[int, dict[int, list[IndicatorEntry]]]] = {}
    size = rejected = 0
    for given in entries:
        entry = canonical_entry(given)
        if entry is None:
            rejected += 1
            logger.warning(
                "indicator %s: %r is not a valid %s", given.indicator_id, given.value, given.kind
            )
            continue
        size += 1
        kind = entry.kind
        if kind == F.DOMAIN:
            domains.setdefault(entry.value, []).append(entry)
        elif kind in F.IP_KINDS and "/" in entry.value:
            version, prefix, key = _network_key(entry.value)
            table = networks.setdefault(version, {}).setdefault(prefix, {})
            table.setdefault(key, []).append(entry)
        else:
            exact.setdefault((kind, _lookup_form(kind, entry.value)), []).append(entry)

    return _Index(
        exact={k: tuple(v) for k, v in exact.items()},
        domains={k: tuple(v) for k, v in domains.items()},
        networks={
            version: [
                (prefix, {k: tuple(v) for k, v in tables[prefix].items()})
                for prefix in sorted(tables, reverse=True)
            ]
            for version, tables in networks.items()
        },
        size=size,
        rejected=rejected,
    )


def canonical_entry(entry: IndicatorEntry) -> IndicatorEntry | None:
    """The entry with its kind and value in canonical form, or None when the value is invalid."""
    kind = str(entry.kind)
    try:
        if kind in F.IP_KINDS:
            value = (
                normalize_ipv6(entry.value) if ":" in entry.value else normalize_ipv4(entry.value)
            )
            kind = F.IPV6 if ":" in value else F.IPV4  # an IPv4-mapped address is its IPv4
        elif kind == F.DOMAIN:
            value = normalize_domain(entry.value)
        elif kind == F.URL:
            value = normalize_url(entry.value)
        elif kind == F.EMAIL:
            value = normalize_email(entry.value)
        elif kind in F.HASH_KINDS:
            value = normalize_hash(entry.value, kind)[1]
        else:
            return None
    except (ObservableError, ValueError):
        return None
    if (kind, value) == (entry.kind, entry.value):
        return entry
    return dataclasses.replace(entry, kind=kind, value=value)


def _lookup_form(kind: str, value: str) -> str:
    # E-mail addresses match case-insensitively (DESIGN.md "Canonical IOC values").
    return value.lower() if kind == F.EMAIL else value


def _network_key(cidr: str) -> tuple[int, int, int]:
    """(version, prefix length, network number shifted right by the host bits) of a CIDR."""
    address, _, prefix_text = cidr.partition("/")
    version, number = _ip_number(address)
    prefix = int(prefix_text)
    return version, prefix, number >> (_IP_BITS[version] - prefix)


def _ip_number(address: str) -> tuple[int, int]:
    """(version, integer) of a canonical address."""
    if ":" in address:
        return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, address), "big")
    return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big")


@functools.lru_cache(maxsize=65536)
def canonical_event_value(group: str, raw: str) -> tuple[str, str] | None:
    """(kind, canonical value) of a raw event value of a field group, or None if invalid."""
    try:
        if group == "ip":
            value = normalize_ipv6(raw) if ":" in raw else normalize_ipv4(raw)
            return (F.IPV6 if ":" in value else F.IPV4), value
        if group == F.DOMAIN:
            return F.DOMAIN, normalize_domain(raw)
        if group == F.URL:
            return F.URL, normalize_url(raw)
        if group == F.EMAIL:
            return F.EMAIL, normalize_email(raw).lower()
        kind, value = normalize_hash(raw, group)
        return str(kind), value
    except (ObservableError, ValueError):
        return None


def _field_group(kinds: tuple[str, ...]) -> str:
    """The canonicaliser a field's kinds call for: ``ip``, a name kind, or a hash algorithm."""
    return "ip" if kinds[0] in F.IP_KINDS else kinds[0]


# field -> the canonicaliser group of its kinds
_FIELD_GROUPS: dict[str, str] = {name: _field_group(kinds) for name, kinds in F.FIELD_KINDS.items()}


def _raw_values(value: FieldValue) -> list[str]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) else []


class StreamEngine:
    """Match events one at a time; implements :class:`indicia.matching.types.Engine`."""

    def __init__(
        self,
        entries: Iterable[IndicatorEntry] = (),
        *,
        warninglists: Warninglists | None = None,
    ) -> None:
        self.warninglists = warninglists
        self.counts: Counter[str] = Counter()
        self._index = build_index(entries)

    @property
    def size(self) -> int:
        """How many indicator entries the current index holds."""
        return self._index.size

    @property
    def rejected(self) -> int:
        """How many entries of the last load were left out as invalid for their kind."""
        return self._index.rejected

    def load(self, entries: Iterable[IndicatorEntry]) -> None:
        """Replace the engine's indicators with these."""
        self.reload(entries)

    def reload(self, entries: Iterable[IndicatorEntry]) -> None:
        """Build a new index aside, then swap it in with one assignment (atomic for readers)."""
        index = build_index(entries)
        self._index = index
        logger.info("stream engine loaded %d indicator entries", index.size)

    def match(self, events: Iterable[Event], *, min_confidence: int = 0) -> Iterator[MatchResult]:
        """Yield every match of the events against the indicators valid at each event's time."""
        for event in events:
            yield from self.match_event(event, min_confidence=min_confidence)

    def match_event(self, event: Event, *, min_confidence: int = 0) -> list[MatchResult]:
        """Every match of one event, most specific first for each value, warninglists applied.

        The order is the batch engine's: the event's fields and values as they come, a URL
        before its host, then the most specific entry first, then indicator id. A match found
        twice (one value repeated in a list) is reported once.
        """
        index = self._index  # one snapshot for the whole event, even if reload runs meanwhile
        when = _event_time(event)
        self.counts["events"] += 1

        ranked: dict[tuple[str, str, str, str], tuple[tuple[int, int, int, str], _Candidate]] = {}
        for position, (name, value) in enumerate(event.fields.items()):
            group = _FIELD_GROUPS.get(name)
            if group is None:
                continue
            for probe, match in self._match_field(index, event, name, group, value):
                if _entry_ok(match, event, when, min_confidence):
                    rank = (position, probe, -match.specificity, match.indicator_id)
                    ranked.setdefault(match.identity, (rank, match))
        ordered = sorted(ranked.values(), key=lambda pair: pair[0])
        return [self._screen(match) for _, match in ordered]

    def stats(self) -> dict[str, int]:
        """Counters: events, placeholder and invalid values skipped, matches, suppressed."""
        return dict(self.counts)

    def _screen(self, match: _Candidate) -> MatchResult:
        found = Match(
            match.indicator_id,
            match.kind,
            match.indicator_value,
            match.matched_value,
            match.field,
            match.event,
        )
        listed = self.warninglists.check(found) if self.warninglists else None
        if listed:
            self.counts["suppressed"] += 1
            return Suppressed(found, listed)
        self.counts["matches"] += 1
        return found

    def _match_field(
        self, index: _Index, event: Event, name: str, group: str, value: FieldValue
    ) -> Iterator[tuple[int, _Candidate]]:
        """(probe number, candidate) for each value of a field; a URL's host probes after it."""
        for number, raw in enumerate(_raw_values(value)):
            canonical = self._canonical(group, raw)
            if canonical is None:
                continue
            kind, text = canonical
            for entry in _lookup(index, kind, text):
                yield 2 * number, _Candidate(entry, text, name, event)
            host = _url_host_value(text) if kind == F.URL else None
            if host is not None:
                for entry in _lookup(index, *host):
                    yield 2 * number + 1, _Candidate(entry, host[1], name, event)

    def _canonical(self, group: str, raw: str) -> tuple[str, str] | None:
        """The canonical (kind, value) of a raw event value; placeholders and invalid ones count."""
        if F.is_placeholder(raw):
            self.counts["placeholder"] += 1
            return None
        canonical = canonical_event_value(group, raw)
        if canonical is None or (group == "ip" and "/" in canonical[1]):
            self.counts["invalid"] += 1
            return None
        return canonical


def _url_host_value(url: str) -> tuple[str, str] | None:
    """The canonical (kind, value) of a canonical URL's host: a domain or an IP address."""
    host = url_host(url)
    if not host:
        return None
    return canonical_event_value("ip" if _looks_like_ip(host) else F.DOMAIN, host)


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A value that hit an entry, before validity, confidence, port and warninglist checks."""

    entry: IndicatorEntry
    matched_value: str
    field: str
    event: Event

    @property
    def indicator_id(self) -> str:
        return self.entry.indicator_id

    @property
    def kind(self) -> str:
        return str(self.entry.kind)

    @property
    def indicator_value(self) -> str:
        return self.entry.value

    @property
    def specificity(self) -> int:
        """Prefix length for IPs, label count for domains, 0 for values matched exactly."""
        value, kind = self.entry.value, self.entry.kind
        if kind in F.IP_KINDS:
            prefix = value.partition("/")[2]
            return int(prefix) if prefix else (128 if kind == F.IPV6 else 32)
        return value.count(".") + 1 if kind == F.DOMAIN else 0

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """What makes two candidates of one event the same match."""
        return (self.field, self.matched_value, self.indicator_id, self.entry.value)


def _lookup(index: _Index, kind: str, value: str) -> Iterator[IndicatorEntry]:
    """Entries that a canonical value hits, the most specific first."""
    if kind == F.DOMAIN:
        yield from _lookup_domain(index, value)
        return
    yield from index.exact.get((kind, value), ())
    if kind in F.IP_KINDS and index.networks:
        yield from _lookup_networks(index, value)


def _lookup_domain(index: _Index, name: str) -> Iterator[IndicatorEntry]:
    # A domain indicator covers itself and its subdomains on label boundaries only.
    yield from index.domains.get(name, ())
    start = name.find(".")
    while start >= 0:
        yield from index.domains.get(name[start + 1 :], ())
        start = name.find(".", start + 1)


def _lookup_networks(index: _Index, address: str) -> Iterator[IndicatorEntry]:
    version, number = _ip_number(address)
    bits = _IP_BITS[version]
    for prefix, table in index.networks.get(version, ()):
        yield from table.get(number >> (bits - prefix), ())


def _looks_like_ip(host: str) -> bool:
    return ":" in host or host.replace(".", "").isdigit()


def _event_time(event: Event) -> datetime:
    stamp = event.timestamp
    if stamp is None:
        return datetime.now(UTC)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _utc(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _entry_ok(match: _Candidate, event: Event, when: datetime, min_confidence: int) -> bool:
    """Valid at the event's time (STIX 2.1 3.6: no valid_until means no end), confident, port."""
    entry = match.entry
    if _utc(entry.valid_from) > when:
        return False
    if entry.valid_until is not None and when >= _utc(entry.valid_until):
        return False
    if entry.confidence is None:
        if min_confidence > 0:
            return False
    elif entry.confidence < min_confidence:
        return False
    return entry.port is None or _event_port(event, match.field) == entry.port


def _event_port(event: Event, name: str) -> int | None:
    value = event.fields.get(F.port_field(name))
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() else None
