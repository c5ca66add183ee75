"""`Store`: the engine, migrations, health check and the two transaction scopes.

Locking
-------
* PostgreSQL: `plan_transaction(plan_id)` runs `SELECT id FROM plans WHERE id = :id FOR UPDATE`
  first, so transactions on the same plan queue up behind each other (READ COMMITTED: each
  statement after the lock sees everything committed before it) and transactions on other plans
  run in parallel. Waiting for the lock is bounded by `lock_timeout_s` (SET LOCAL lock_timeout).
* Across processes (replicas): `plan_mutex(plan_id)` holds a PostgreSQL advisory lock from a
  change's read to its commit, so a replica waits its turn rather than finding at commit that
  another changed the plan; `claim(name)` tries one, so that work done in the background (a
  plan's improvement, a what-if run) is done by one replica at a time.
* SQLite: pysqlite's own transaction handling is switched off and SQLAlchemy's `begin` event
  emits the BEGIN itself: `BEGIN IMMEDIATE` for writing transactions (`plan_transaction` and
  `transaction()`), which takes the database's write lock at the start, so read-modify-write
  cycles are serialised (and never fail half-way with SQLITE_BUSY on lock upgrade); plain
  `BEGIN` (deferred) for `transaction(readonly=True)`. Waiting is bounded by busy_timeout.
  WAL lets readers run alongside the one writer.

Failures to reach the database (and lock waits that time out) surface as `StoreUnavailable`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from time import monotonic, sleep
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, func, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from api.store.errors import Conflict, NotFound, StoreUnavailable
from api.store.models import PlanRow

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_BEGIN_OPTION = "ontime_sqlite_begin"
_WAL_RETRY_S = 0.01
# Serialises concurrent `migrate()` calls on PostgreSQL (an arbitrary constant key).
_MIGRATION_LOCK_KEY = 6_840_163_001


def _is_sqlite_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database or url.query.get("mode") == "memory"


def _dumps(value: Any) -> str:
    """JSON columns are written with orjson: a 1000-stop plan state is a few hundred kilobytes,
    written on every courier event, and the standard library took 10% of an event's time."""
    return orjson.dumps(value).decode()


def _use_wal(cursor: sqlite3.Cursor, timeout_s: float) -> None:
    """Switch the database file to WAL (the mode is kept in the file: later connections find it).

    Switching upgrades this connection's read lock to a write lock, and SQLite answers an upgrade
    that has to wait with SQLITE_BUSY at once, without calling the busy handler (two waiting
    upgraders would deadlock). So when another connection (two processes starting on a new file)
    holds the write lock at that moment, the switch is retried until `timeout_s` has passed.
    """
    deadline = monotonic() + timeout_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or monotonic() >= deadline:
                raise
        sleep(_WAL_RETRY_S)


def create_store_engine(url: str | URL, *, connect_timeout_s: int = 2, lock_timeout_s: float = 5.0) -> Engine:
    """An engine set up the way the store needs it (used by `Store` and by migrations/env.py).

    JSON columns are encoded and decoded with orjson.
    SQLite: WAL journal, foreign_keys=ON, busy_timeout, synchronous=FULL on every connection,
    and SQLAlchemy (not pysqlite) emits BEGIN, so BEGIN IMMEDIATE and SAVEPOINTs work.
    PostgreSQL: pool_pre_ping, and a connect timeout unless the URL sets one.
    """
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        if url.get_driver_name() not in ("pysqlite", ""):
            raise ValueError(f"unsupported SQLite driver {url.get_driver_name()!r}; use sqlite:///PATH")
        memory = _is_sqlite_memory(url)
        kwargs: dict[str, Any] = {}
        if memory:  # one shared connection, or every connection would see its own empty database
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        engine = create_engine(url, json_serializer=_dumps, json_deserializer=orjson.loads, **kwargs)
        busy_ms = round(lock_timeout_s * 1000)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
            dbapi_connection.isolation_level = None  # pysqlite must not emit BEGIN/COMMIT itself
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
                cursor.execute("PRAGMA foreign_keys = ON")
                if not memory:
                    _use_wal(cursor, lock_timeout_s)
                cursor.execute("PRAGMA synchronous = FULL")
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get(_BEGIN_OPTION) == "IMMEDIATE"
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    if url.get_backend_name() == "postgresql":
        connect_args: dict[str, Any] = {}
        if "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = connect_timeout_s
        # Beside each request's transaction, a change holds its plan's lock and a solve, an
        # improvement or a what-if run its claim on a connection of its own (`_advisory`).
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=20,
            connect_args=connect_args,
            json_serializer=_dumps,
            json_deserializer=orjson.loads,
        )

    raise ValueError(f"unsupported database {url.get_backend_name()!r}; use sqlite:///PATH or postgresql+psycopg://...")


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic config for the migrations shipped in this package (no alembic.ini needed).

    With a URL, `alembic` commands run from it (e.g. `command.revision(cfg, autogenerate=True)`)
    connect there; `Store.migrate()` hands over its own connection instead.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        rendered = make_url(url).render_as_string(hide_password=False)
        cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return cfg


def _unavailable(exc: BaseException) -> bool:
    """Is this a failure to reach (or to lock) the database rather than a bug or a bad row?"""
    if isinstance(exc, PoolTimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return False


class Store:
    """The database behind OnTime: SQLite file (default) or PostgreSQL."""

    def __init__(self, url: str, *, connect_timeout_s: int = 2, lock_timeout_s: float = 5.0) -> None:
        self.url: URL = make_url(url)
        self.backend: str = self.url.get_backend_name()
        self.lock_timeout_s = lock_timeout_s
        self.engine: Engine = create_store_engine(
            self.url, connect_timeout_s=connect_timeout_s, lock_timeout_s=lock_timeout_s
        )
        self._write_engine: Engine
        self._read_engine: Engine
        if self.backend == "sqlite":
            self._write_engine = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            self._read_engine = self.engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
        else:
            self._write_engine = self.engine
            self._read_engine = self.engine.execution_options(postgresql_readonly=True)
        self._migrate_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Store({self.url.render_as_string(hide_password=True)!r})"

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    # ------------------------------------------------------------ lifecycle

    def migrate(self) -> None:
        """Bring the schema to the newest migration (alembic upgrade head). Idempotent; safe to
        call from several processes at once (SQLite: BEGIN IMMEDIATE, PostgreSQL: advisory lock)."""
        if self.is_sqlite and not _is_sqlite_memory(self.url) and self.url.database:
            Path(self.url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        cfg = alembic_config()
        with self._migrate_lock, self._wrap_errors(), self._write_engine.begin() as conn:
            if not self.is_sqlite:
                conn.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def schema_revision(self) -> str | None:
        """The migration revision the database is at (None if never migrated)."""
        with self._wrap_errors(), self._read_engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        """The newest migration revision shipped with the code."""
        return ScriptDirectory.from_config(alembic_config()).get_current_head()

    def ping(self) -> None:
        """SELECT 1; raises StoreUnavailable if the database cannot be reached."""
        try:
            with self._read_engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (DBAPIError, PoolTimeoutError) as exc:
            raise StoreUnavailable(self._describe(exc)) from exc

    def dispose(self) -> None:
        """Close every pooled connection (a later use opens new ones)."""
        self.engine.dispose()

    # ------------------------------------------------------------ transactions

    @contextlib.contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Session]:
        """One transaction: commits on normal exit, rolls back on an exception.

        On SQLite a writing transaction starts with BEGIN IMMEDIATE (serialised with all other
        writers); `readonly=True` starts a deferred one that runs alongside them (on PostgreSQL a
        READ ONLY transaction). Connection failures -> StoreUnavailable; a uniqueness violation
        at commit -> Conflict.
        """
        with self._session(self._read_engine if readonly else self._write_engine) as session:
            yield session

    @contextlib.contextmanager
    def plan_mutex(self, plan_id: str) -> Iterator[None]:
        """One change of the plan at a time across every process on this database, from its
        read to its commit, so replicas take turns instead of one finding the plan changed
        under it. PostgreSQL: a session advisory lock on a connection of its own, waited for at
        most `lock_timeout_s` (then StoreUnavailable); SQLite: nothing (one process serves a
        SQLite file, its plan transactions serialise the commits)."""
        if self.is_sqlite:
            yield
            return
        with self._advisory(f"ontime-plan:{plan_id}", wait=True) as held:
            assert held
            yield

    @contextlib.contextmanager
    def claim(self, name: str) -> Iterator[bool]:
        """Whether this process may do the work `name` names (a plan's background improvement,
        a what-if run) while no other process on this database does: yields True and holds the
        claim until the block ends, or False at once if another holds it. PostgreSQL: a session
        advisory lock on a connection of its own, so a process that dies lets go of its claims
        with its connection (no lease to wait out); SQLite: always True (one process serves a
        SQLite file; its callers keep their own work apart)."""
        if self.is_sqlite:
            yield True
            return
        with self._advisory(f"ontime-claim:{name}", wait=False) as held:
            yield held

    @contextlib.contextmanager
    def _advisory(self, name: str, *, wait: bool) -> Iterator[bool]:
        """A PostgreSQL session advisory lock keyed by `name`, on a connection of its own:
        waited for (at most `lock_timeout_s`) or only tried; yields whether it is held."""
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with self._wrap_errors(), self._write_engine.connect() as conn:
            if wait:
                conn.execute(text(f"SET lock_timeout = {max(1, round(self.lock_timeout_s * 1000))}"))
                conn.execute(select(func.pg_advisory_lock(key)))
                held = True
            else:
                held = bool(conn.scalar(select(func.pg_try_advisory_lock(key))))
            conn.commit()  # the session lock outlives the transaction: nothing is left open
            try:
                yield held
            finally:
                try:
                    if held:
                        conn.execute(select(func.pg_advisory_unlock(key)))
                    if wait:
                        conn.execute(text("RESET lock_timeout"))
                    conn.commit()
                except DBAPIError:
                    conn.invalidate()  # closing the connection releases the lock on the server

    @contextlib.contextmanager
    def plan_transaction(self, plan_id: str) -> Iterator[Session]:
        """One transaction holding the plan's write lock until it ends (see the module docs).
        NotFound if the plan does not exist."""
        with self._session(self._write_engine) as session:
            if not self.is_sqlite:
                # SET LOCAL takes no bind parameters; the value is a formatted integer.
                session.execute(text(f"SET LOCAL lock_timeout = {max(1, round(self.lock_timeout_s * 1000))}"))
            locked = session.scalar(select(PlanRow.id).where(PlanRow.id == plan_id).with_for_update())
            if locked is None:
                raise NotFound(f"plan {plan_id} not found")
            yield session

    # ------------------------------------------------------------ internals

    def _describe(self, exc: BaseException) -> str:
        original = getattr(exc, "orig", None) or exc
        reason = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
        return f"database {self.url.render_as_string(hide_password=True)} unavailable: {reason}"

    @contextlib.contextmanager
    def _wrap_errors(self) -> Iterator[None]:
        try:
            yield
        except (DBAPIError, PoolTimeoutError) as exc:
            if _unavailable(exc):
                raise StoreUnavailable(self._describe(exc)) from exc
            raise

    @contextlib.contextmanager
    def _session(self, bind: Engine) -> Iterator[Session]:
        session = Session(bind=bind, expire_on_commit=False)
        try:
            with self._wrap_errors():
                try:
                    yield session
                except BaseException:
                    with contextlib.suppress(Exception):  # the original error matters, not this one
                        session.rollback()
                    raise
                try:
                    session.commit()
                except IntegrityError as exc:
                    with contextlib.suppress(Exception):
                        session.rollback()
                    raise Conflict(str(exc.orig)) from exc
                except BaseException:
                    with contextlib.suppress(Exception):
                        session.rollback()
                    raise
        finally:
            with contextlib.suppress(Exception):
                session.close()
