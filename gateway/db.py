"""Database plumbing: the declarative base, engines, sessions and migrations.

SQLite (``sqlite+aiosqlite:///./data/gateway.db``) is the embedded default and PostgreSQL
(asyncpg) the production store, including a Supabase project's own database. Both run the
same models and the same Alembic migrations (``gateway/migrations/``, shipped in the package).

Transactions belong to the caller, never to repositories: a request dependency or a
background task wraps its work in :func:`session_scope`, which commits on success and rolls
back on error; repository functions only ``flush()``.

A SQLite store is private to the user running the gateway: a folder it creates is mode 0700, the
database file is created 0600 (and tightened to it when found looser), and SQLite gives its
``-wal``/``-shm`` files the database file's mode.

SQLite is configured on every new connection (WAL, foreign keys on, a busy timeout). The
driver's default transaction handling is kept on purpose: a transaction starts at the first
write, so reads before it behave like PostgreSQL's READ COMMITTED and a writer waits for the
lock (busy timeout) instead of failing on a stale read snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, event, make_url
from sqlalchemy.engine import URL, Connection, ExceptionContext
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; constraint names are deterministic so migrations can refer to them."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def normalize_url(url: str | URL) -> URL:
    """Turn the URLs people paste (``postgres://…``, ``postgresql://…``) into async ones.

    Supabase hands out ``postgres://`` / ``postgresql://`` URLs, sometimes with
    ``?sslmode=require`` (asyncpg calls it ``ssl``) and, for its transaction pooler,
    ``?pgbouncer=true`` (handled by :func:`make_engine`, dropped here from the query).
    """
    u = make_url(str(url)) if isinstance(url, str) else url
    if u.drivername in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        u = u.set(drivername="postgresql+asyncpg")
    elif u.drivername == "sqlite":
        u = u.set(drivername="sqlite+aiosqlite")
    if u.drivername == "postgresql+asyncpg" and "sslmode" in u.query:
        u = u.difference_update_query(["sslmode"]).update_query_dict({"ssl": u.query["sslmode"]})
    return u


def make_engine(url: str | URL, *, echo: bool = False) -> AsyncEngine:
    """An async engine for SQLite (aiosqlite) or PostgreSQL (asyncpg)."""
    u = normalize_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
    if u.get_backend_name() == "postgresql" and u.query.get("pgbouncer") == "true":
        # Transaction poolers (Supabase port 6543) cannot keep prepared statements.
        u = u.difference_update_query(["pgbouncer"])
        kwargs["connect_args"] = {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4()}__",
        }
    if u.get_backend_name() == "sqlite":
        _ensure_sqlite_files(u)
    engine = create_async_engine(u, **kwargs)
    if u.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
    event.listen(engine.sync_engine, "handle_error", _connect_failure_is_disconnect)
    return engine


def _connect_failure_is_disconnect(context: ExceptionContext) -> None:
    """A failure to open a connection (server down, refusing connections, too many clients)
    marks the error ``connection_invalidated``: the store is unavailable, not broken."""
    if context.connection is None:
        context.is_disconnect = True


PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if missing; a folder created here is 0700. An existing
    folder is left alone: it may be shared on purpose (``/tmp``, a mounted volume)."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)


def _ensure_sqlite_files(u: URL) -> None:
    if not u.database or u.database == ":memory:" or u.database.startswith("file:"):
        return
    path = Path(u.database)
    private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))  # empty file: a new database
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            if name.stat().st_mode & 0o077:
                name.chmod(PRIVATE_FILE)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (no lazy reloads in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit if the block succeeds, roll back if it raises."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def alembic_config(url: str | URL | None = None) -> Config:
    """Alembic configuration pointing at ``gateway/migrations/``, wherever the package is."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        rendered = normalize_url(url).render_as_string(hide_password=False)
        cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return cfg


async def upgrade_database(url: str | URL, revision: str = "head") -> None:
    """Run the migrations up to ``revision``; idempotent, safe at every startup."""
    await _run_alembic(url, lambda cfg: command.upgrade(cfg, revision))


async def downgrade_database(url: str | URL, revision: str = "base") -> None:
    """Run the migrations down to ``revision`` (``base`` drops everything)."""
    await _run_alembic(url, lambda cfg: command.downgrade(cfg, revision))


async def _run_alembic(url: str | URL, run: Any) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_with_connection, url, run)
    finally:
        await engine.dispose()


def _with_connection(conn: Connection, url: str | URL, run: Any) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = conn
    run(cfg)


def run_migrations_blocking(url: str | URL, revision: str = "head") -> None:
    """Synchronous wrapper for scripts and CLIs that have no event loop."""
    asyncio.run(upgrade_database(url, revision))
