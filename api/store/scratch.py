"""A PostgreSQL database of its own, created on entry and dropped on exit, for a test run or a
benchmark (`ontime bench load --replicas`): the admin URL names a server and a database to
connect to for CREATE and DROP DATABASE."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def autocommit_engine(url: URL) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 3})


def check_reachable(admin_url: str | URL) -> None:
    """SELECT 1 on the admin URL; the driver's error if the server cannot be reached."""
    admin = autocommit_engine(make_url(admin_url))
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        admin.dispose()


@contextmanager
def scratch_database(admin_url: str | URL = DEFAULT_PG_ADMIN_URL, prefix: str = "ontime_scratch") -> Iterator[URL]:
    """The URL of a new, empty database on the admin URL's server; dropped (its sessions ended
    first) when the block ends."""
    admin_url = make_url(admin_url)
    admin = autocommit_engine(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield admin_url.set(database=name)
        finally:
            with admin.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        admin.dispose()
