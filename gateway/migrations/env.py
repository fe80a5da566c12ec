"""Alembic environment for the gateway store (SQLite and PostgreSQL, both async drivers).

Two ways in:
- programmatic (``gateway.db.upgrade_database``): the caller passes an open connection in
  ``config.attributes["connection"]`` and we migrate on it;
- the CLI (``alembic upgrade head``): the URL comes from ``-x url=...``, else ``DATABASE_URL``,
  else ``alembic.ini``, and we open an async engine ourselves.
SQLite gets batch mode (ALTER TABLE is limited there), which the naming convention makes safe.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from gateway import tables  # noqa: F401  (registers every table on Base.metadata)
from gateway.db import Base, make_engine, normalize_url

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _cli_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("DATABASE_URL")
    return url or config.get_main_option("sqlalchemy.url") or ""


async def _run_cli_online() -> None:
    engine = make_engine(_cli_url())
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_configure)
            await conn.commit()
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(
        url=normalize_url(_cli_url()).render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _configure(connection)
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    if context.is_offline_mode():
        _run_offline()
    else:
        asyncio.run(_run_cli_online())
