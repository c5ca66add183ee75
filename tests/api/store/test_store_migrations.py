"""Migrations: apply on an empty database, are idempotent, match the models."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from api.store import Store, StoreUnavailable, alembic_config, repo
from api.store import store as store_module
from api.store.models import Base

TABLES = {"plans", "route_versions", "events", "calls", "outbox", "scenarios", "audit", "alembic_version"}


def _tables(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_migrate_empty_database_then_again(make_store: Callable[..., Store]) -> None:
    store = make_store()
    assert _tables(store) == set()
    assert store.schema_revision() is None
    store.migrate()
    assert _tables(store) == TABLES
    assert store.schema_revision() == Store.head_revision() == "0005"
    with store.transaction() as s:
        repo.create_plan(s, "p1", "kept", {}, {})
    store.migrate()  # idempotent: nothing changes, data stays
    make_store().migrate()  # also from another Store
    assert _tables(store) == TABLES
    assert store.schema_revision() == Store.head_revision()
    with store.transaction(readonly=True) as s:
        assert repo.get_plan(s, "p1").name == "kept"


def test_models_match_migrations(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_migrated_indexes(store: Store) -> None:
    with store.engine.connect() as conn:
        indexes = {ix["name"]: ix for ix in inspect(conn).get_indexes("calls")}
    assert indexes["uq_calls_open_stop"]["unique"]
    assert indexes["uq_calls_open_stop"]["column_names"] == ["plan_id", "stop_id"]


def test_downgrade_and_upgrade_again(store: Store) -> None:
    cfg = alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert _tables(store) == {"alembic_version"}
    store.migrate()
    assert _tables(store) == TABLES


def test_upgrade_from_0001_keeps_plans_and_starts_their_state_revision_at_0(make_store: Callable[..., Store]) -> None:
    store = make_store()
    cfg = alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            text(
                "INSERT INTO plans (id, name, status, version, problem, params, state, created_at, updated_at)"
                " VALUES ('p1', 'old', 'solved', 3, '{}', '{}', '{\"seq\": 7}', :t, :t)"
            ),
            {"t": "2026-11-26 08:00:00+00:00"},
        )
    store.migrate()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT state_rev FROM plans WHERE id = 'p1'")).scalar_one() == 0
    with store.transaction(readonly=True) as s:
        plan = repo.get_plan(s, "p1")
    assert (plan.name, plan.version, plan.state) == ("old", 3, {"seq": 7})


def test_concurrent_migrate(make_store: Callable[..., Store]) -> None:
    stores = [make_store(), make_store()]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(stores))

    def run(store: Store) -> None:
        try:
            barrier.wait(10)
            store.migrate()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(store,)) for store in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert stores[0].schema_revision() == Store.head_revision()


@pytest.fixture
def sqlite_writer(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A connection in the middle of writing a new SQLite file (its write lock held)."""
    writer = sqlite3.connect(tmp_path / "ontime.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE elsewhere (x)")
    yield writer
    writer.close()


def test_a_new_sqlite_file_is_switched_to_wal_once_its_writer_commits(
    tmp_path: Path, sqlite_writer: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite refuses the switch to WAL at once (SQLITE_BUSY, no busy handler) while another
    connection writes to the file: two stores migrating one new file met it as "database is
    locked" (test_concurrent_migrate[sqlite], now and then). The store retries instead."""
    pauses: list[float] = []

    def pause(seconds: float) -> None:  # the other writer commits while the store waits
        pauses.append(seconds)
        sqlite_writer.execute("COMMIT")

    monkeypatch.setattr(store_module, "sleep", pause)
    store = Store(f"sqlite:///{tmp_path / 'ontime.db'}")
    try:
        store.migrate()
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert store.schema_revision() == Store.head_revision()
    finally:
        store.dispose()
    assert len(pauses) == 1


def test_a_sqlite_file_locked_past_the_lock_timeout_is_unavailable(
    tmp_path: Path, sqlite_writer: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(store_module, "sleep", pauses.append)
    store = Store(f"sqlite:///{tmp_path / 'ontime.db'}", lock_timeout_s=0.05)
    try:
        with pytest.raises(StoreUnavailable, match="database is locked"):
            store.ping()
    finally:
        store.dispose()
    assert pauses  # it did retry before giving up


def test_migrate_creates_the_sqlite_folder(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "ontime.db"
    store = Store(f"sqlite:///{path}")
    try:
        store.migrate()
        assert path.is_file()
    finally:
        store.dispose()


def test_sqlite_connection_settings(store: Store) -> None:
    if not store.is_sqlite:
        pytest.skip("SQLite only")
    with store.engine.connect() as conn:
        settings = {
            name: conn.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    assert settings == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000, "synchronous": 2}
