"""Fixtures for the store tests: every `store` test runs on SQLite (a file in tmp_path) and on
PostgreSQL.

PostgreSQL: each test session (each xdist worker) creates its own database
`ontime_test_<uuid8>` through an AUTOCOMMIT connection to the admin URL (env
`ONTIME_TEST_PG_URL`, default the local server's `postgres` database) and drops it at the end;
each test gets a fresh schema in it (via search_path), so every test starts from an empty,
unmigrated database. If the server cannot be reached the PostgreSQL cases are skipped, or fail
when env `CI` is set.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from api.store import Store
from tests.pgdb import autocommit_engine, temporary_pg_database

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[URL]:
    """A PostgreSQL database of this test session (dropped at the end)."""
    with temporary_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def pg_admin(pg_database: URL) -> Iterator[Engine]:
    """AUTOCOMMIT engine on the session database (to create per-test schemas)."""
    engine = autocommit_engine(pg_database)
    yield engine
    engine.dispose()


def _pg_schema_url(pg_database: URL, pg_admin: Engine) -> str:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = pg_database.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty (unmigrated) database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ontime.db'}"
    return _pg_schema_url(request.getfixturevalue("pg_database"), request.getfixturevalue("pg_admin"))


@pytest.fixture
def make_store(db_url: str) -> Iterator[Callable[..., Store]]:
    """Factory of Stores (keyword arguments go to `Store`) on this test's database, all
    disposed at the end."""
    stores: list[Store] = []

    def make(**kwargs: Any) -> Store:
        store = Store(db_url, **kwargs)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.dispose()


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    """A migrated Store on each backend."""
    store = make_store()
    store.migrate()
    return store
