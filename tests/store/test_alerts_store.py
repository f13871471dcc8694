"""Alerts in the store on SQLite and PostgreSQL: folding, the Alerts count, status changes."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from indicia.errors import NotFoundError
from indicia.matching.alerts import Alert
from indicia.store import Store, prepare
from indicia.store.alerts import SEEN_KEYS, list_alerts, save_alerts, set_status
from indicia.store.indicators import IndicatorQuery, list_indicators

SEEN = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def _alert(number: int) -> Alert:
    return Alert(
        id=f"alert--00000000-0000-4000-8000-00000000000{number}",
        indicator_ids=["indicator--3c9f1e2d-7a6b-4c5d-8e9f-0a1b2c3d4e5f"],
        matched_value=f"198.51.100.{number}",
        field="destination.ip",
        kind="ipv4-addr",
        log_source="cef",
        first_seen=SEEN,
        last_seen=SEEN,
        raw_ref=f"fw.log:{number}",
        severity="medium",
    )


def _statuses(store: Store) -> dict[str, str]:
    return {row["id"][-1]: row["status"] for row in list_alerts(store.engine)}


def test_status_moves_forward_only(store: Store) -> None:
    save_alerts(store.engine, [_alert(1), _alert(2), _alert(3)])

    assert set_status(store.engine, [_alert(1).id, _alert(2).id], "acknowledged") == 2
    assert set_status(store.engine, [_alert(2).id], "closed") == 1
    # Acknowledging again, or acknowledging a closed alert, changes nothing.
    assert set_status(store.engine, [_alert(1).id, _alert(2).id], "acknowledged") == 0
    assert set_status(store.engine, [_alert(3).id], "closed") == 1

    assert _statuses(store) == {"1": "acknowledged", "2": "closed", "3": "closed"}


def test_an_unknown_id_changes_nothing(store: Store) -> None:
    save_alerts(store.engine, [_alert(1)])

    with pytest.raises(NotFoundError, match="no alert with id 'alert--nope'"):
        set_status(store.engine, [_alert(1).id, "alert--nope"], "closed")

    assert _statuses(store) == {"1": "new"}


INDICATOR = "indicator--3c9f1e2d-7a6b-4c5d-8e9f-0a1b2c3d4e5f"


def _indicator(number: int) -> dict[str, object]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--3c9f1e2d-7a6b-4c5d-8e9f-{number:012x}",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '198.51.{number // 250}.{number % 250}']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    }


def _seen(alert: Alert, minutes: int, *, ref: str | None = None, count: int = 1) -> Alert:
    start = SEEN + timedelta(minutes=minutes)
    return replace(
        alert, first_seen=start, last_seen=start, raw_ref=ref or alert.raw_ref, count=count
    )


def _stored(store: Store) -> list[tuple[str, int, str, str]]:
    rows = list_alerts(store.engine)
    return sorted((r["matched_value"], r["count"], r["first_seen"], r["last_seen"]) for r in rows)


def test_repeats_within_the_window_fold_and_later_ones_do_not(store: Store) -> None:
    first = _alert(1)
    assert save_alerts(store.engine, [first]).created == 1

    later = save_alerts(store.engine, [replace(_seen(first, 30, ref="fw.log:9"), id="alert--x")])
    apart = save_alerts(store.engine, [replace(_seen(first, 200, ref="fw.log:99"), id="alert--y")])

    assert (later.created, later.folded, later.ids) == (0, 1, [first.id])
    assert (apart.created, apart.folded) == (1, 0)
    assert _stored(store) == [
        ("198.51.100.1", 1, "2024-06-01T15:20:00.000000Z", "2024-06-01T15:20:00.000000Z"),
        ("198.51.100.1", 2, "2024-06-01T12:00:00.000000Z", "2024-06-01T12:30:00.000000Z"),
    ]


def test_a_rerun_replaces_the_count_rather_than_adding(store: Store) -> None:
    save_alerts(store.engine, [_seen(_alert(1), 0, count=3)])

    again = save_alerts(store.engine, [replace(_seen(_alert(1), 0, count=3), id="alert--again")])

    assert (again.created, again.folded) == (0, 1)
    assert [count for _, count, _, _ in _stored(store)] == [3]


def test_alerts_of_one_batch_fold_into_each_other_in_order(store: Store) -> None:
    base = _alert(1)
    batch = [base, replace(_seen(base, 20, ref="fw.log:2"), id="alert--b")]
    # 75 minutes after the first: together they would span more than the one-hour window.
    batch.append(replace(_seen(base, 75, ref="fw.log:3"), id="alert--c"))
    batch.append(replace(_seen(base, 90, ref="fw.log:4"), id="alert--d"))  # folds into c
    batch.append(replace(_seen(base, 20, ref="fw.log:5"), id="alert--e", log_source="waf"))

    result = save_alerts(store.engine, batch)

    assert (result.created, result.folded) == (3, 2)
    assert result.ids == [base.id, base.id, "alert--c", "alert--c", "alert--e"]
    rows = list_alerts(store.engine)
    assert sorted((r["log_source"], r["count"], r["first_seen"][11:16]) for r in rows) == [
        ("cef", 2, "12:00"),
        ("cef", 2, "13:15"),
        ("waf", 1, "12:20"),
    ]


def test_a_rerun_of_alerts_split_by_the_window_changes_no_count(store: Store) -> None:
    # The run's folder keeps each alert under one window: 12:00-12:50 and 13:40-14:30.
    base = _alert(1)
    parts = [
        replace(_seen(base, 0, count=2), last_seen=SEEN + timedelta(minutes=50)),
        replace(
            _seen(base, 100, ref="fw.log:3", count=2),
            id="alert--later",
            last_seen=SEEN + timedelta(minutes=150),
        ),
    ]
    save_alerts(store.engine, parts)

    again = save_alerts(
        store.engine, [replace(a, id=f"alert--again-{n}") for n, a in enumerate(parts)]
    )

    assert (again.created, again.folded) == (0, 2)
    assert [count for _, count, _, _ in _stored(store)] == [2, 2]


def test_folding_never_lowers_the_severity(store: Store) -> None:
    save_alerts(store.engine, [replace(_alert(1), severity="high")])

    save_alerts(store.engine, [replace(_seen(_alert(1), 10, ref="fw.log:2"), id="alert--z")])

    assert [r["severity"] for r in list_alerts(store.engine)] == ["high"]


def test_many_indicators_keep_their_alerts_count_true(store: Store) -> None:
    # More indicators than one IN list holds, each with alerts of its own.
    store.upsert([prepare(_indicator(n)) for n in range(620)])
    batch = [
        replace(
            _alert(1),
            id=f"alert--00000000-0000-4000-8000-{n:012x}",
            indicator_ids=[str(_indicator(n % 620)["id"])],
            matched_value=f"198.51.{(n % 620) // 250}.{(n % 620) % 250}",
            first_seen=SEEN + timedelta(hours=2 * (n // 620)),
            last_seen=SEEN + timedelta(hours=2 * (n // 620)),
        )
        for n in range(1240)
    ]

    assert save_alerts(store.engine, batch).created == 1240
    again = save_alerts(store.engine, batch[:620])

    assert (again.created, again.folded) == (0, 620)
    counts = {
        row["id"]: row["alert_count"] for row in list_indicators(store.engine, IndicatorQuery())
    }
    assert set(counts.values()) == {2}
    assert len(counts) == 620


def test_new_activity_after_an_alert_is_closed_opens_a_new_alert(store: Store) -> None:
    first = _alert(1)
    save_alerts(store.engine, [first])
    set_status(store.engine, [first.id], "closed")

    rerun = save_alerts(store.engine, [replace(first, id="alert--rerun")])
    later = save_alerts(store.engine, [replace(_seen(first, 20, ref="fw.log:7"), id="alert--new")])

    assert (rerun.created, rerun.folded, rerun.ids) == (0, 1, [first.id])  # the same logs
    assert (later.created, later.ids) == (1, ["alert--new"])
    assert {r["id"]: r["status"] for r in list_alerts(store.engine)} == {
        first.id: "closed",
        "alert--new": "new",
    }


def test_two_writers_at_once_fold_into_one_alert(store: Store) -> None:
    import threading

    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def write(number: int) -> None:
        alert = replace(
            _seen(_alert(1), number, ref=f"fw.log:{number + 10}"), id=f"alert--{number}"
        )
        barrier.wait()
        try:
            save_alerts(store.engine, [alert])
        except BaseException as exc:  # reported below; a thread's error is lost otherwise
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert [r["count"] for r in list_alerts(store.engine)] == [4]


# -- which events an alert has counted (``seen``) -----------------------------------------


def _events(*refs: tuple[str, int, int | None]) -> Alert:
    """An alert of events as a run makes it, each (log, line, minutes after SEEN): its key is
    its text, here "log:line" (a copy of a log has the same lines); None for the minutes is an
    event without a raw text, which cannot be told again."""
    times = [SEEN + timedelta(minutes=m) for _, _, m in refs if m is not None] or [SEEN]
    return replace(
        _alert(1),
        id=f"alert--{uuid.uuid4()}",
        first_seen=min(times),
        last_seen=max(times),
        raw_ref=f"{refs[0][0]}:{refs[0][1]}",
        count=len(refs),
        event_keys={f"{log}:{line}" for log, line, m in refs if m is not None},
        untracked=sum(1 for _, _, m in refs if m is None),
    )


def _count(store: Store) -> list[int]:
    return [row["count"] for row in list_alerts(store.engine)]


def test_a_file_matched_again_alone_adds_nothing(store: Store) -> None:
    # One run read two files; a later run reads only the second (its alert starts elsewhere).
    save_alerts(store.engine, [_events(("debug", 3, 0), ("dns", 7, 5))])

    again = [save_alerts(store.engine, [_events(("dns", 7, 5))]) for _ in range(3)]

    assert [(r.created, r.folded) for r in again] == [(0, 1)] * 3
    assert _count(store) == [2]


def test_appended_lines_are_counted_once_and_the_old_ones_not_again(store: Store) -> None:
    save_alerts(store.engine, [_events(("fw", 10, 0), ("fw", 20, 1))])

    grown = _events(("fw", 10, 0), ("fw", 20, 1), ("fw", 31, 2))
    save_alerts(store.engine, [grown])
    save_alerts(store.engine, [replace(grown, id="alert--again")])

    assert _count(store) == [3]


def test_other_lines_of_the_same_hour_count_and_the_same_lines_do_not(store: Store) -> None:
    # An export overwritten by another sensor's lines of the same period: other events.
    save_alerts(store.engine, [_events(("sensor-a", 2, 6), ("sensor-a", 5, 20))])
    save_alerts(store.engine, [_events(("sensor-b", 3, 10), ("sensor-b", 6, 19))])
    save_alerts(store.engine, [_events(("sensor-b", 3, 10), ("sensor-b", 6, 19))])

    assert _count(store) == [4]


def test_events_that_cannot_be_told_again_always_add(store: Store) -> None:
    save_alerts(store.engine, [_events(("proxy", 4, 0), ("-", 9, None))])

    # The told event is known; the one without a raw text adds again.
    save_alerts(store.engine, [_events(("proxy", 4, 0), ("-", 9, None))])

    assert _count(store) == [3]


def test_an_alert_of_only_untold_events_falls_back_to_the_first_event_rule(store: Store) -> None:
    save_alerts(store.engine, [_events(("-", 4, None), ("-", 9, None))])

    save_alerts(store.engine, [_events(("-", 4, None), ("-", 9, None))])  # the same first event
    save_alerts(store.engine, [_events(("-", 2, None))])  # another first event

    assert _count(store) == [3]


def test_an_event_counted_by_one_alert_is_not_counted_by_another(store: Store) -> None:
    # Run one at a time out of time order: P (12:00) alone, then Q (13:30), then R (12:45),
    # which folds into Q's alert. A run of all three groups P with R: R is counted already.
    save_alerts(store.engine, [_events(("P", 1, 0))])
    save_alerts(store.engine, [_events(("Q", 1, 90))])
    save_alerts(store.engine, [_events(("R", 1, 45))])
    before = sorted(_count(store))

    together = [_events(("P", 1, 0), ("R", 1, 45)), _events(("Q", 1, 90))]
    save_alerts(store.engine, together)

    assert before == [1, 2]
    assert sum(_count(store)) == 3


def test_a_closed_alert_takes_a_rerun_and_new_events_open_a_new_alert(store: Store) -> None:
    first = _events(("fw", 1, 0), ("fw", 2, 1))
    save_alerts(store.engine, [first])
    set_status(store.engine, [first.id], "closed")

    rerun = save_alerts(store.engine, [_events(("fw", 2, 1))])
    # The log grew by one hit; matched again, the new alert counts only that one.
    later = save_alerts(store.engine, [_events(("fw", 1, 0), ("fw", 2, 1), ("fw", 3, 2))])

    assert (rerun.created, rerun.ids) == (0, [first.id])
    assert later.created == 1
    assert sorted((r["status"], r["count"]) for r in list_alerts(store.engine)) == [
        ("closed", 2),
        ("new", 1),
    ]


def test_what_an_alert_counted_is_stored_as_its_event_keys(store: Store) -> None:
    save_alerts(store.engine, [_events(("b", 9, 5), ("a", 4, 3), ("b", 2, 1))])

    (row,) = list_alerts(store.engine)
    assert orjson.loads(row["seen"]) == {"keys": ["a:4", "b:2", "b:9"], "capped": False}


def test_a_noisy_alert_keeps_so_many_keys_and_then_counts_every_event(store: Store) -> None:
    many = [("fw", n, 0) for n in range(SEEN_KEYS + 10)]
    save_alerts(store.engine, [_events(*many)])

    save_alerts(store.engine, [_events(*many)])

    (row,) = list_alerts(store.engine)
    seen = orjson.loads(row["seen"])
    assert (len(seen["keys"]), seen["capped"]) == (SEEN_KEYS, True)
    # The ten events past the cap cannot be told again: they count again (never too few).
    assert row["count"] == SEEN_KEYS + 10 + 10


def test_an_alert_stored_before_seen_existed_folds_by_the_older_rule(tmp_path: Path) -> None:
    # A store made at revision 0001 holds an alert without ``seen``; opening migrates it.
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config()
    config.set_main_option("script_location", "indicia.store:migrations")
    engine = create_engine(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        legacy = _legacy_row()
        conn.execute(text(f"INSERT INTO alerts ({', '.join(legacy)}) VALUES "
                          f"({', '.join(':' + k for k in legacy)})"), legacy)  # fmt: skip
    engine.dispose()

    store = Store.open(url)
    try:
        (row,) = list_alerts(store.engine)
        assert (row["count"], row["seen"]) == (3, None)
        # The same first event again: a re-run (count kept); it now remembers the events.
        rerun = _events(("fw.log", 1, 0), ("fw.log", 2, 0), ("fw.log", 3, 0))
        save_alerts(store.engine, [rerun])
        (row,) = list_alerts(store.engine)
        assert row["count"] == 3
        assert orjson.loads(row["seen"])["keys"] == ["fw.log:1", "fw.log:2", "fw.log:3"]
        save_alerts(store.engine, [replace(rerun, id="alert--again")])
        assert _count(store) == [3]
    finally:
        store.close()


def _legacy_row() -> dict[str, object]:
    stamp = "2024-06-01T12:00:00.000000Z"
    return {
        "id": "alert--legacy",
        "indicator_id": INDICATOR,
        "indicator_ids": f'["{INDICATOR}"]',
        "kind": "ipv4-addr",
        "matched_value": "198.51.100.1",
        "field": "destination.ip",
        "log_source": "cef",
        "first_seen": stamp,
        "last_seen": stamp,
        "count": 3,
        "raw_ref": "fw.log:1",
        "severity": "medium",
        "kill_chain_phases": "[]",
        "tlp": None,
        "confidence": None,
        "tags": "[]",
        "event_action": None,
        "status": "new",
        "created": stamp,
        "updated": stamp,
    }
