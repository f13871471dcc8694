"""Where the store lives and how to connect to it.

SQLite in WAL mode at ``$INDICIA_HOME/indicia.db`` is the embedded default; ``INDICIA_DB``
(any SQLAlchemy URL) selects another database, PostgreSQL included. A bulk import into an
empty SQLite store drops the observables' indexes while it loads (:data:`DEFERRABLE_INDEXES`);
opening the store builds again any that an interrupted import left missing.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Index, create_engine, event, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import CreateIndex, DropIndex

from indicia.errors import StoreError
from indicia.store.schema import metadata, observables

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
# Indexes no write needs for its correctness: a bulk load may build them after the rows.
DEFERRABLE_INDEXES: tuple[Index, ...] = tuple(
    sorted(observables.indexes, key=lambda i: str(i.name))
)


def indicia_home() -> Path:
    """The folder that holds the embedded store and other local state."""
    home = os.environ.get("INDICIA_HOME")
    return Path(home) if home else Path.home() / ".local" / "share" / "indicia"


def database_url() -> str:
    """The store's SQLAlchemy URL: ``INDICIA_DB`` or the embedded SQLite file."""
    url = os.environ.get("INDICIA_DB")
    if url:
        if url.split("?", 1)[0] in ("sqlite://", "sqlite:///:memory:", "sqlite+pysqlite://"):
            # Each command opens the store anew: an in-memory one would forget every write.
            raise StoreError("INDICIA_DB names an in-memory SQLite store, which keeps nothing")
        return url
    return f"sqlite:///{indicia_home() / 'indicia.db'}"


def _driver_url(url: str) -> str:
    # psycopg 3 is the PostgreSQL driver we ship; a bare postgresql:// URL means it.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _null(_value: None) -> None:
    return None


# pysqlite looks for an adapter for every parameter that is not an exact int, float or str, and
# for None and bool finds none only after two failed attribute lookups, which cost more than
# binding the value: a bulk import binds millions of them. These adapters bind what the
# default would (NULL, and 0 or 1), at the price of one dict lookup.
sqlite3.register_adapter(type(None), _null)
sqlite3.register_adapter(bool, int)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # A new database gets 16 KiB pages (SQLite's default is 4 KiB): a bulk import writes, commits
    # and checkpoints a quarter as many pages, which cut the writer's CPU by a fifth for a
    # million indicators. An existing database keeps its page size; this is then a no-op.
    cursor.execute("PRAGMA page_size=16384")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def connect(url: str | None = None) -> Engine:
    """Open the database at ``url`` (default :func:`database_url`) and migrate its schema."""
    embedded = url is None and not os.environ.get("INDICIA_DB")
    url = _driver_url(url or database_url())
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        _check_folder(Path(url.removeprefix("sqlite:///")).parent, create=embedded)
    try:
        engine = create_engine(url)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        migrate(engine)
        restore_indexes(engine)
    except StoreError:
        raise
    except Exception as exc:  # driver errors come in many classes; name the store either way
        reason = getattr(exc, "orig", None) or exc  # the driver's own words, not SQLAlchemy's wrap
        raise StoreError(f"cannot open the store at {engine_label(url)}: {reason}") from exc
    return engine


def _check_folder(folder: Path, *, create: bool) -> None:
    # The embedded store makes its home; a store the user named must be where they said, or a
    # typo in INDICIA_DB would quietly open an empty new store somewhere else.
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise StoreError(f"cannot create the store's folder {folder} ({reason}); "
                             "set INDICIA_HOME to a folder you can write") from exc  # fmt: skip
    elif not folder.is_dir():
        raise StoreError(f"cannot open the store: the folder {folder} does not exist")


def engine_label(url: str) -> str:
    """The URL with any password hidden, for messages."""
    head, sep, tail = url.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, userinfo = head.partition("//")
    return f"{scheme}//{userinfo.split(':', 1)[0]}:***@{tail}"


def migrate(engine: Engine) -> None:
    """Run the Alembic migrations up to the newest revision."""
    config = Config()
    config.set_main_option("script_location", "indicia.store:migrations")
    with engine.begin() as connection:
        _check_foreign(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    log.debug("store schema at head on %s", engine.dialect.name)


_OWN_TABLES = frozenset(metadata.tables)


def _check_foreign(connection: Connection) -> None:
    """Refuse a database that holds tables but no Indicia schema: it belongs to something else.

    Migrating it would add Indicia's tables beside another application's (a mistyped
    INDICIA_DB naming the wrong SQLite file, say).
    """
    names = set(inspect(connection).get_table_names())
    if names and "alembic_version" not in names and not names <= _OWN_TABLES:
        shown = ", ".join(sorted(names)[:5])
        raise StoreError(
            f"the database holds other tables ({shown}) and no Indicia store; "
            "point INDICIA_DB at an empty database or an Indicia store"
        )


def advisory_lock(conn: Connection, key: int) -> None:
    """Hold PostgreSQL's transaction-scoped advisory lock ``key`` until the transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(key)})")


def drop_indexes(conn: Connection) -> None:
    """Drop the deferrable indexes (inside the caller's transaction)."""
    for index in DEFERRABLE_INDEXES:
        conn.execute(DropIndex(index, if_exists=True))


def create_indexes(conn: Connection) -> None:
    """Create the deferrable indexes that do not exist (inside the caller's transaction)."""
    for index in DEFERRABLE_INDEXES:
        conn.execute(CreateIndex(index, if_not_exists=True))


def restore_indexes(engine: Engine) -> None:
    """Build the deferrable indexes a bulk import dropped and could not build again.

    A crash leaves them missing. A running import also has them missing between its commits:
    while it holds the write lock this gives way at once, and the import builds them when it
    ends; otherwise they are built here, which is correct, only the import is slower.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
        present = set(conn.exec_driver_sql(query).scalars())
        if all(index.name in present for index in DEFERRABLE_INDEXES):
            return
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
        try:
            create_indexes(conn)
            conn.commit()
        except OperationalError as exc:
            if "locked" not in str(exc.orig):
                raise
            conn.rollback()
            log.info("a running import holds the store; it builds the missing indexes itself")
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
