"""Bulk writes: batches share commits, yet each batch lands whole or not at all."""

from __future__ import annotations

import copy
import json
import pickle
import threading
import time
from pathlib import Path
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
    return item._replace(row=(*item.row[:-1], None))  # NULL json violates NOT NULL


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


# -- observables' indexes built after a bulk load ------------------------------------------

DEFERRED = {"ix_observables_kind_value", "ix_observables_object"}


def indexes(store: Store) -> set[str]:
    """The names of the observables table's indexes, on either database."""
    if store.engine.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'observables'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = 'observables'"
    with store.engine.connect() as conn:
        return {str(name) for name in conn.execute(text(query)).scalars()}


def holding(store: Store, value: str) -> list[str]:
    """The ids of the objects with an observable of this value, as another connection sees."""
    query = (
        "SELECT o.id FROM observables b JOIN objects o ON o.pk = b.object_pk "
        "WHERE b.kind = 'ipv4-addr' AND b.value = :value ORDER BY o.id"
    )
    with store.engine.connect() as conn:
        return [str(i) for i in conn.execute(text(query), {"value": value}).scalars()]


def test_a_bulk_load_into_an_empty_store_builds_the_indexes_at_its_end(
    sqlite_store: Store,
) -> None:
    with sqlite_store.bulk(rows_per_commit=2, defer_indexes=True):
        sqlite_store.upsert(batch(1, 2))
        sqlite_store.upsert(batch(3))
        # Committed without the indexes; a reader still finds the rows, by scanning.
        assert indexes(sqlite_store) == set()
        assert holding(sqlite_store, "198.51.100.2") == [indicator(2)["id"]]
        assert holding(sqlite_store, "198.51.100.3") == []  # not committed yet

    assert indexes(sqlite_store) == DEFERRED
    assert holding(sqlite_store, "198.51.100.1") == [indicator(1)["id"]]
    assert len(observable_ids(sqlite_store)) == 3


def test_the_indexes_are_built_again_when_an_error_ends_the_bulk_load(
    sqlite_store: Store,
) -> None:
    with (
        pytest.raises(RuntimeError, match="the feed went away"),
        sqlite_store.bulk(rows_per_commit=1, defer_indexes=True),
    ):
        sqlite_store.upsert(batch(1))
        sqlite_store.upsert(batch(2))
        raise RuntimeError("the feed went away")

    assert indexes(sqlite_store) == DEFERRED
    assert committed(sqlite_store) == 2


def test_a_store_that_holds_observables_keeps_its_indexes(sqlite_store: Store) -> None:
    sqlite_store.upsert(batch(1))

    with sqlite_store.bulk(rows_per_commit=1, defer_indexes=True):
        sqlite_store.upsert(batch(2))
        assert indexes(sqlite_store) == DEFERRED
        sqlite_store.upsert(batch(3))


def test_an_update_in_a_deferred_bulk_load_builds_the_indexes_first(sqlite_store: Store) -> None:
    newer = prepare(indicator(1, modified="2024-02-01T00:00:00.000Z", pattern=NEWER_PATTERN))

    with sqlite_store.bulk(rows_per_commit=1, defer_indexes=True):
        sqlite_store.upsert(batch(1, 2))
        assert indexes(sqlite_store) == set()
        result = sqlite_store.upsert([newer])
        assert indexes(sqlite_store) == DEFERRED

    assert result.updated == 1
    assert holding(sqlite_store, "203.0.113.1") == [indicator(1)["id"]]
    assert holding(sqlite_store, "198.51.100.1") == []
    assert len(sqlite_store.history(indicator(1)["id"])) == 2


NEWER_PATTERN = "[ipv4-addr:value = '203.0.113.1']"


@pytest.mark.postgres
def test_postgresql_never_drops_an_index(pg_store: Store) -> None:
    with pg_store.bulk(rows_per_commit=1, defer_indexes=True):
        pg_store.upsert(batch(1, 2))
        assert indexes(pg_store) >= DEFERRED
    assert holding(pg_store, "198.51.100.2") == [indicator(2)["id"]]


def test_opening_the_store_builds_indexes_a_crashed_import_left_missing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'indicia.db'}"
    store = Store.open(url)
    store.upsert(batch(1))
    with store.engine.begin() as conn:  # what a bulk load that was killed leaves behind
        for name in DEFERRED:
            conn.execute(text(f"DROP INDEX {name}"))
    store.close()

    reopened = Store.open(url)
    try:
        assert indexes(reopened) == DEFERRED
        assert holding(reopened, "198.51.100.1") == [indicator(1)["id"]]
    finally:
        reopened.close()


def test_opening_the_store_does_not_wait_for_a_running_bulk_load(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'indicia.db'}"
    store = Store.open(url)
    try:
        with store.bulk(rows_per_commit=2, defer_indexes=True):
            store.upsert(batch(1, 2))  # committed without the indexes
            store.upsert(batch(3))  # the next transaction holds the write lock
            started = time.monotonic()
            other = Store.open(url)
            other.close()
            assert time.monotonic() - started < 5  # the busy timeout is 10 s
            assert indexes(store) == set()
        assert indexes(store) == DEFERRED
    finally:
        store.close()


# -- batches of new objects undone without a savepoint (SQLite) ----------------------------


def null_value(n: int) -> Prepared:
    """A batch item whose object row is fine but whose observable breaks NOT NULL."""
    item = prepare(indicator(n))
    return item._replace(observables=[("ipv4-addr", None, None)])


def pks(store: Store) -> list[int]:
    with store.engine.connect() as conn:
        return [
            int(pk) for pk in conn.execute(text("SELECT pk FROM objects ORDER BY pk")).scalars()
        ]


@pytest.mark.parametrize("defer", [False, True])
def test_a_batch_failing_in_its_observables_leaves_no_object(store: Store, defer: bool) -> None:
    with store.bulk(defer_indexes=defer):
        store.upsert(batch(1, 2))
        with pytest.raises(Exception, match="(?i)null"):
            store.upsert([*batch(3, 4), null_value(5)])
        store.upsert(batch(6))

    assert committed(store) == 3
    assert [object_id[11:19] for object_id, _ in observable_ids(store)] == [
        "00000001",
        "00000002",
        "00000006",
    ]


def test_an_undone_batch_gives_its_pks_to_the_next(sqlite_store: Store) -> None:
    with sqlite_store.bulk(defer_indexes=True):
        sqlite_store.upsert(batch(1, 2))
        with pytest.raises(Exception, match="(?i)null"):
            sqlite_store.upsert([*batch(3, 4), broken(5)])
        sqlite_store.upsert(batch(6, 7))

    assert pks(sqlite_store) == [1, 2, 3, 4]
    assert indexes(sqlite_store) == DEFERRED
    assert holding(sqlite_store, "198.51.100.7") == [indicator(7)["id"]]


def test_a_batch_that_cannot_be_undone_drops_the_uncommitted_ones(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_delete(self: Store, group: Any, before: int) -> None:
        group.broken = True
        raise OSError("disk I/O error")

    sqlite_store.upsert(batch(1))
    monkeypatch.setattr(Store, "_undo", failing_delete)

    with pytest.raises(OSError, match="disk I/O error"), sqlite_store.bulk():
        sqlite_store.upsert(batch(2))
        sqlite_store.upsert([*batch(3), broken(4)])

    assert committed(sqlite_store) == 1  # the batch before the failure went with it
