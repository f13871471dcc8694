"""Alerts in the store: folded with earlier ones, listed, acknowledged and closed.

An alert arriving for the same indicator, value and log source as a stored one whose last
sighting lies within the fold window is merged into it (first/last seen widened, the count
grown by the events the stored alert has not counted yet).

Matching the same events twice must not double an alert. A stored alert keeps the keys of the
events it counted (``seen``: a hash of each event's line number and raw text, ``event_key``):
an arriving event whose key an alert of the same indicator, value and log source holds is
counted already. An event is known by what its log says, not by the file's name, so a file
matched again (alone, beside others, grown by appended lines), a copy, a gzipped rotation or
the same lines piped in add nothing, and an export overwritten with other lines counts them.
An alert keeps at most SEEN_KEYS keys; past that (a noisy indicator) further events always add.
Events the listener received always add. An alert written with none of its events told (and rows
stored before ``seen`` existed) falls back to an older rule: an alert whose first event is the
stored alert's first is a re-run, and its count replaces, never adds.

A closed alert folds in nothing but a re-run, so activity after it was closed raises a new one.
Every write recomputes the Alerts column (``objects.alert_count``) of the indicators it touched.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import Engine, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from indicia.errors import InputError, NotFoundError
from indicia.stix.object_types import SEVERITIES
from indicia.store.engine import advisory_lock
from indicia.store.schema import alerts
from indicia.store.schema import objects as indicators

STATUSES = ("new", "acknowledged", "closed")
DEFAULT_WINDOW = timedelta(hours=1)


class AlertLike(Protocol):
    """The fields of an alert the store keeps (see ``indicia.matching.alerts.Alert``)."""

    @property
    def id(self) -> str: ...

    @property
    def indicator_ids(self) -> Sequence[str]: ...

    @property
    def kind(self) -> str: ...

    @property
    def matched_value(self) -> str: ...

    @property
    def field(self) -> str: ...

    @property
    def log_source(self) -> str: ...

    @property
    def first_seen(self) -> datetime: ...

    @property
    def last_seen(self) -> datetime: ...

    @property
    def count(self) -> int: ...

    @property
    def raw_ref(self) -> str: ...

    @property
    def severity(self) -> str: ...

    @property
    def kill_chain_phases(self) -> Sequence[dict[str, str]]: ...

    @property
    def tlp(self) -> str | None: ...

    @property
    def confidence(self) -> int | None: ...

    @property
    def tags(self) -> Sequence[str]: ...

    @property
    def event_action(self) -> str | None: ...

    @property
    def event_keys(self) -> Collection[str]: ...

    @property
    def untracked(self) -> int: ...


@dataclass(slots=True)
class SaveResult:
    """What saving a run's alerts did."""

    created: int = 0
    folded: int = 0
    ids: list[str] = field(default_factory=list)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _row(alert: AlertLike, now: str) -> dict[str, Any]:
    return {
        "id": alert.id,
        "indicator_id": alert.indicator_ids[0],
        "indicator_ids": orjson.dumps(list(alert.indicator_ids)).decode(),
        "kind": alert.kind,
        "matched_value": alert.matched_value,
        "field": alert.field,
        "log_source": alert.log_source,
        "first_seen": _stamp(alert.first_seen),
        "last_seen": _stamp(alert.last_seen),
        "count": alert.count,
        "raw_ref": alert.raw_ref,
        "severity": alert.severity,
        "kill_chain_phases": orjson.dumps(list(alert.kill_chain_phases)).decode(),
        "tlp": alert.tlp,
        "confidence": alert.confidence,
        "tags": orjson.dumps(list(alert.tags)).decode(),
        "event_action": alert.event_action,
        "status": "new",
        "created": now,
        "updated": now,
        "seen": _dump_seen(_widened(None, alert.event_keys)) if alert.event_keys else None,
    }


# The most event keys an alert keeps (about 18 bytes each as JSON).
SEEN_KEYS = 4096


@dataclass(frozen=True, slots=True)
class _Seen:
    """The keys of the events a stored alert counted; ``capped`` once it stopped keeping them."""

    keys: frozenset[str]
    capped: bool = False


@functools.lru_cache(maxsize=1024)
def _parsed_seen(text: str) -> _Seen | None:
    # One run compares many arrivals with the same stored alerts: parse each record once.
    value = orjson.loads(text)
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        return None  # not this rule's record: the older rule applies
    return _Seen(frozenset(value["keys"]), bool(value.get("capped")))


def _told(stored: dict[str, Any]) -> _Seen | None:
    """What a stored alert recorded of its events; None for the older rule."""
    text = stored["seen"]
    return None if text is None else _parsed_seen(text)


def _dump_seen(seen: _Seen) -> str:
    return orjson.dumps({"keys": sorted(seen.keys), "capped": seen.capped}).decode()


def _widened(seen: _Seen | None, keys: Collection[str]) -> _Seen:
    grown = set(seen.keys) if seen is not None else set()
    capped = seen is not None and seen.capped
    for key in keys:
        if len(grown) >= SEEN_KEYS:
            capped = True
            break
        grown.add(key)
    return _Seen(frozenset(grown), capped)


@dataclass(slots=True)
class _Arrival:
    """A row of the batch and what is known of its events against the stored alerts."""

    row: dict[str, Any]
    keys: list[str]
    untracked: int
    # Of the told events, how many no alert of the key has counted; None when none was told.
    fresh: int | None = None

    def adds(self) -> int | None:
        """Events this row adds to any alert; None when that is for the older rule to say."""
        return None if self.fresh is None else self.fresh + self.untracked

    def only_counted(self) -> bool:
        return self.fresh == 0 and self.untracked == 0


def _fresh(known: Sequence[dict[str, Any]], keys: Sequence[str]) -> int:
    held = [seen.keys for seen in map(_told, known) if seen is not None]
    return sum(1 for key in keys if not any(key in h for h in held))


_FoldKey = tuple[str, str, str]
# PostgreSQL advisory lock key of the alert writers (any fixed 64-bit number).
_ALERT_LOCK = 0x1D1C1A_A1E27


def _one_writer(conn: Connection) -> None:
    """Make this transaction the only alert writer until it ends.

    Folding reads the stored alerts and then writes: two runs at once (match beside listen)
    would each miss the other's new alert and both insert one. SQLite takes its write lock at
    once (BEGIN IMMEDIATE); PostgreSQL a transaction-scoped advisory lock.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        advisory_lock(conn, _ALERT_LOCK)


# Rows per IN list: within SQLite's and PostgreSQL's bound-parameter limits.
_IN_CHUNK = 500


def _key(row: dict[str, Any]) -> _FoldKey:
    return row["indicator_id"], row["matched_value"], row["log_source"]


def _shifted(stamp: str, by: timedelta) -> str:
    return _stamp(datetime.fromisoformat(stamp) - by)


def _holder(known: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    """The alert of the key that has counted this event."""
    for stored in known:
        seen = _told(stored)
        if seen is not None and key in seen.keys:
            return stored
    raise LookupError(key)  # only called for an event some alert has counted


def _fold_candidates(
    conn: Connection, rows: Sequence[dict[str, Any]], window: timedelta
) -> dict[_FoldKey, list[dict[str, Any]]]:
    """Stored alerts a row of this batch may fold into, by (indicator, value, log source)."""
    keys = {_key(row) for row in rows}
    earliest = _shifted(min(row["first_seen"] for row in rows), window)
    indicator_ids = sorted({key[0] for key in keys})
    found: dict[_FoldKey, list[dict[str, Any]]] = {}
    for start in range(0, len(indicator_ids), _IN_CHUNK):
        chunk = indicator_ids[start : start + _IN_CHUNK]
        query = select(alerts).where(
            alerts.c.indicator_id.in_(chunk), alerts.c.last_seen >= earliest
        )
        for stored in conn.execute(query):
            row = dict(stored._mapping)
            if _key(row) in keys:
                found.setdefault(_key(row), []).append(row)
    return found


def _fold_target(
    candidates: Sequence[dict[str, Any]], arrival: _Arrival, window: timedelta
) -> dict[str, Any] | None:
    """The stored alert with the latest sighting that this row may fold into, if any.

    The rule is the matching run's (``AlertFolder``): together they must span less than one
    window, so a re-run of the same logs splits its events into the same alerts again and each
    is recognised as a re-run. A closed alert takes only a re-run of what is counted already:
    new activity after an analyst closed it opens a new alert rather than vanishing into it.
    """
    row = arrival.row
    reached = [
        stored
        for stored in candidates
        if _span(stored, row) < window
        and (stored.get("status") != "closed" or _is_rerun(stored, arrival))
    ]
    return max(reached, key=lambda stored: stored["last_seen"], default=None)


def _span(stored: dict[str, Any], row: dict[str, Any]) -> timedelta:
    first = min(stored["first_seen"], row["first_seen"])
    last = max(stored["last_seen"], row["last_seen"])
    return datetime.fromisoformat(last) - datetime.fromisoformat(first)


def _is_rerun(stored: dict[str, Any], arrival: _Arrival) -> bool:
    """Whether the row holds only events counted already: the same logs again."""
    if arrival.fresh is not None and _told(stored) is not None:
        return arrival.only_counted()
    row = arrival.row
    return bool(stored["raw_ref"] == row["raw_ref"] and stored["first_seen"] == row["first_seen"])


def _merge(stored: dict[str, Any], arrival: _Arrival) -> dict[str, Any]:
    row = arrival.row
    seen = _told(stored)
    adds = arrival.adds()
    if adds is not None and seen is not None:
        count = stored["count"] + adds
    elif _is_rerun(stored, arrival):
        count = max(stored["count"], row["count"])
    else:
        count = stored["count"] + row["count"]
    if arrival.keys:
        seen = _widened(seen, arrival.keys)
    return {
        "count": count,
        "first_seen": min(stored["first_seen"], row["first_seen"]),
        "last_seen": max(stored["last_seen"], row["last_seen"]),
        "severity": _higher(stored["severity"], row["severity"]),
        "updated": row["updated"],
        "seen": None if seen is None else _dump_seen(seen),
    }


def save_alerts(
    engine: Engine, batch: Sequence[AlertLike], *, window: timedelta = DEFAULT_WINDOW
) -> SaveResult:
    """Store a run's alerts in one transaction, folding them into stored ones where they repeat.

    The batch is folded in order, as if written one alert at a time: an alert may fold into
    one stored earlier in the same batch. The stored alerts it may meet are read at once and
    the writes go in two statements, so the cost does not grow with a query per alert.
    """
    result = SaveResult()
    now = _stamp(datetime.now(UTC))
    arrivals = [
        _Arrival(_row(alert, now), list(alert.event_keys), alert.untracked) for alert in batch
    ]
    if not arrivals:
        return result
    with engine.begin() as conn:
        _one_writer(conn)
        candidates = _fold_candidates(conn, [a.row for a in arrivals], window)
        inserted: dict[str, dict[str, Any]] = {}
        changed: dict[str, dict[str, Any]] = {}
        for arrival in arrivals:
            row = arrival.row
            known = candidates.setdefault(_key(row), [])
            if arrival.keys:
                arrival.fresh = _fresh(known, arrival.keys)
            stored = _fold_target(known, arrival, window)
            if stored is None and arrival.only_counted():
                # Every event is counted by alerts of its key already (a re-run that groups
                # them otherwise): nothing to add, and no new alert for them.
                holder = _holder(known, arrival.keys[0])
                result.folded += 1
                result.ids.append(holder["id"])
                continue
            if stored is None:
                adds = arrival.adds()
                if adds is not None:
                    row["count"] = adds  # what a closed alert counted is not counted again
                known.append(row)
                inserted[row["id"]] = row
                result.created += 1
                result.ids.append(row["id"])
                continue
            stored.update(_merge(stored, arrival))
            if stored["id"] not in inserted:
                changed[stored["id"]] = stored
            result.folded += 1
            result.ids.append(stored["id"])
        _write(conn, list(inserted.values()), list(changed.values()))
        _recount(conn, {a.row["indicator_id"] for a in arrivals})
    return result


@dataclass(frozen=True, slots=True)
class Repeat:
    """Events a stored alert saw again since it was last written: ``count`` more of them."""

    alert_id: str
    count: int
    first_seen: datetime
    last_seen: datetime
    severity: str


def add_repeats(engine: Engine, repeats: Sequence[Repeat]) -> list[str]:
    """Add repeats to stored alerts by id: counts grow, seen times widen, severity only rises.

    For a service that writes each alert when it opens and its repeats as they pile up. A
    closed alert is left as it is and its id returned: the repeats are new activity, which
    belongs in a new alert. An id no longer stored (deleted meanwhile) is passed over.
    """
    wanted: dict[str, Repeat] = {}
    for repeat in repeats:
        if repeat.count > 0:
            known = wanted.get(repeat.alert_id)
            wanted[repeat.alert_id] = repeat if known is None else _joined(known, repeat)
    if not wanted:
        return []
    now = _stamp(datetime.now(UTC))
    ids = sorted(wanted)
    closed: list[str] = []
    with engine.begin() as conn:
        _one_writer(conn)
        changed: list[dict[str, Any]] = []
        for start in range(0, len(ids), _IN_CHUNK):
            query = select(alerts).where(alerts.c.id.in_(ids[start : start + _IN_CHUNK]))
            for stored in conn.execute(query):
                row = dict(stored._mapping)
                if row["status"] == "closed":
                    closed.append(row["id"])
                else:
                    changed.append(_with_repeat(row, wanted[row["id"]], now))
        _write(conn, [], changed)
    return closed


def _joined(one: Repeat, other: Repeat) -> Repeat:
    """Two repeats of one stored alert as one."""
    return Repeat(
        one.alert_id,
        one.count + other.count,
        min(one.first_seen, other.first_seen),
        max(one.last_seen, other.last_seen),
        _higher(one.severity, other.severity),
    )


def _with_repeat(row: dict[str, Any], repeat: Repeat, now: str) -> dict[str, Any]:
    row.update(
        count=row["count"] + repeat.count,
        first_seen=min(row["first_seen"], _stamp(repeat.first_seen)),
        last_seen=max(row["last_seen"], _stamp(repeat.last_seen)),
        severity=_higher(row["severity"], repeat.severity),
        updated=now,
    )
    return row


def _higher(one: str, other: str) -> str:
    """The higher of two severities: folding never lowers an alert's severity."""
    ranked = [s for s in (one, other) if s in SEVERITIES]
    return max(ranked, key=SEVERITIES.index, default=other)


def _write(conn: Connection, inserted: list[dict[str, Any]], changed: list[dict[str, Any]]) -> None:
    if inserted:
        conn.execute(insert(alerts), inserted)
    if changed:
        # Bound names differ from the column names, which SQLAlchemy keeps for itself.
        merged = [{"m_id": row["id"], **{f"m_{k}": row[k] for k in _MERGED}} for row in changed]
        values: dict[str, Any] = {name: bindparam(f"m_{name}") for name in _MERGED}
        query = update(alerts).where(alerts.c.id == bindparam("m_id")).values(values)
        conn.execute(query, merged)


_MERGED = ("count", "first_seen", "last_seen", "severity", "updated", "seen")


def _recount(conn: Connection, indicator_ids: set[str]) -> None:
    """Set the Alerts column of these indicators from the alerts stored for them."""
    count = (
        select(func.count())
        .select_from(alerts)
        .where(alerts.c.indicator_id == indicators.c.id)
        .scalar_subquery()
    )
    wanted = sorted(indicator_ids)
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        conn.execute(update(indicators).where(indicators.c.id.in_(chunk)).values(alert_count=count))


def list_alerts(
    engine: Engine,
    *,
    status: str | None = None,
    indicator_id: str | None = None,
    ids: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Stored alerts (only ``ids``, when given), newest sighting first, JSON columns decoded."""
    query = select(alerts).order_by(alerts.c.last_seen.desc(), alerts.c.id)
    if ids is not None:
        query = query.where(alerts.c.id.in_(list(ids)))
    if status:
        query = query.where(alerts.c.status == _check_status(status))
    if indicator_id:
        query = query.where(alerts.c.indicator_id == indicator_id)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        rows = [{str(k): v for k, v in row._mapping.items()} for row in conn.execute(query)]
    for row in rows:
        for key in ("indicator_ids", "kill_chain_phases", "tags"):
            row[key] = orjson.loads(row[key])
    return rows


def _check_status(status: str) -> str:
    if status not in STATUSES:
        raise InputError(
            "--status", f"unknown status {status!r}; choose one of {', '.join(STATUSES)}"
        )
    return status


def set_status(engine: Engine, ids: Sequence[str], status: str) -> int:
    """Acknowledge or close alerts; how many changed. Every id must exist, or nothing changes.

    Status only moves forward (new, acknowledged, closed): acknowledging a closed alert leaves
    it closed, so a late acknowledgement cannot reopen what an analyst has closed.
    """
    _check_status(status)
    now = _stamp(datetime.now(UTC))
    earlier = list(STATUSES[: STATUSES.index(status)])
    with engine.begin() as conn:
        found = set(conn.execute(select(alerts.c.id).where(alerts.c.id.in_(list(ids)))).scalars())
        missing = [alert_id for alert_id in ids if alert_id not in found]
        if missing:
            raise NotFoundError(f"no alert with id {', '.join(repr(m) for m in missing)}")
        query = update(alerts).where(alerts.c.id.in_(list(ids)), alerts.c.status.in_(earlier))
        changed = conn.execute(query.values(status=status, updated=now)).rowcount
    return int(changed)
