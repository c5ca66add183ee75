"""A PostgreSQL database of its own for a test run: created on entry, dropped on exit.

The admin URL comes from `ONTIME_TEST_PG_URL` (default: the local server's `postgres`
database, trust auth). Unreachable server: skip, or fail when `CI` is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from api.store.scratch import DEFAULT_PG_ADMIN_URL, autocommit_engine, check_reachable, scratch_database

__all__ = ["DEFAULT_PG_ADMIN_URL", "autocommit_engine", "temporary_pg_database"]


@contextmanager
def temporary_pg_database(prefix: str = "ontime_test") -> Iterator[URL]:
    admin_url = make_url(os.environ.get("ONTIME_TEST_PG_URL", DEFAULT_PG_ADMIN_URL))
    try:
        check_reachable(admin_url)
    except DBAPIError as exc:
        message = f"PostgreSQL unreachable at {admin_url.render_as_string(hide_password=True)}: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with scratch_database(admin_url, prefix) as url:
        yield url
