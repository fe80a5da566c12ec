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

Durability of SQLite (``synchronous``). The store runs in WAL mode with ``synchronous=NORMAL``
by default: a commit appends to the WAL without an fsync, and the WAL is synced at each
checkpoint. A crash of the gateway process (SIGKILL, out of memory) loses nothing that was
committed: the data is in the operating system's cache. A power loss or kernel crash can lose
the last transactions (never corrupt the database). For the order ledger that means: after a
power loss a request row committed just before its send may be missing, so the gateway would
not reconcile that order and a retry with its ``Idempotency-Key`` could send it again. We
accept that for the embedded store (one host, the default for development and small
deployments): an fsync per commit costs more than the whole trade otherwise does on common
disks (``make bench`` measures both). Where a power loss must not lose a trade, use PostgreSQL
(``synchronous_commit`` on, its default), or ``?synchronous=full`` on the SQLite URL, which
makes every commit durable at the cost of one fsync each.

The trade ledger writes through ``gateway.store.transact`` (one go per transaction, on its
own connection, with statements compiled once).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData, event, make_url
from sqlalchemy.engine import URL, Connection, ExceptionContext
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_SYNCHRONOUS = ("NORMAL", "FULL")  # the first is the default; see the module docstring
T = TypeVar("T")

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


def sqlite_synchronous(u: URL) -> str:
    """The ``synchronous`` setting a SQLite URL asks for (``?synchronous=normal|full``)."""
    value = str(u.query.get("synchronous", SQLITE_SYNCHRONOUS[0])).upper()
    if value not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {', '.join(SQLITE_SYNCHRONOUS).lower()}")
    return value


def make_engine(url: str | URL, *, echo: bool = False) -> AsyncEngine:
    """An async engine for SQLite (aiosqlite) or PostgreSQL (asyncpg).

    A PostgreSQL connection taken from the pool is checked without a round trip: one the
    server closed (a restart sends every client a termination notice, which asyncpg reads at
    once) is replaced before use. SQLAlchemy's own pre-ping would cost three round trips per
    checkout with asyncpg (BEGIN, a query, ROLLBACK). A connection lost silently (a network
    partition) fails its request once (503) and is dropped. A SQLite file cannot go away under
    an open connection."""
    u = normalize_url(url)
    is_sqlite = u.get_backend_name() == "sqlite"
    kwargs: dict[str, Any] = {"echo": echo}
    synchronous = sqlite_synchronous(u) if is_sqlite else ""
    u = u.difference_update_query(["synchronous"])
    if u.get_backend_name() == "postgresql" and u.query.get("pgbouncer") == "true":
        # Transaction poolers (Supabase port 6543) cannot keep prepared statements.
        u = u.difference_update_query(["pgbouncer"])
        kwargs["connect_args"] = {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4()}__",
        }
    if is_sqlite:
        _ensure_sqlite_files(u)
    engine = create_async_engine(u, **kwargs)
    if is_sqlite:
        event.listen(engine.sync_engine, "connect", sqlite_configurer(synchronous))
        SQLITE_URLS[engine.sync_engine] = (u, synchronous)
    else:
        event.listen(engine.sync_engine, "checkout", _closed_is_disconnect)
    event.listen(engine.sync_engine, "handle_error", _connect_failure_is_disconnect)
    return engine


def _closed_is_disconnect(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection its server closed is replaced (the pool retries the checkout)."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    is_closed = getattr(driver, "is_closed", None)
    if is_closed is not None and is_closed():
        raise DisconnectionError("the server closed this pooled connection")


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


def is_file(u: URL) -> bool:
    """A SQLite URL of a database file (not in memory, not a ``file:`` URI)."""
    return bool(u.database) and u.database != ":memory:" and not str(u.database).startswith("file:")


def _ensure_sqlite_files(u: URL) -> None:
    if not is_file(u) or u.database is None:
        return
    path = Path(u.database)
    private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))  # empty file: a new database
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            if name.stat().st_mode & 0o077:
                name.chmod(PRIVATE_FILE)


def sqlite_configurer(synchronous: str) -> Callable[[Any, Any], None]:
    def configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    return configure


# SQLite engines made by make_engine: their file URL (sync driver) and synchronous setting, for
# the trade ledger's own connection (``gateway.store.transact``).
SQLITE_URLS: weakref.WeakKeyDictionary[Engine, tuple[URL, str]] = weakref.WeakKeyDictionary()


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
