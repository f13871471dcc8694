"""Bulk writes: batches share commits, yet each batch lands whole or not at all."""

from __future__ import annotations

import copy
import json
import pickle
import threading
from typing import Any

import pytest
from sqlalchemy import text

from indicia.store import Prepared, Store, prepare

BASE: dict[str, Any] = {
    "type": "indicator",
    "spec_version": "2.1",
    "created": "2024-01-01T00:00:00.000Z",
    "modified": "2024-01-01T00:00:00.000Z",
    "pattern_type": "stix",
    "valid_from": "2024-01-01T00:00:00Z",
}


def indicator(n: int, **changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(BASE)
    obj["id"] = f"indicator--{n:08x}-2222-4222-8222-222222222222"
    obj["pattern"] = f"[ipv4-addr:value = '198.51.100.{n % 250}']"
    obj.update(changes)
    return obj


def batch(*numbers: int) -> list[Prepared]:
    return [prepare(indicator(n)) for n in numbers]


def broken(n: int) -> Prepared:
    item = prepare(indicator(n))
    item.row = (*item.row[:-1], None)  # NULL json violates NOT NULL
    return item


def committed(store: Store) -> int:
    """Objects another connection sees."""
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM objects")).scalar_one())


def observable_ids(store: Store) -> list[tuple[str, str]]:
    query = "SELECT o.id, b.value FROM observables b JOIN objects o ON o.pk = b.object_pk"
    with store.engine.connect() as conn:
        return sorted((row[0], row[1]) for row in conn.execute(text(query)))


def test_bulk_commits_every_so_many_objects_and_at_the_end(store: Store) -> None:
    with store.bulk(rows_per_commit=4):
        store.upsert(batch(1, 2, 3))
        assert committed(store) == 0
        store.upsert(batch(4, 5))
        assert committed(store) == 5
        store.upsert(batch(6))
        assert committed(store) == 5
    assert committed(store) == 6
    assert len(observable_ids(store)) == 6


def test_failed_batch_in_bulk_undoes_only_itself(store: Store) -> None:
    with pytest.raises(Exception, match="(?i)null"), store.bulk():
        store.upsert(batch(1, 2))
        store.upsert([*batch(3), broken(4)])
    assert committed(store) == 2
    assert [object_id[11:19] for object_id, _ in observable_ids(store)] == ["00000001", "00000002"]


def test_bulk_goes_on_after_a_failed_batch(store: Store) -> None:
    with store.bulk():
        store.upsert(batch(1))
        with pytest.raises(Exception, match="(?i)null"):
            store.upsert([broken(2)])
        result = store.upsert(batch(2, 3))
    assert (result.created, committed(store)) == (2, 3)


def test_bulk_classifies_versions_like_single_batches(store: Store) -> None:
    store.upsert(batch(1, 2))
    newer = prepare(indicator(2, modified="2024-02-01T00:00:00.000Z"))
    with store.bulk():
        first = store.upsert(batch(3, 4))
        mixed = store.upsert([*batch(5, 1), newer])
        again = store.upsert(batch(5))
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert (mixed.created, mixed.updated, mixed.unchanged) == (1, 1, 1)
    assert (again.created, again.unchanged) == (0, 1)
    assert len(store.history(indicator(2)["id"])) == 2


def test_upserts_from_other_threads_commit_on_their_own(store: Store) -> None:
    # On SQLite the other thread waits for the group's write lock; it never joins the group.
    results = []
    worker = threading.Thread(target=lambda: results.append(store.upsert(batch(2))))
    with store.bulk():
        store.upsert(batch(1))
        worker.start()
        worker.join(timeout=0.5)
    worker.join()
    assert results[0].created == 1 and committed(store) == 2


def test_a_batch_whose_last_id_is_stored_is_classified(store: Store) -> None:
    store.upsert(batch(9))
    result = store.upsert(batch(*range(10, 20), 9))

    assert (result.created, result.unchanged) == (10, 1)
    assert len(observable_ids(store)) == 11


def test_observables_link_to_their_objects_when_rowids_are_not_consecutive(
    sqlite_store: Store,
) -> None:
    # At the largest rowid SQLite picks new ones at random: the pks must be looked up.
    with sqlite_store.engine.begin() as conn:
        columns = "pk, id, type, revoked, labels, kill_chain_phases, json"
        conn.execute(
            text(
                f"INSERT INTO objects ({columns}) VALUES (:pk, 'x--1', 'x', 0, '[]', '[]', '{{}}')"
            ),
            {"pk": (1 << 63) - 1},
        )

    sqlite_store.upsert(batch(*range(1, 30)))

    expected = sorted((indicator(n)["id"], f"198.51.100.{n}") for n in range(1, 30))
    assert observable_ids(sqlite_store) == expected


def test_prepared_crosses_a_process_boundary_whole() -> None:
    item = prepare(indicator(7, revoked=True, labels=["c2"]))

    copy_of = pickle.loads(pickle.dumps(item))

    assert copy_of == item and copy_of.observables == [("ipv4-addr", "198.51.100.7", None)]
    assert (copy_of.id, copy_of.revoked) == (indicator(7)["id"], True)
    assert json.loads(copy_of.json)["labels"] == ["c2"]
