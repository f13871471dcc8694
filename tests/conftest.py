"""Fixtures shared by the whole suite: stores on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from indicia.store import Store

DATA = Path(__file__).parent / "data"
# PostgreSQL runs on this machine and in CI; the store suite fails (never skips) without it.
PG_URL = os.environ.get("INDICIA_TEST_PG", "postgresql+psycopg://127.0.0.1:5432/test")


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'indicia.db'}")
    yield store
    store.close()


@pytest.fixture
def pg_store() -> Iterator[Store]:
    """A store in a schema of its own, dropped afterwards, so runs never see each other's rows."""
    schema = f"indicia_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = Store.open(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        yield store
    finally:
        store.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Store:
    """The same tests on both databases."""
    fixture = "sqlite_store" if request.param == "sqlite" else "pg_store"
    value: Store = request.getfixturevalue(fixture)
    return value


@pytest.fixture
def indicia_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty INDICIA_HOME for CLI runs (the embedded SQLite store lands there)."""
    home = tmp_path / "home"
    monkeypatch.setenv("INDICIA_HOME", str(home))
    monkeypatch.delenv("INDICIA_DB", raising=False)
    return home
