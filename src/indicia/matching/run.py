"""Match log files against the stored intelligence and store what was found as alerts.

This is the service behind ``indicia match`` and ``indicia hunt``: read and parse the logs,
match them with the batch engine (in chunks, so memory stays flat), fold matches into alerts,
store the alerts and their STIX sightings, and report every count.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from indicia.gctune import fewer_collections
from indicia.logs.base import Event, Unreadable
from indicia.logs.inputs import read_events
from indicia.matching.alerts import (
    Alert,
    AlertFolder,
    IndicatorContext,
    log_source_identity,
    to_sighting,
)
from indicia.matching.batch import BatchEngine
from indicia.matching.types import IndicatorEntry, MatchResult, Suppressed
from indicia.matching.warninglists import default_warninglists
from indicia.stix.objects import validate_object
from indicia.stix.timestamps import format_timestamp
from indicia.store import Store, prepare
from indicia.store.alerts import list_alerts, save_alerts
from indicia.store.indicators import IS_INDICATOR, indicators, matchable_entries, parse_stamp
from indicia.store.schema import alerts as alerts_table

log = logging.getLogger(__name__)

CHUNK = 50_000
MAX_POSITIONS = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class MatchOptions:
    """How to read and match: the log format, the time floor, confidence and noise filters."""

    fmt: str = "auto"
    mapping: str | None = None  # a TOML field-mapping file for the generic format
    since: datetime | None = None
    min_confidence: int = 0
    warninglists: bool = True
    hunt: bool = False  # match every indicator valid now, whatever the event's time
    window: timedelta = timedelta(hours=1)


@dataclass(slots=True)
class MatchReport:
    """What a run read, matched, suppressed and stored."""

    events: int = 0
    unreadable: int = 0
    unreadable_positions: list[str] = field(default_factory=list)
    older_than_since: int = 0
    # Events whose time could not be read (absent or unparsable): matched as of the run's time,
    # and kept by --since, since nothing says they are older.
    without_time: int = 0
    matches: int = 0
    suppressed: int = 0
    suppressed_by: Counter[str] = field(default_factory=Counter)
    alerts_created: int = 0
    alerts_folded: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data (``--output json``)."""
        return {
            "events": self.events,
            "unreadable": self.unreadable,
            "unreadable_positions": self.unreadable_positions,
            "older_than_since": self.older_than_since,
            "without_time": self.without_time,
            "matches": self.matches,
            "suppressed": self.suppressed,
            "suppressed_by": dict(self.suppressed_by),
            "alerts_created": self.alerts_created,
            "alerts_folded": self.alerts_folded,
            "alerts": self.alerts,
        }


def hunt_entries(entries: Iterable[IndicatorEntry], now: datetime) -> Iterator[IndicatorEntry]:
    """The entries valid now, made valid at any event time: a retro-hunt over older logs."""
    for entry in entries:
        current = entry.valid_from <= now and (entry.valid_until is None or now < entry.valid_until)
        if current:
            yield IndicatorEntry(
                indicator_id=entry.indicator_id,
                kind=entry.kind,
                value=entry.value,
                valid_from=_EPOCH,
                valid_until=None,
                confidence=entry.confidence,
                port=entry.port,
            )


def indicator_contexts(store: Store) -> dict[str, IndicatorContext]:
    """What each current indicator gives the alerts it raises."""
    col = indicators.c
    columns = (col.id, col.name, col.severity, col.confidence, col.tlp, col.kill_chain_phases)
    query = select(*columns, col.labels).where(IS_INDICATOR, col.revoked.is_(False))
    with store.engine.connect() as conn:
        return {
            row.id: IndicatorContext(
                indicator_id=row.id,
                name=row.name or "",
                severity=row.severity,
                confidence=row.confidence,
                tlp=row.tlp,
                kill_chain_phases=tuple(orjson.loads(row.kill_chain_phases)),
                labels=tuple(orjson.loads(row.labels)),
            )
            for row in conn.execute(query)
        }


def _chunks(items: Iterable[Event], size: int) -> Iterator[list[Event]]:
    chunk: list[Event] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Run:
    """One run's state: the report, the folder, the contexts."""

    def __init__(self, store: Store, options: MatchOptions) -> None:
        self.store = store
        self.options = options
        self.report = MatchReport()
        self.folder = AlertFolder(window=options.window)
        self.contexts = indicator_contexts(store)

    def events(self, paths: Sequence[str | Path]) -> Iterator[Event]:
        since = self.options.since
        options = self.options
        for item in read_events([str(p) for p in paths], fmt=options.fmt, mapping=options.mapping):
            if isinstance(item, Unreadable):
                self.report.unreadable += 1
                if len(self.report.unreadable_positions) < MAX_POSITIONS:
                    self.report.unreadable_positions.append(
                        f"{item.path}:{item.line}: {item.reason}"
                    )
                continue
            self.report.events += 1
            if item.timestamp is None:
                self.report.without_time += 1
            if since is not None and item.timestamp is not None and item.timestamp < since:
                self.report.older_than_since += 1
                continue
            yield item

    def take(self, result: MatchResult) -> None:
        if isinstance(result, Suppressed):
            self.report.suppressed += 1
            self.report.suppressed_by[result.warninglist] += 1
            return
        context = self.contexts.get(result.indicator_id)
        if context is None:  # revoked or deleted while the run went on
            return
        self.report.matches += 1
        self.folder.add(result, context)


def match_logs(store: Store, paths: Sequence[str | Path], options: MatchOptions) -> MatchReport:
    """Match log files against the store's indicators and store the alerts they raise."""
    run = _Run(store, options)
    entries: Iterable[IndicatorEntry] = matchable_entries(store.engine)
    if options.hunt:
        entries = hunt_entries(entries, datetime.now(UTC))
    engine = BatchEngine(warninglists=default_warninglists() if options.warninglists else None)
    engine.load(list(entries))

    with fewer_collections():
        for chunk in _chunks(run.events(paths), CHUNK):
            for result in engine.match(chunk, min_confidence=options.min_confidence):
                run.take(result)

    found = run.folder.alerts()
    saved = save_alerts(store.engine, found, window=options.window)
    run.report.alerts_created, run.report.alerts_folded = saved.created, saved.folded
    stored = _stored(store, saved.ids)
    _record_sightings(store, stored)
    run.report.alerts = [_public(row) for row in stored]
    log.info(
        "matched %d events: %d matches, %d alerts",
        run.report.events,
        run.report.matches,
        len(stored),
    )
    return run.report


def _stored(store: Store, ids: Sequence[str]) -> list[dict[str, Any]]:
    wanted = list(dict.fromkeys(ids))
    rows: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):  # bound the IN list (SQLite's parameter limit)
        chunk = wanted[start : start + 500]
        rows.update((row["id"], row) for row in list_alerts(store.engine, ids=chunk))
    return [rows[alert_id] for alert_id in wanted if alert_id in rows]


def _as_alert(row: dict[str, Any]) -> Alert:
    return Alert(
        id=row["id"],
        indicator_ids=list(row["indicator_ids"]),
        matched_value=row["matched_value"],
        field=row["field"],
        kind=row["kind"],
        log_source=row["log_source"],
        first_seen=parse_stamp(row["first_seen"]),
        last_seen=parse_stamp(row["last_seen"]),
        raw_ref=row["raw_ref"],
        severity=row["severity"],
        kill_chain_phases=list(row["kill_chain_phases"]),
        tlp=row["tlp"],
        confidence=row["confidence"],
        tags=list(row["tags"]),
        status=row["status"],
        count=row["count"],
        event_action=row["event_action"],
    )


def _record_sightings(store: Store, rows: Sequence[dict[str, Any]]) -> None:
    """Each stored alert as a STIX sighting, seen by an identity for its log source."""
    objs: dict[str, dict[str, Any]] = {}
    for row in rows:
        identity = log_source_identity(row["log_source"])
        objs[identity["id"]] = identity
        sighting = to_sighting(_as_alert(row), identity["id"], created=parse_stamp(row["created"]))
        # A folded alert is a new version of its sighting: modified follows the alert's update.
        sighting["modified"] = format_timestamp(parse_stamp(row["updated"]))
        objs[sighting["id"]] = sighting
    for obj in objs.values():
        validate_object(obj)
    store.upsert([prepare(obj) for obj in objs.values()])


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {str(key): row[key] for key in alerts_table.c.keys()}  # noqa: SIM118 - a column set
