"""The match service end to end: real sample logs, the store, alerts, sightings, re-runs."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from stix2validator import ValidationOptions, validate_instance

from indicia.matching.run import MatchOptions, match_logs
from indicia.services import Classification, add_indicator, revoke_indicators
from indicia.store import Store
from indicia.store.alerts import list_alerts
from indicia.store.indicators import IndicatorQuery, list_indicators

DATA = Path(__file__).parent.parent / "data"
UMBRELLA = DATA / "logs" / "dns" / "umbrella-solarigate-beacon.csv"
CSL = DATA / "logs" / "cef" / "sentinel-commonsecuritylog-solarigate.csv"
SUNBURST_FROM = datetime(2019, 1, 1, tzinfo=UTC)


def sunburst(store: Store, **changes: object) -> str:
    fields: dict[str, object] = {
        "name": "SUNBURST C2 domain",
        "severity": "high",
        "confidence": 95,
        "tlp": "clear",
        "kill_chains": ["lockheed:command-and-control"],
        "valid_from": SUNBURST_FROM,
    }
    fields.update(changes)
    obj = add_indicator(store, "avsvmcloud.com", Classification(**fields))  # type: ignore[arg-type]
    return str(obj["id"])


def test_sunburst_logs_raise_one_alert_each_with_the_indicator_context(sqlite_store: Store) -> None:
    indicator = sunburst(sqlite_store)

    report = match_logs(sqlite_store, [UMBRELLA, CSL], MatchOptions())

    assert (report.events, report.unreadable, report.matches) == (2, 0, 2)
    alerts = sorted(report.alerts, key=lambda a: a["first_seen"])
    assert [(a["matched_value"], a["field"], a["log_source"]) for a in alerts] == [
        ("avsvmcloud.com", "dns.question.name", "umbrella"),
        (
            "07605jn8l36uranbtvef0b12eu1.appsync-api.us-east-1.avsvmcloud.com",
            "destination.domain",
            "commonsecuritylog",
        ),
    ]
    first = alerts[0]
    assert first["indicator_id"] == indicator
    assert first["raw_ref"] == f"{UMBRELLA}:2"
    assert first["first_seen"] == "2019-09-12T20:00:00.625000Z"
    # The resolver let the query through ("Allowed"): high rises to critical.
    assert (first["severity"], first["event_action"], first["tlp"]) == (
        "critical",
        "allowed",
        "clear",
    )
    assert alerts[1]["severity"] == "high"
    assert first["kill_chain_phases"] == [
        {"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "command-and-control"}
    ]
    [row] = list_indicators(sqlite_store.engine, IndicatorQuery())
    assert row["alert_count"] == 2


def test_each_alert_is_a_valid_stix_sighting(sqlite_store: Store) -> None:
    indicator = sunburst(sqlite_store)
    match_logs(sqlite_store, [UMBRELLA, CSL], MatchOptions())

    sightings = list(sqlite_store.all_objects(["sighting"]))
    identities = {o["id"]: o for o in sqlite_store.all_objects(["identity"])}

    assert len(sightings) == 2
    assert {s["sighting_of_ref"] for s in sightings} == {indicator}
    assert {identities[s["where_sighted_refs"][0]]["name"] for s in sightings} == {
        "umbrella",
        "commonsecuritylog",
    }
    for obj in [*sightings, *identities.values()]:
        assert validate_instance(obj, ValidationOptions(version="2.1")).is_valid


def test_rerun_of_the_same_logs_does_not_double_alerts(sqlite_store: Store) -> None:
    sunburst(sqlite_store)
    match_logs(sqlite_store, [UMBRELLA, CSL], MatchOptions())

    again = match_logs(sqlite_store, [UMBRELLA, CSL], MatchOptions())

    assert (again.alerts_created, again.alerts_folded) == (0, 2)
    assert [a["count"] for a in list_alerts(sqlite_store.engine)] == [1, 1]
    assert list_indicators(sqlite_store.engine, IndicatorQuery())[0]["alert_count"] == 2


def test_a_file_matched_again_without_the_others_adds_nothing(
    sqlite_store: Store, tmp_path: Path
) -> None:
    # The alert starts in the debug log; matching the analytical log alone again and again
    # meets only events the alert has counted already.
    dns = DATA / "logs" / "dns"
    debug, analytical = dns / "windows-dns-debug.log", dns / "windows-dns-analytical.jsonl"
    add_indicator(
        sqlite_store, "c2.example-bad.net", Classification(valid_from=SUNBURST_FROM, confidence=85)
    )
    options = MatchOptions(fmt="windows-dns")
    first = match_logs(sqlite_store, [debug, analytical], options)
    assert [a["count"] for a in first.alerts] == [5]

    for _ in range(3):
        again = match_logs(sqlite_store, [analytical], options)
        assert (again.alerts_created, again.alerts_folded) == (0, 1)

    assert [a["count"] for a in list_alerts(sqlite_store.engine)] == [5]

    # A copy, or the log gzipped by its rotation, is the same content: counted already.
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(analytical.read_bytes())
    rotated = tmp_path / "windows-dns-analytical.jsonl.1.gz"
    rotated.write_bytes(gzip.compress(analytical.read_bytes()))
    for _ in range(2):
        match_logs(sqlite_store, [copy, rotated], options)
    assert [a["count"] for a in list_alerts(sqlite_store.engine)] == [5]


def test_a_log_and_its_copy_in_one_run_count_once_and_repeated_lines_each(
    sqlite_store: Store, tmp_path: Path
) -> None:
    add_indicator(sqlite_store, "c2.example-bad.net", Classification(valid_from=SUNBURST_FROM))
    line = json.dumps({"dns": {"question": {"name": "c2.example-bad.net"}}})  # no time at all
    log = tmp_path / "proxy.jsonl"
    log.write_text(f"{line}\n{line}\n")  # the same words twice: two events
    copy = tmp_path / "proxy-copy.jsonl"
    copy.write_bytes(log.read_bytes())

    match_logs(sqlite_store, [log, copy], MatchOptions(fmt="ecs-json"))
    match_logs(sqlite_store, [copy], MatchOptions(fmt="ecs-json"))

    assert [a["count"] for a in list_alerts(sqlite_store.engine)] == [2]


def test_an_export_overwritten_with_other_events_of_the_same_hour_counts_them(
    sqlite_store: Store, tmp_path: Path
) -> None:
    add_indicator(sqlite_store, "203.0.113.50", Classification(valid_from=SUNBURST_FROM))
    export = tmp_path / "export.jsonl"

    def write(sensor: str, hits: list[tuple[int, int]]) -> None:
        lines = [{"@timestamp": f"2024-06-01T10:{m:02d}:00Z", "host": {"name": sensor},
                  "source": {"ip": "192.0.2.1"}} for m in range(12)]  # fmt: skip
        for line, minute in hits:
            lines[line] = {**lines[line], "destination": {"ip": "203.0.113.50"},
                           "@timestamp": f"2024-06-01T10:{minute:02d}:00Z"}  # fmt: skip
        export.write_text("".join(json.dumps(item) + "\n" for item in lines))

    options = MatchOptions(fmt="ecs-json", warninglists=False)  # a documentation address
    write("sensor-a", [(1, 6), (4, 20), (8, 27)])
    match_logs(sqlite_store, [export], options)
    write("sensor-b", [(2, 10), (5, 19)])  # inside the first export's lines and times
    match_logs(sqlite_store, [export], options)
    match_logs(sqlite_store, [export], options)  # and that one again

    assert [a["count"] for a in list_alerts(sqlite_store.engine)] == [5]


def test_indicator_not_yet_valid_at_event_time_does_not_match_but_hunts(
    sqlite_store: Store,
) -> None:
    sunburst(sqlite_store, valid_from=None)  # valid from now: after these 2019-2021 events

    assert match_logs(sqlite_store, [UMBRELLA], MatchOptions()).matches == 0
    assert match_logs(sqlite_store, [UMBRELLA], MatchOptions(hunt=True)).matches == 1


def test_revoked_indicator_raises_nothing(sqlite_store: Store) -> None:
    revoke_indicators(sqlite_store, [sunburst(sqlite_store)])

    report = match_logs(sqlite_store, [UMBRELLA, CSL], MatchOptions())

    assert (report.matches, report.alerts) == (0, [])


def test_min_confidence_and_since(sqlite_store: Store) -> None:
    sunburst(sqlite_store, confidence=40)

    assert match_logs(sqlite_store, [UMBRELLA], MatchOptions(min_confidence=50)).matches == 0
    late = MatchOptions(since=datetime(2020, 1, 1, tzinfo=UTC))
    report = match_logs(sqlite_store, [UMBRELLA, CSL], late)
    assert (report.older_than_since, report.matches) == (1, 1)


def test_unreadable_lines_are_counted_with_their_position(
    sqlite_store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "fw.cef"
    log.write_text(
        "CEF:0|Example|FW|1.0|100|conn|3|src=192.0.2.10 dst=203.0.113.50 act=allow\n"
        "CEF:0|Example|FW|1.0|broken\n"
    )

    report = match_logs(sqlite_store, [log], MatchOptions(fmt="cef"))

    assert (report.events, report.unreadable) == (1, 1)
    assert report.unreadable_positions[0].startswith(f"{log}:2")


def test_events_without_a_readable_time_are_counted_and_kept_by_since(
    sqlite_store: Store, tmp_path: Path
) -> None:
    # Zeek's anonymised samples write ts as XXXXXXXXXX.XXXXXX; a CEF line may lack rt.
    log = tmp_path / "fw.cef"
    log.write_text(
        "CEF:0|Example|FW|1.0|100|conn|3|src=192.0.2.10 dst=203.0.113.50\n"
        "CEF:0|Example|FW|1.0|100|conn|3|rt=not a time src=192.0.2.11 dst=203.0.113.50\n"
        "CEF:0|Example|FW|1.0|100|conn|3|rt=Jan 01 2020 10:00:00 src=192.0.2.12\n"
    )
    options = MatchOptions(fmt="cef", since=datetime(2024, 1, 1, tzinfo=UTC))

    report = match_logs(sqlite_store, [log], options)

    assert (report.events, report.without_time, report.older_than_since) == (3, 2, 1)
    assert report.as_dict()["without_time"] == 2


@pytest.mark.parametrize(
    ("pattern", "alerts"),
    [
        # Case C027: an IP delivered as a network-traffic pattern still matches the IP field.
        (
            "[network-traffic:dst_ref.type = 'ipv4-addr'"
            " AND network-traffic:dst_ref.value = '203.0.113.50']",
            1,
        ),
        ("[ipv4-addr:value = '203.0.113.0/24']", 1),
        ("[ipv4-addr:value = '203.0.114.0/24']", 0),
    ],
)
def test_firewall_hits(sqlite_store: Store, tmp_path: Path, pattern: str, alerts: int) -> None:
    from indicia.importer import Importer

    bundle = tmp_path / "ti.json"
    bundle.write_text(
        '{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [{'
        '"type": "indicator", "spec_version": "2.1",'
        ' "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",'
        ' "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",'
        f' "pattern": "{pattern}", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"'
        "}]}"
    )
    Importer(sqlite_store).import_paths([bundle])
    log = tmp_path / "fw.cef"
    log.write_text(
        "<134>Jun 01 12:00:00 fw01 CEF:0|Example|FW|1.0|100|conn|3|"
        "rt=1717243200000 src=192.0.2.10 dst=203.0.113.50 dpt=443 act=allow\n"
    )

    report = match_logs(sqlite_store, [log], MatchOptions(warninglists=False))

    assert len(report.alerts) == alerts


def test_warninglisted_values_are_suppressed_and_counted(
    sqlite_store: Store, tmp_path: Path
) -> None:
    # 203.0.113.0/24 is TEST-NET-3 (RFC 5737, on MISP's rfc5735 list): never a real attacker.
    add_indicator(sqlite_store, "203.0.113.50", Classification(valid_from=SUNBURST_FROM))
    log = tmp_path / "fw.cef"
    log.write_text("CEF:0|Example|FW|1.0|100|conn|3|rt=1717243200000 dst=203.0.113.50 act=deny\n")

    report = match_logs(sqlite_store, [log], MatchOptions())

    assert (report.matches, report.suppressed, dict(report.suppressed_by)) == (
        0,
        1,
        {"List of RFC 5735 CIDR blocks": 1},
    )
    assert match_logs(sqlite_store, [log], MatchOptions(warninglists=False)).matches == 1
