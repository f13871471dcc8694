"""Alert status on SQLite and PostgreSQL: it only moves forward, and unknown ids change nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from indicia.errors import NotFoundError
from indicia.matching.alerts import Alert
from indicia.store import Store
from indicia.store.alerts import list_alerts, save_alerts, set_status

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
