"""The store on SQLite and PostgreSQL: versioning, revocation, history, atomic batches."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from indicia.errors import NotFoundError, StixError
from indicia.store import Store, prepare
from indicia.store.indicators import IndicatorQuery, list_indicators, matchable_entries

BASE: dict[str, Any] = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": "indicator--3c9f1e2d-7a6b-4c5d-8e9f-0a1b2c3d4e5f",
    "created": "2024-01-01T00:00:00.000Z",
    "modified": "2024-01-01T00:00:00.000Z",
    "name": "C2 address",
    "pattern": "[ipv4-addr:value = '198.51.100.23']",
    "pattern_type": "stix",
    "valid_from": "2024-01-01T00:00:00Z",
    "labels": ["c2"],
    "confidence": 80,
}


def version(modified: str, **changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(BASE)
    obj["modified"] = modified
    obj.update(changes)
    return obj


def test_new_object_is_created_with_projections(store: Store) -> None:
    result = store.upsert([prepare(BASE, source="AbuseIPDB")])

    assert (result.created, result.updated, result.unchanged) == (1, 0, 0)
    assert store.get(BASE["id"]) == BASE
    rows = list_indicators(store.engine, IndicatorQuery())
    assert [(r["value"], r["types"], r["source"], r["labels"]) for r in rows] == [
        ("198.51.100.23", ["ipv4-addr"], "AbuseIPDB", ["c2"])
    ]
    entries = list(matchable_entries(store.engine))
    assert [(e.kind, e.value, e.confidence) for e in entries] == [
        ("ipv4-addr", "198.51.100.23", 80)
    ]


def test_same_version_again_changes_nothing(store: Store) -> None:
    store.upsert([prepare(BASE)])
    result = store.upsert([prepare(BASE)])

    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)


def test_newer_modified_supersedes_and_keeps_history(store: Store) -> None:
    store.upsert([prepare(BASE)])
    newer = version("2024-02-01T00:00:00.000Z", name="renamed")
    result = store.upsert([prepare(newer)])

    assert result.updated == 1
    assert store.get(BASE["id"])["name"] == "renamed"
    assert [v["modified"] for v in store.history(BASE["id"])] == [
        "2024-01-01T00:00:00.000Z",
        "2024-02-01T00:00:00.000Z",
    ]


def test_older_modified_is_ignored(store: Store) -> None:
    store.upsert([prepare(version("2024-02-01T00:00:00.000Z", name="current"))])
    result = store.upsert([prepare(version("2024-01-15T00:00:00.000Z", name="stale"))])

    assert (result.updated, result.unchanged) == (0, 1)
    assert store.get(BASE["id"])["name"] == "current"


def test_newest_in_batch_wins_whatever_the_order(store: Store) -> None:
    # Case C014: a revoked newer version first, the older one after it, in one bundle.
    revoked = version("2024-02-01T00:00:00.000Z", revoked=True)
    older = version("2024-01-01T00:00:00.000Z")
    store.upsert([prepare(revoked), prepare(older)])

    assert store.get(BASE["id"])["modified"] == "2024-02-01T00:00:00.000Z"
    assert list(matchable_entries(store.engine)) == []


def test_revocation_is_permanent(store: Store) -> None:
    store.upsert([prepare(version("2024-02-01T00:00:00.000Z", revoked=True))])
    result = store.upsert([prepare(version("2024-03-01T00:00:00.000Z", revoked=False))])

    assert result.rejected == [(BASE["id"], result.rejected[0][1])]
    assert "revocation is permanent" in result.rejected[0][1]
    assert store.get(BASE["id"])["revoked"] is True


@pytest.mark.parametrize("revoked_first", [True, False], ids=["revoked-first", "revoked-last"])
def test_revocation_is_permanent_inside_one_batch(store: Store, revoked_first: bool) -> None:
    # A C014 variant: the revoked version and a newer un-revoked one in one bundle.
    revoked = prepare(version("2024-02-01T00:00:00.000Z", revoked=True))
    unrevoked = prepare(version("2024-03-01T00:00:00.000Z", revoked=False))
    batch = [revoked, unrevoked] if revoked_first else [unrevoked, revoked]
    result = store.upsert(batch)

    assert (result.created, result.updated, result.unchanged) == (1, 0, 0)
    assert result.rejected == [
        (BASE["id"], "revocation is permanent: a later version that is not revoked is ignored")
    ]
    assert store.get(BASE["id"])["modified"] == "2024-02-01T00:00:00.000Z"
    assert store.get(BASE["id"])["revoked"] is True
    assert list(matchable_entries(store.engine)) == []


def test_a_newer_revoked_version_in_one_batch_supersedes(store: Store) -> None:
    first = prepare(version("2024-01-01T00:00:00.000Z"))
    revoked = prepare(version("2024-02-01T00:00:00.000Z", revoked=True))
    again = prepare(version("2024-03-01T00:00:00.000Z", revoked=True, name="still revoked"))
    result = store.upsert([again, first, revoked])

    assert (result.created, result.unchanged, result.rejected) == (1, 2, [])
    assert store.get(BASE["id"])["name"] == "still revoked"


def test_same_version_with_different_content_is_flagged(store: Store) -> None:
    a = version("2024-01-01T00:00:00.000Z", name="one")
    b = version("2024-01-01T00:00:00.000Z", name="two")
    result = store.upsert([prepare(a), prepare(b)])

    assert result.created == 1
    assert store.get(BASE["id"])["name"] == "one"
    assert "share modified" in result.notices[0]


def test_failed_batch_stores_nothing(store: Store) -> None:
    good = prepare(
        version("2024-01-01T00:00:00.000Z", id="indicator--11111111-1111-4111-8111-111111111111")
    )
    whole = prepare(BASE)
    # A NULL json violates NOT NULL inside the same transaction, after the good row was written.
    broken = whole._replace(row=(*whole.row[:-1], None))

    with pytest.raises(Exception, match="(?i)null"):
        store.upsert([good, broken])
    assert store.count_by_type() == {}


def test_delete_removes_object_history_and_rows(store: Store) -> None:
    store.upsert([prepare(BASE)])
    store.upsert([prepare(version("2024-02-01T00:00:00.000Z"))])

    assert store.delete([BASE["id"]]) == 1
    with pytest.raises(NotFoundError, match="no object with id"):
        store.get(BASE["id"])
    assert list(matchable_entries(store.engine)) == []


def test_count_by_type(store: Store) -> None:
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": "identity--0b7e4a52-2c3d-4e5f-9a1b-2c3d4e5f6a7b",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": "ACME CERT",
    }
    store.upsert([prepare(BASE), prepare(identity)])

    assert store.count_by_type() == {"indicator": 1, "identity": 1}


def test_row_follows_the_column_order() -> None:
    from indicia.store.projection import ROW_COLUMNS

    row = dict(zip(ROW_COLUMNS, prepare(BASE, source="feed").row, strict=True))

    assert (row["id"], row["type"], row["source"], row["value"]) == (
        BASE["id"],
        "indicator",
        "feed",
        "198.51.100.23",
    )
    assert (row["valid_from"], row["labels"], row["json"][:20]) == (
        "2024-01-01T00:00:00.000000Z",
        '["c2"]',
        '{"type":"indicator",',
    )


def test_bad_timestamp_is_a_stix_error() -> None:
    with pytest.raises(StixError, match="modified"):
        prepare(version("yesterday"))


def test_new_version_rebuilds_observables_and_keeps_the_alert_count(store: Store) -> None:
    from sqlalchemy import update

    from indicia.store.schema import objects

    store.upsert([prepare(BASE)])
    with store.engine.begin() as conn:
        conn.execute(update(objects).where(objects.c.id == BASE["id"]).values(alert_count=3))
    newer = version("2024-02-01T00:00:00.000Z", pattern="[domain-name:value = 'c2.example.net']")
    store.upsert([prepare(newer)])

    entries = list(matchable_entries(store.engine))
    assert [(e.kind, e.value) for e in entries] == [("domain-name", "c2.example.net")]
    [row] = list_indicators(store.engine, IndicatorQuery())
    assert (row["value"], row["alert_count"]) == ("c2.example.net", 3)
