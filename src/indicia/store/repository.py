"""The store: versioned STIX objects and the indicator rows projected from them.

Versioning follows STIX 2.1 section 3.6: an object's identity is its ``id``; a newer
``modified`` supersedes (the old JSON moves to ``object_versions``), an older or equal one
changes nothing, and revocation is permanent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from indicia.errors import NotFoundError
from indicia.store.engine import advisory_lock, connect, create_indexes, drop_indexes
from indicia.store.projection import ROW_COLUMNS, Prepared
from indicia.store.schema import object_versions, objects, observables

log = logging.getLogger(__name__)

OBSERVABLE_COLUMNS = ("object_pk", "kind", "value", "port")
# SQLite allows 32,766 bound parameters per statement; stay well below for IN lists.
_CHUNK = 500
_MAX_ROWID = (1 << 63) - 1
# Bulk mode (Store.bulk): objects per commit, and the SQLite page cache of its connection.
BULK_ROWS = 200_000
_BULK_CACHE_KIB = 256 << 10


@dataclass(slots=True)
class UpsertResult:
    """What one batch did to the store."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def add(self, other: UpsertResult) -> None:
        """Add another batch's counts to these."""
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected.extend(other.rejected)
        self.notices.extend(other.notices)


REVOCATION_IS_PERMANENT = "revocation is permanent: a later version that is not revoked is ignored"


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _newest_per_id(batch: Sequence[Prepared], result: UpsertResult) -> dict[str, Prepared]:
    """Keep the newest version of each id in the batch, whatever the order (STIX 2.1 3.6).

    Revocation is permanent inside a batch too: a version newer than a revoked one that is not
    revoked itself is rejected, and the revoked version stays the newest.
    """
    newest = dict(zip([item.row[0] for item in batch], batch, strict=True))
    if len(newest) == len(batch):
        return newest  # no id twice, the common case: nothing to choose
    newest = {}
    versions: dict[str, list[Prepared]] = {}
    for item in batch:
        versions.setdefault(item.row[0], []).append(item)
    for object_id, items in versions.items():
        # A stable sort: of two equal versions, the one first in the batch comes first.
        ordered = sorted(items, key=lambda item: item.version)
        kept = ordered[0]
        for item in ordered[1:]:
            if item.version == kept.version:
                if item.json != kept.json:
                    result.notices.append(
                        f"{object_id}: two different objects share modified {item.version}; "
                        "kept the first"
                    )
            elif kept.revoked and not item.revoked:
                result.rejected.append((object_id, REVOCATION_IS_PERMANENT))
            else:
                kept = item
        newest[object_id] = kept
    return newest


@dataclass(slots=True)
class _Group:
    """The connection of a bulk write, whose transactions span many batches."""

    conn: Connection
    thread: int
    rows_per_commit: int
    defer_indexes: bool = False  # asked for; decided when the first transaction opens
    deferred: bool = False  # the deferrable indexes were dropped and must be built again
    broken: bool = False  # a failed batch could not be undone
    pending: int = 0
    open: bool = False  # whether a transaction is open


_GUESS_MIN_ROWS = 1000
# PostgreSQL advisory lock key of the object writers (any fixed 64-bit number). Two imports
# writing overlapping ids in different orders would wait on each other's rows of the unique id
# index and deadlock; holding this lock per write transaction makes writers take turns, a
# commit group at a time (SQLite has one writer anyway).
_WRITER_LOCK = 0x1D1C1A_0B1EC7


class Store:
    """Reads and writes STIX objects and their projections in one SQL database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Whether the next batch is likely all new: then it is inserted without looking up
        # its ids first. Only a guess; a wrong one costs one undone insert.
        self._expect_fresh = True
        self._group: _Group | None = None

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        """Open (and migrate) the store at ``url``, by default the configured one."""
        return cls(connect(url))

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- writing -------------------------------------------------------------------------

    def upsert(self, batch: Sequence[Prepared]) -> UpsertResult:
        """Write a batch atomically: all of it lands, or (on error) none of it."""
        result = UpsertResult()
        newest = _newest_per_id(batch, result)
        result.unchanged += len(batch) - len(newest) - len(result.rejected)
        group = self._group
        if group is not None and group.thread == threading.get_ident():
            fresh, newer = self._write_in_group(group, newest, result)
        else:
            with self.engine.begin() as conn:
                advisory_lock(conn, _WRITER_LOCK)
                fresh, newer = self._write(conn, newest, result, None)
        result.created += len(fresh)
        result.updated += len(newer)
        return result

    @contextmanager
    def bulk(
        self, rows_per_commit: int = BULK_ROWS, *, defer_indexes: bool = False
    ) -> Iterator[None]:
        """Commit the batches this thread upserts inside only every ``rows_per_commit`` objects.

        Each batch still lands whole or not at all (a savepoint, or on SQLite, for a batch of
        new objects, deleting what it inserted), and on leaving, also by an error, the batches
        written so far are committed. A commit per small batch would write out every index
        page the batch touched, each time: for a large import that costs more than the rows.
        Other connections see the batches once they are committed.

        With ``defer_indexes``, on SQLite, and when no observable is stored yet, the indexes
        of observables are dropped and built once before the last commit (also after an
        error): one sorted build costs far less than a million random inserts. Readers
        meanwhile get the same answers, by scanning. A batch that updates stored objects
        builds them first. PostgreSQL keeps them, since dropping one would lock out readers.
        """
        if self._group is not None:
            yield
            return
        conn = self.engine.connect()
        group = _Group(conn, threading.get_ident(), rows_per_commit, defer_indexes)
        cache = self._set_cache(conn, f"-{_BULK_CACHE_KIB}")
        self._group = group
        try:
            yield
        except BaseException:
            self._end_group(group, failed=True)
            raise
        else:
            self._end_group(group, failed=False)
        finally:
            self._group = None
            self._set_cache(conn, cache)
            conn.close()

    def _set_cache(self, conn: Connection, size: str | None) -> str | None:
        """Set SQLite's page cache of ``conn`` (KiB when negative); returns the old setting."""
        if not self._is_sqlite or size is None:
            return None
        old = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql(f"PRAGMA cache_size={int(size)}")
        conn.commit()  # ends the transaction SQLAlchemy began; SQLite had none
        return str(old)

    def _write_in_group(
        self, group: _Group, newest: dict[str, Prepared], result: UpsertResult
    ) -> tuple[list[Prepared], list[Prepared]]:
        if not group.open:
            self._begin(group)
        written = None
        if self._expect_fresh and self._is_sqlite:
            written = self._insert_fresh_or_undo(group, list(newest.values()))
        if written is None:
            written = self._write_in_savepoint(group, newest, result)
        group.pending += len(newest)
        if group.pending >= group.rows_per_commit:
            self._commit(group)
        return written

    def _write_in_savepoint(
        self, group: _Group, newest: dict[str, Prepared], result: UpsertResult
    ) -> tuple[list[Prepared], list[Prepared]]:
        conn = group.conn
        conn.exec_driver_sql("SAVEPOINT indicia_batch")
        try:
            written = self._write(conn, newest, result, group)
        except BaseException:
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT indicia_batch")
            conn.exec_driver_sql("RELEASE SAVEPOINT indicia_batch")
            raise
        conn.exec_driver_sql("RELEASE SAVEPOINT indicia_batch")
        return written

    def _insert_fresh_or_undo(
        self, group: _Group, items: list[Prepared]
    ) -> tuple[list[Prepared], list[Prepared]] | None:
        """Insert a batch of new objects on SQLite without a savepoint, undoing it if it fails.

        A savepoint makes SQLite copy each page a batch changes before changing it: with the
        random-keyed id index, most of the index, every batch. This transaction holds the write
        lock, so the rows past the largest pk before the batch are the batch's, and deleting
        them undoes it. None when a stored id (or another constraint) needs the classifying
        write, with nothing changed.
        """
        conn = group.conn
        before = int(conn.exec_driver_sql("SELECT coalesce(max(pk), 0) FROM objects").scalar_one())
        if before + len(items) >= _MAX_ROWID:
            return None  # SQLite would pick pks at random
        try:
            self._insert(conn, items, before)
        except IntegrityError:
            self._undo(group, before)
            self._expect_fresh = False
            return None
        except BaseException:
            self._undo(group, before)
            raise
        return items, []

    def _undo(self, group: _Group, before: int) -> None:
        conn = group.conn
        try:
            if group.deferred:
                create_indexes(conn)  # deleting an object looks up its observables
            conn.exec_driver_sql("DELETE FROM observables WHERE object_pk > ?", (before,))
            conn.exec_driver_sql("DELETE FROM objects WHERE pk > ?", (before,))
        except BaseException:
            group.broken = True  # the bulk write ends by rolling back, not by committing
            raise

    def _begin(self, group: _Group) -> None:
        if self._is_sqlite:
            # pysqlite opens a transaction only before DML; the savepoints need a real one,
            # since releasing a savepoint that opened the transaction would commit it. The
            # write lock is taken at once: an undo relies on no one else writing meanwhile.
            group.conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            advisory_lock(group.conn, _WRITER_LOCK)
        group.open = True
        if group.defer_indexes:
            group.defer_indexes = False
            group.deferred = self._drop_indexes_if_empty(group.conn)

    def _drop_indexes_if_empty(self, conn: Connection) -> bool:
        if not self._is_sqlite:
            return False
        if conn.exec_driver_sql("SELECT 1 FROM observables LIMIT 1").first() is not None:
            return False
        drop_indexes(conn)
        return True

    def _commit(self, group: _Group) -> None:
        group.conn.commit()
        group.open = False
        group.pending = 0

    def _end_group(self, group: _Group, *, failed: bool) -> None:
        if group.broken and group.open:
            log.error("a failed batch could not be undone; the uncommitted batches are dropped")
            group.conn.rollback()
            group.open = False
        if group.deferred:
            self._build_indexes(group)
        if not group.open:
            return
        if not failed:
            self._commit(group)
            return
        try:
            self._commit(group)
        except Exception:  # the error that ended the bulk write matters more; keep it
            log.warning("could not commit the batches written before an error", exc_info=True)

    def _build_indexes(self, group: _Group) -> None:
        try:
            if not group.open:
                self._begin(group)
            create_indexes(group.conn)
        except Exception:  # the next Store.open builds them; the rows matter more
            log.warning("could not build the observables' indexes again", exc_info=True)
        group.deferred = False

    def _write(
        self,
        conn: Connection,
        newest: dict[str, Prepared],
        result: UpsertResult,
        group: _Group | None,
    ) -> tuple[list[Prepared], list[Prepared]]:
        items = list(newest.values())
        # On PostgreSQL a failed optimistic insert costs a round of errors (psycopg warns of
        # an aborted pipeline); for a small batch the id lookup is cheaper than the guess.
        guess = self._expect_fresh and (self._is_sqlite or len(items) >= _GUESS_MIN_ROWS)
        if guess and not self._is_sqlite and self._any_stored(conn, items):
            guess = False  # the ends of the batch are stored already: a re-run, most likely
        if guess and self._insert_all_fresh(conn, items):
            return items, []

        if group is not None and group.deferred:
            create_indexes(conn)  # what follows finds observables by their object
        existing = self._versions(conn, list(newest))
        fresh, newer = self._classify(newest, existing, result)
        self._insert(conn, fresh)
        self._supersede(conn, newer)
        self._expect_fresh = not existing
        return fresh, newer

    def _any_stored(self, conn: Connection, items: list[Prepared]) -> bool:
        ends = list({items[0].row[0], items[-1].row[0]})
        query = select(objects.c.id).where(objects.c.id.in_(ends)).limit(1)
        return conn.execute(query).first() is not None

    def _insert_all_fresh(self, conn: Connection, items: list[Prepared]) -> bool:
        """Insert the batch as new objects if none of its ids is stored yet; else change nothing.

        A bulk import of new intelligence is the common case: trying the insert first saves
        looking up every id. A stored id makes the insert fail, and the savepoint undoes it.
        """
        conn.exec_driver_sql("SAVEPOINT indicia_fresh")
        try:
            self._insert(conn, items)
        except IntegrityError:
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT indicia_fresh")
            self._expect_fresh = False
            return False
        # Not released: the commit ends it (on SQLite, releasing a savepoint that opened the
        # transaction would commit early).
        return True

    def _versions(self, conn: Connection, ids: list[str]) -> dict[str, tuple[str, bool]]:
        found: dict[str, tuple[str, bool]] = {}
        version = func.coalesce(objects.c.modified, objects.c.created, "")
        for chunk in _chunks(ids):
            query = select(objects.c.id, version, objects.c.revoked).where(objects.c.id.in_(chunk))
            for object_id, stored, revoked in conn.execute(query):
                found[object_id] = (stored, bool(revoked))
        return found

    def _classify(
        self,
        newest: dict[str, Prepared],
        existing: dict[str, tuple[str, bool]],
        result: UpsertResult,
    ) -> tuple[list[Prepared], list[Prepared]]:
        fresh: list[Prepared] = []
        newer: list[Prepared] = []
        for object_id, item in newest.items():
            stored = existing.get(object_id)
            if stored is None:
                fresh.append(item)
            elif item.version <= stored[0]:
                result.unchanged += 1
            elif stored[1] and not item.revoked:
                result.rejected.append((object_id, REVOCATION_IS_PERMANENT))
            else:
                newer.append(item)
        return fresh, newer

    def _insert(self, conn: Connection, items: list[Prepared], before: int | None = None) -> None:
        # Bulk rows go straight to the driver's executemany: the statement is the same for
        # every row, and SQLAlchemy's per-row parameter processing would cost more than the write.
        if not items:
            return
        conn.exec_driver_sql(self._insert_sql("objects", ROW_COLUMNS), [i[0] for i in items])
        first = self._first_inserted_pk(conn, items, before) if self._is_sqlite else None
        if first is None:
            self._link_observables(conn, [item for item in items if item.observables])
            return
        links = [(first + n, *row) for n, item in enumerate(items) for row in item.observables]
        if links:
            conn.exec_driver_sql(self._insert_sql("observables", OBSERVABLE_COLUMNS), links)

    def _link_observables(self, conn: Connection, items: list[Prepared]) -> None:
        if not items:
            return
        keys = self._keys(conn, [item.row[0] for item in items])
        links = [(keys[item.row[0]], *row) for item in items for row in item.observables]
        conn.exec_driver_sql(self._insert_sql("observables", OBSERVABLE_COLUMNS), links)

    def _first_inserted_pk(
        self, conn: Connection, items: list[Prepared], before: int | None
    ) -> int | None:
        """The pk SQLite gave the first of the rows just inserted, or None if it cannot tell.

        Without an explicit key SQLite gives a new row the largest rowid plus one, unless the
        largest is already the maximum (then it picks at random); this transaction holds the
        write lock, so the rows got consecutive pks after ``before`` (the largest before the
        insert, when known) and ending at the largest. Both ends are checked.
        """
        if before is None:
            last = conn.exec_driver_sql("SELECT max(pk) FROM objects").scalar()
        else:
            last = before + len(items)
        if not isinstance(last, int) or last >= _MAX_ROWID:
            return None
        first = last - len(items) + 1
        ends = {first: items[0].row[0], last: items[-1].row[0]}
        # By pk, not by id: the rowid lookups cost less than two in the id index.
        sql = "SELECT pk, id FROM objects WHERE pk IN (?, ?)"
        if dict(conn.exec_driver_sql(sql, (first, last)).all()) != ends:
            return None
        return first

    def _keys(self, conn: Connection, ids: list[str]) -> dict[str, int]:
        keys: dict[str, int] = {}
        for chunk in _chunks(ids):
            query = select(objects.c.id, objects.c.pk).where(objects.c.id.in_(chunk))
            keys.update((object_id, pk) for object_id, pk in conn.execute(query))
        return keys

    @property
    def _is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def _mark(self) -> str:
        return "?" if self.engine.dialect.paramstyle == "qmark" else "%s"

    def _insert_sql(self, table: str, columns: Sequence[str]) -> str:
        marks = ", ".join([self._mark()] * len(columns))
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"

    def _supersede(self, conn: Connection, items: list[Prepared]) -> None:
        """Keep the old JSON as history and rewrite the row in place (its alert count stays)."""
        if not items:
            return
        ids = [item.id for item in items]
        for chunk in _chunks(ids):
            keep = select(objects.c.id, objects.c.modified, objects.c.json)
            keep = keep.where(objects.c.id.in_(chunk), objects.c.modified.is_not(None))
            conn.execute(insert(object_versions).from_select(["id", "modified", "json"], keep))
            owned = select(objects.c.pk).where(objects.c.id.in_(chunk))
            conn.execute(delete(observables).where(observables.c.object_pk.in_(owned)))
        mark = self._mark()
        assignments = ", ".join(f"{column} = {mark}" for column in ROW_COLUMNS[1:])
        sql = f"UPDATE objects SET {assignments} WHERE id = {mark}"
        conn.exec_driver_sql(sql, [(*item.row[1:], item.id) for item in items])
        self._link_observables(conn, [item for item in items if item.observables])

    def delete(self, ids: Sequence[str]) -> int:
        """Delete objects, their history and their projections; returns how many existed."""
        removed = 0
        with self.engine.begin() as conn:
            for chunk in _chunks(list(ids)):
                owned = select(objects.c.pk).where(objects.c.id.in_(chunk))
                conn.execute(delete(observables).where(observables.c.object_pk.in_(owned)))
                conn.execute(delete(object_versions).where(object_versions.c.id.in_(chunk)))
                removed += conn.execute(delete(objects).where(objects.c.id.in_(chunk))).rowcount
        return removed

    # -- reading -------------------------------------------------------------------------

    def get(self, object_id: str) -> dict[str, Any]:
        """The current version of one object."""
        with self.engine.connect() as conn:
            found = conn.execute(select(objects.c.json).where(objects.c.id == object_id)).scalar()
        if found is None:
            raise NotFoundError(f"no object with id {object_id!r}")
        value: dict[str, Any] = orjson.loads(found)
        return value

    def fingerprints(self, ids: Sequence[str]) -> dict[str, str | None]:
        """The import fingerprint (``x_indicia_fingerprint``) of each stored object in ``ids``."""
        found: dict[str, str | None] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids)):
                query = select(objects.c.id, objects.c.json).where(objects.c.id.in_(chunk))
                for object_id, text in conn.execute(query):
                    found[object_id] = orjson.loads(text).get("x_indicia_fingerprint")
        return found

    def history(self, object_id: str) -> list[dict[str, Any]]:
        """Every stored version of one object, oldest first, the current one last."""
        query = select(object_versions.c.json).where(object_versions.c.id == object_id)
        with self.engine.connect() as conn:
            older = [
                orjson.loads(row) for row in conn.execute(query.order_by("modified")).scalars()
            ]
        return [*older, self.get(object_id)]

    def all_objects(self, types: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every current object (of the given types), in id order."""
        query = select(objects.c.json).order_by(objects.c.id)
        if types:
            query = query.where(objects.c.type.in_(types))
        with self.engine.connect() as conn:
            for row in conn.execute(query).scalars():
                yield orjson.loads(row)

    def count_by_type(self) -> dict[str, int]:
        """How many current objects the store holds, per STIX type."""
        query = select(objects.c.type, func.count()).group_by(objects.c.type)
        with self.engine.connect() as conn:
            return {str(kind): int(n) for kind, n in conn.execute(query)}
