"""Fold matches into alerts, rate them, and write each alert as a STIX 2.1 sighting.

Repeats of one indicator on one entity (the matched value) fold into one alert while the
alert's span of event time stays under the window; a later repeat opens a new alert. Severity
comes from the indicator's own severity, else from its confidence (STIX 2.1 appendix A: the
0-100 scale), and rises one step when the event says the traffic was let through.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from dataclasses import field as _field
from datetime import UTC, datetime, timedelta
from typing import Any

from indicia.logs.base import Event
from indicia.matching.types import Match
from indicia.stix.markings import tlp_marking_id
from indicia.stix.object_types import SEVERITIES
from indicia.stix.timestamps import format_timestamp

# Confidence floors for each severity when an indicator names none (STIX 2.1 appendix A maps
# 0-100 onto None/Low/Med/High; "high" starts at 85 here to keep High for the well-vetted).
CONFIDENCE_SEVERITY = ((85, "high"), (50, "medium"), (15, "low"))

_ALLOWED = frozenset({"allow", "allowed", "accept", "accepted", "permit", "permitted", "pass"})
_BLOCKED = frozenset({"deny", "denied", "drop", "dropped", "block", "blocked", "reject", "reset"})

# uuid5 namespace of the identities Indicia makes for log sources, so one name is one identity.
LOG_SOURCE_NAMESPACE = uuid.UUID("6a1e0f0c-3b9e-5d59-9d1e-61c0a7e5b2f4")


@dataclass(frozen=True, slots=True)
class IndicatorContext:
    """What the store knows of an indicator that an alert carries."""

    indicator_id: str
    name: str = ""
    severity: str | None = None
    confidence: int | None = None
    tlp: str | None = None  # a TLP 2.0 level: clear, green, amber, amber+strict, red
    kill_chain_phases: tuple[dict[str, str], ...] = ()
    labels: tuple[str, ...] = ()


@dataclass(slots=True)
class Alert:
    """One or more matches of an indicator on one entity within a window."""

    id: str
    indicator_ids: list[str]
    matched_value: str
    field: str
    kind: str
    log_source: str
    first_seen: datetime
    last_seen: datetime
    raw_ref: str
    severity: str
    kill_chain_phases: list[dict[str, str]] = _field(default_factory=list)
    tlp: str | None = None
    confidence: int | None = None
    tags: list[str] = _field(default_factory=list)
    status: str = "new"
    count: int = 1
    event_action: str | None = None
    indicator_value: str = ""
    # Where the latest event folded in came from (raw_ref is the first's); not stored.
    last_ref: str = ""
    # The events counted, by a hash of their raw text (see event_key); the store keeps them, so
    # a later run that meets the same events does not count them twice. ``untracked`` counts
    # events without a raw text, which always add.
    event_keys: set[str] = _field(default_factory=set)
    untracked: int = 0


def severity_of(context: IndicatorContext, event: Event | None = None) -> str:
    """The alert severity for an indicator, one step higher if the event's traffic was allowed."""
    level = _base_severity(context)
    if event is not None and traffic_allowed(event):
        level = SEVERITIES[min(SEVERITIES.index(level) + 1, len(SEVERITIES) - 1)]
    return level


def _base_severity(context: IndicatorContext) -> str:
    named = (context.severity or "").strip().lower()
    if named in SEVERITIES:
        return named
    if named == "info":
        return "informational"

    # No confidence at all is treated as the lowest band: nothing vouches for the indicator.
    confidence = context.confidence if context.confidence is not None else -1
    for floor, level in CONFIDENCE_SEVERITY:
        if confidence >= floor:
            return level
    return "informational"


def traffic_allowed(event: Event) -> bool:
    """Whether the event says the traffic went through (allowed) rather than being blocked."""
    action = str(event.fields.get("event.action", "")).strip().lower()
    if action in _BLOCKED:
        return False
    if action in _ALLOWED:
        return True
    return str(event.fields.get("event.outcome", "")).strip().lower() == "success"


def _event_time(event: Event) -> datetime:
    stamp = event.timestamp or datetime.now(UTC)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def event_key(event: Event) -> str | None:
    """A name for a logged event: a hash of its line number and raw text; None for events the
    listener received (or any without a raw text), which cannot be told again.

    An event is known by what its log says where it says it, not by the file's name: a copy of
    a log, its gzipped rotation or the same lines piped in are the same events; an export
    overwritten with other lines holds other events; a line repeated word for word is another
    event. A message off the network is one event each time it arrives.
    """
    if event.raw is None or "://" in event.path:
        return None
    text = f"{event.line}\n{event.raw}".encode(errors="replace")
    return hashlib.blake2b(text, digest_size=8).hexdigest()


def new_alert(match: Match, context: IndicatorContext) -> Alert:
    """An alert for a first match of an indicator on an entity."""
    when = _event_time(match.event)
    action = match.event.fields.get("event.action")
    return Alert(
        id=f"alert--{uuid.uuid4()}",
        indicator_ids=[match.indicator_id],
        matched_value=match.matched_value,
        field=match.field,
        kind=match.kind,
        log_source=match.event.source,
        first_seen=when,
        last_seen=when,
        raw_ref=match.event.ref,
        severity=severity_of(context, match.event),
        kill_chain_phases=[dict(p) for p in context.kill_chain_phases],
        tlp=context.tlp,
        confidence=context.confidence,
        tags=list(context.labels),
        event_action=str(action) if action is not None else None,
        indicator_value=match.indicator_value,
        last_ref=match.event.ref,
    )


class AlertFolder:
    """Collect matches as alerts, folding repeats of an indicator on an entity within a window."""

    def __init__(self, window: timedelta = timedelta(hours=1)) -> None:
        if window <= timedelta(0):
            raise ValueError(f"the folding window must be positive, not {window}")
        self.window = window
        self._open: dict[tuple[str, str, str, str], list[Alert]] = {}
        self._alerts: list[Alert] = []
        # The event of the last match, and the alerts it was counted in: one event is one
        # sighting, even when the value stands in two of its fields (source.ip, related.ip).
        self._event: Event | None = None
        self._counted: set[str] = set()
        # The alert the last add() opened, or None when it folded into an open one.
        self.opened: Alert | None = None

    def add(self, match: Match, context: IndicatorContext) -> Alert:
        """Fold the match into an open alert of its indicator and entity, or open a new one.

        An event's matches come together; a second match of one event in the same alert
        does not count it again.
        """
        if match.event is not self._event:
            self._event, self._counted = match.event, set()
        self.opened = None
        # The store folds on the same key (indicator, value, log source) and span rule.
        key = (match.indicator_id, match.kind, match.matched_value, match.event.source)
        when = _event_time(match.event)
        for alert in self._open.get(key, ()):
            if self._fits(alert, when):
                if alert.id not in self._counted and self._track(alert, match.event):
                    self._fold(alert, match, context, when)
                    self._counted.add(alert.id)
                return alert

        alert = new_alert(match, context)
        self._track(alert, match.event)
        self._open.setdefault(key, []).append(alert)
        self._alerts.append(alert)
        self._counted.add(alert.id)
        self.opened = alert
        return alert

    def _track(self, alert: Alert, event: Event) -> bool:
        """Note the event an alert counts; False when the alert holds it already (the same
        raw event twice in one run: a file matched beside its copy)."""
        key = event_key(event)
        if key is None:
            alert.untracked += 1
            return True
        if key in alert.event_keys:
            return False
        alert.event_keys.add(key)
        return True

    def alerts(self) -> list[Alert]:
        """Every alert so far, in the order they were opened."""
        return list(self._alerts)

    def prune(self, before: datetime) -> int:
        """Forget alerts last seen before ``before`` (they can no longer fold); say how many."""
        kept = [a for a in self._alerts if a.last_seen >= before]
        dropped = len(self._alerts) - len(kept)
        if dropped:
            self._alerts = kept
            self._open = {}
            for alert in kept:
                key = (alert.indicator_ids[0], alert.kind, alert.matched_value, alert.log_source)
                self._open.setdefault(key, []).append(alert)
        return dropped

    def _fits(self, alert: Alert, when: datetime) -> bool:
        # The alert's span of event time stays under one window, whatever order events come in.
        return max(alert.last_seen, when) - min(alert.first_seen, when) < self.window

    def _fold(self, alert: Alert, match: Match, context: IndicatorContext, when: datetime) -> None:
        alert.count += 1
        alert.last_ref = match.event.ref
        alert.first_seen = min(alert.first_seen, when)
        alert.last_seen = max(alert.last_seen, when)
        severity = severity_of(context, match.event)
        if SEVERITIES.index(severity) > SEVERITIES.index(alert.severity):
            # An allowed repeat of a blocked first hit raises the alert, and says why.
            alert.severity = severity
            action = match.event.fields.get("event.action")
            alert.event_action = str(action) if action is not None else alert.event_action


def log_source_identity(name: str, created: datetime | None = None) -> dict[str, Any]:
    """A STIX 2.1 identity for a log source; its id is a uuid5 of the name, so repeats reuse it."""
    stamp = format_timestamp(created or datetime(2020, 1, 1, tzinfo=UTC))
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{uuid.uuid5(LOG_SOURCE_NAMESPACE, name)}",
        "created": stamp,
        "modified": stamp,
        "name": name,
        "identity_class": "system",
    }


def to_sighting(alert: Alert, identity_id: str, created: datetime | None = None) -> dict[str, Any]:
    """The alert as a STIX 2.1 sighting (section 5.6) of its indicator, seen at the log source."""
    stamp = format_timestamp(created or datetime.now(UTC))
    sighting: dict[str, Any] = {
        "type": "sighting",
        "spec_version": "2.1",
        # One alert is one sighting: the id derives from the alert's, so re-exports agree.
        "id": f"sighting--{uuid.uuid5(LOG_SOURCE_NAMESPACE, alert.id)}",
        "created": stamp,
        "modified": stamp,
        "sighting_of_ref": alert.indicator_ids[0],
        "count": min(alert.count, 999_999_999),  # STIX 2.1 5.6.1: count is at most 999999999
        "first_seen": format_timestamp(alert.first_seen),
        "last_seen": format_timestamp(alert.last_seen),
        "where_sighted_refs": [identity_id],
        "x_indicia_alert_ref": alert.id,
        "x_indicia_matched_value": alert.matched_value,
        "x_indicia_severity": alert.severity,
    }
    if alert.tlp:
        # The sighting tells where an indicator was seen: it carries the indicator's TLP.
        sighting["object_marking_refs"] = [tlp_marking_id(alert.tlp)]
    return sighting
