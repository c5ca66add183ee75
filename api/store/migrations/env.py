"""Alembic environment for OnTime's store.

`Store.migrate()` passes its open connection in `config.attributes["connection"]` (inside a
transaction it owns). Alembic commands run another way (e.g. autogenerate from
`api.store.store.alembic_config(url)`) connect to `sqlalchemy.url` themselves.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from api.store.models import Base
from api.store.store import create_store_engine

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs go through table copies
        compare_type=True,
    )


def run_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url set; use Store(url).migrate()")
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
