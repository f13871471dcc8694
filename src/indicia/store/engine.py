"""Where the store lives and how to connect to it.

SQLite in WAL mode at ``$INDICIA_HOME/indicia.db`` is the embedded default; ``INDICIA_DB``
(any SQLAlchemy URL) selects another database, PostgreSQL included.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

from indicia.errors import StoreError

log = logging.getLogger(__name__)


def indicia_home() -> Path:
    """The folder that holds the embedded store and other local state."""
    home = os.environ.get("INDICIA_HOME")
    return Path(home) if home else Path.home() / ".local" / "share" / "indicia"


def database_url() -> str:
    """The store's SQLAlchemy URL: ``INDICIA_DB`` or the embedded SQLite file."""
    url = os.environ.get("INDICIA_DB")
    if url:
        return url
    return f"sqlite:///{indicia_home() / 'indicia.db'}"


def _driver_url(url: str) -> str:
    # psycopg 3 is the PostgreSQL driver we ship; a bare postgresql:// URL means it.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
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
        folder.mkdir(parents=True, exist_ok=True)
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
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    log.debug("store schema at head on %s", engine.dialect.name)
