"""Alerts: severity, folding repeats within a window, and STIX 2.1 sightings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from indicia.errors import StixError
from indicia.logs.base import Event, FieldValue
from indicia.matching.alerts import (
    AlertFolder,
    IndicatorContext,
    log_source_identity,
    severity_of,
    to_sighting,
)
from indicia.matching.types import Match
from indicia.stix.markings import tlp_marking_id

DATA = Path(__file__).parents[1] / "data"
MANIFEST = json.loads((DATA / "matching" / "alert_cases.json").read_text())
DAY = datetime(2024, 6, 1, tzinfo=UTC)


def _at(clock: str) -> datetime:
    hours, minutes = map(int, clock.split(":"))
    return DAY + timedelta(hours=hours, minutes=minutes)


def _match(
    indicator: str = "a",
    value: str = "198.51.100.1",
    when: datetime | None = DAY,
    fields: dict[str, FieldValue] | None = None,
    line: int = 1,
) -> Match:
    event = Event(when, "fw01", {"destination.ip": value, **(fields or {})}, "fw.log", line)
    return Match(f"indicator--{indicator}", "ipv4-addr", value, value, "destination.ip", event)


@pytest.mark.parametrize("case", MANIFEST["severity"], ids=lambda c: json.dumps(c)[:70])
def test_severity(case: dict[str, Any]) -> None:
    context = IndicatorContext(
        "indicator--a", severity=case["severity"], confidence=case["confidence"]
    )
    fields: dict[str, FieldValue] = {}
    if case["action"]:
        fields["event.action"] = case["action"].upper()
    if case.get("outcome"):
        fields["event.outcome"] = case["outcome"]

    assert severity_of(context, _match(fields=fields).event) == case["expected"]


@pytest.mark.parametrize("case", MANIFEST["folding"], ids=lambda c: c["about"])
def test_folding(case: dict[str, Any]) -> None:
    folder = AlertFolder(window=timedelta(minutes=case["window_minutes"]))
    for line, (clock, indicator, value) in enumerate(case["events"], 1):
        folder.add(
            _match(indicator, value, _at(clock), line=line),
            IndicatorContext(f"indicator--{indicator}"),
        )

    got = [[a.count, f"{a.first_seen:%H:%M}", f"{a.last_seen:%H:%M}"] for a in folder.alerts()]
    assert got == case["alerts"]


def test_alert_carries_the_indicator_context() -> None:
    context = IndicatorContext(
        "indicator--a",
        name="C2 address",
        confidence=90,
        tlp="amber",
        kill_chain_phases=(
            {"kill_chain_name": "mitre-attack", "phase_name": "command-and-control"},
        ),
        labels=("c2", "apt-x"),
    )
    folder = AlertFolder()
    alert = folder.add(_match(fields={"event.action": "allow"}, line=7), context)

    assert alert.id.startswith("alert--")
    assert (alert.indicator_ids, alert.matched_value, alert.field, alert.kind) == (
        ["indicator--a"],
        "198.51.100.1",
        "destination.ip",
        "ipv4-addr",
    )
    assert (alert.log_source, alert.raw_ref, alert.status, alert.count) == (
        "fw01",
        "fw.log:7",
        "new",
        1,
    )
    assert (alert.severity, alert.event_action, alert.confidence, alert.tlp) == (
        "critical",
        "allow",
        90,
        "amber",
    )
    assert alert.tags == ["c2", "apt-x"]
    assert alert.kill_chain_phases == [dict(context.kill_chain_phases[0])]


def test_an_allowed_repeat_raises_a_blocked_alert() -> None:
    folder = AlertFolder()
    context = IndicatorContext("indicator--a", confidence=60)
    alert = folder.add(_match(fields={"event.action": "deny"}), context)
    assert (alert.severity, alert.event_action) == ("medium", "deny")

    folder.add(_match(when=DAY + timedelta(minutes=5), fields={"event.action": "allow"}), context)

    assert (alert.count, alert.severity, alert.event_action) == (2, "high", "allow")


def test_one_event_is_counted_once_whatever_fields_hold_the_value() -> None:
    folder = AlertFolder()
    context = IndicatorContext("indicator--a")
    first = _match(fields={"source.ip": "198.51.100.1", "related.ip": "198.51.100.2"})
    value, second = "198.51.100.1", "198.51.100.2"
    again = Match("indicator--a", "ipv4-addr", value, value, "source.ip", first.event)
    other = Match("indicator--b", "ipv4-addr", second, second, "related.ip", first.event)

    for match in (first, other, again):  # another alert's match in between changes nothing
        folder.add(match, context)
    folder.add(_match(when=DAY + timedelta(minutes=1), line=2), context)

    counts = {(a.indicator_ids[0], a.matched_value): a.count for a in folder.alerts()}
    assert counts == {("indicator--a", "198.51.100.1"): 2, ("indicator--b", "198.51.100.2"): 1}


def test_events_without_a_time_fold_at_the_time_they_arrive() -> None:
    folder = AlertFolder()
    before = datetime.now(UTC)
    folder.add(_match(when=None), IndicatorContext("indicator--a"))
    folder.add(_match(when=None), IndicatorContext("indicator--a"))

    (alert,) = folder.alerts()
    assert alert.count == 2
    assert before <= alert.first_seen <= alert.last_seen <= datetime.now(UTC)


def test_prune_forgets_alerts_that_can_no_longer_fold() -> None:
    folder = AlertFolder(window=timedelta(minutes=10))
    folder.add(_match("a", when=_at("10:00")), IndicatorContext("indicator--a"))
    folder.add(_match("b", when=_at("10:30")), IndicatorContext("indicator--b"))

    assert folder.prune(_at("10:15")) == 1
    assert [a.indicator_ids for a in folder.alerts()] == [["indicator--b"]]
    folder.add(_match("b", when=_at("10:35")), IndicatorContext("indicator--b"))
    assert [a.count for a in folder.alerts()] == [2]


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window must be positive"):
        AlertFolder(window=timedelta(0))


def test_sighting_of_a_folded_alert() -> None:
    folder = AlertFolder()
    context = IndicatorContext("indicator--a", tlp="red")
    for minute in (0, 7, 42):
        folder.add(_match(when=DAY + timedelta(minutes=minute, microseconds=123456)), context)
    (alert,) = folder.alerts()
    identity = log_source_identity(alert.log_source)

    sighting = to_sighting(alert, identity["id"])

    assert sighting["type"] == "sighting" and sighting["spec_version"] == "2.1"
    assert sighting["id"].startswith("sighting--")
    assert sighting["sighting_of_ref"] == "indicator--a"
    assert (sighting["count"], sighting["where_sighted_refs"]) == (3, [identity["id"]])
    assert (sighting["first_seen"], sighting["last_seen"]) == (
        "2024-06-01T00:00:00.123Z",
        "2024-06-01T00:42:00.123Z",
    )
    assert sighting["object_marking_refs"] == [tlp_marking_id("red")]
    assert to_sighting(alert, identity["id"])["id"] == sighting["id"]


def test_sightings_and_identities_pass_the_stix_validator() -> None:
    from stix2validator import ValidationOptions, validate_instance

    folder = AlertFolder()
    uid = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
    alert = folder.add(_match(uid), IndicatorContext(f"indicator--{uid}", tlp="amber+strict"))
    identity = log_source_identity("fw01")
    options = ValidationOptions(strict=False)

    for obj in (identity, to_sighting(alert, identity["id"])):
        result = validate_instance(obj, options)
        assert result.is_valid, [str(e) for e in result.errors]


def test_log_source_identity_is_deterministic() -> None:
    first, again, other = (log_source_identity(n) for n in ("fw01", "fw01", "dns01"))

    assert first == again
    assert first["id"] != other["id"]
    assert first["identity_class"] == "system" and first["name"] == "fw01"


def test_sighting_rejects_an_unknown_tlp() -> None:
    folder = AlertFolder()
    alert = folder.add(_match(), IndicatorContext("indicator--a", tlp="purple"))

    with pytest.raises(StixError, match="unknown TLP level 'purple'"):
        to_sighting(alert, "identity--x")
