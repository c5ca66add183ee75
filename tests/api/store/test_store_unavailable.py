"""An unreachable database is StoreUnavailable, quickly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from api.store import Store, StoreUnavailable, repo

UNREACHABLE_PG = "postgresql+psycopg://postgres@127.0.0.1:1/ontime?connect_timeout=2"


def test_ping_unreachable_postgresql_is_quick() -> None:
    store = Store(UNREACHABLE_PG)
    try:
        began = time.monotonic()
        with pytest.raises(StoreUnavailable, match="unavailable"):
            store.ping()
        assert time.monotonic() - began < 5
        with pytest.raises(StoreUnavailable), store.transaction() as s:
            repo.get_plan(s, "p1")
        with pytest.raises(StoreUnavailable), store.plan_transaction("p1"):
            pass
        with pytest.raises(StoreUnavailable):
            store.migrate()
    finally:
        store.dispose()


def test_unopenable_sqlite_file(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'ontime.db'}")
    try:
        with pytest.raises(StoreUnavailable):
            store.ping()
    finally:
        store.dispose()


def test_ping_reachable(store: Store) -> None:
    store.ping()


def test_password_is_not_shown() -> None:
    store = Store("postgresql+psycopg://ontime:s3cret@127.0.0.1:1/ontime?connect_timeout=2")
    try:
        assert "s3cret" not in repr(store)
        with pytest.raises(StoreUnavailable) as info:
            store.ping()
        assert "s3cret" not in str(info.value)
    finally:
        store.dispose()


def test_unsupported_url() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        Store("mysql://x@localhost/db")
