"""Transactions of the trade ledger: each in one go, with statements compiled once.

A trade writes twice: its request row (and idempotency claim) before the send, its result,
audit entry and key completion after it. :func:`transact` runs each as one transaction of
:class:`Statement` s (SQLAlchemy Core, compiled once per dialect):

* SQLite: on the ledger's own sqlite3 connection, right on the event loop when the write lock
  is free (with ``synchronous=NORMAL`` a WAL commit is a write without fsync: less than a hop to
  another thread and back), else in the ledger thread, which waits its turn. The aiosqlite
  driver of the rest of the store would hop between threads for every statement, cursor and
  commit.
* PostgreSQL: on a pooled asyncpg connection, each statement one round trip of a prepared
  statement (asyncpg keeps them per connection).

Driver errors come out as SQLAlchemy's (``DBAPIError`` subclasses), like the rest of the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine, Executable, NullPool, create_engine, event
from sqlalchemy.engine import URL, Connection, Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.util import await_only, greenlet_spawn

from gateway.db import SQLITE_URLS, is_file, sqlite_configurer

T = TypeVar("T")


class Statement:
    """A Core statement compiled once per dialect, for :meth:`Tx.run` (``build`` gets the
    dialect's name: ``INSERT … ON CONFLICT`` differs). Every value is a named ``bindparam``:
    Python-side column defaults are not applied, so pass them."""

    def __init__(self, build: Callable[[str], Executable]) -> None:
        self._build = build
        self._core: dict[str, Executable] = {}
        self._compiled: dict[str, _Compiled] = {}

    def core(self, dialect: str) -> Executable:
        stmt = self._core.get(dialect)
        if stmt is None:
            stmt = self._core[dialect] = self._build(dialect)
        return stmt

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _Compiled(self.core(dialect.name), dialect)
        return found


class _Compiled:
    """SQL text, parameter order and the types' own conversions, for the DB-API cursor."""

    def __init__(self, stmt: Executable, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)  # type: ignore[attr-defined]
        self.sql: str = compiled.string
        self.keys: tuple[str, ...] = tuple(compiled.positiontup or ())
        self.binds: dict[str, Callable[[Any], Any]] = dict(compiled._bind_processors)
        self.fixed: dict[str, Any] = compiled.construct_params(_check=False)  # literal values
        self.required = frozenset(k for k, b in compiled.binds.items() if b.required)
        self.results = [
            column[3]._cached_result_processor(dialect, None) for column in compiled._result_columns
        ]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        if not self.required <= values.keys():
            raise KeyError(f"missing statement values: {sorted(self.required - values.keys())}")
        merged = {**self.fixed, **values}
        binds = self.binds
        return tuple(binds[k](merged[k]) if k in binds else merged[k] for k in self.keys)

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(v if f is None else f(v) for f, v in zip(self.results, raw, strict=True))


class Tx:
    """One ledger transaction (see :func:`transact`)."""

    def __init__(
        self,
        dialect: Dialect,
        conn: Connection | None,
        raw: Any = None,
        *,
        single: bool = False,
        driver: Any = None,
    ) -> None:
        self.dialect = dialect
        self._conn = conn  # PostgreSQL: Core on a pooled connection
        self._raw = raw  # SQLite: the ledger's own sqlite3 connection
        self._driver = driver  # PostgreSQL, one statement: the pooled asyncpg connection itself
        self._single = single  # autocommit: one statement is the whole transaction
        self._runs = 0

    @property
    def combines(self) -> bool:
        """Whether this store runs several writes as one statement (PostgreSQL's data-modifying
        WITH): the callers then use their combined statements."""
        return self.dialect.name == "postgresql"

    def run(self, stmt: Statement, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute ``stmt`` with ``values``; the rows it returns (SELECT, RETURNING)."""
        self._runs += 1
        if self._single and self._runs > 1:
            raise RuntimeError("a one-statement transaction ran a second statement")
        if self._conn is not None:
            result = self._conn.execute(stmt.core(self.dialect.name), values)
            return [tuple(r) for r in result.all()] if result.returns_rows else []
        compiled = stmt.compiled(self.dialect)
        params = compiled.params(values)
        if self._driver is not None:
            try:  # in the greenlet transact() runs ``work`` in: the driver's coroutine awaited
                rows = await_only(self._driver.fetch(compiled.sql, *params))
            except Exception as exc:
                raise _driver_error(exc, compiled.sql, params) from exc
            return [compiled.row(tuple(r)) for r in rows]
        try:
            cursor = self._raw.execute(compiled.sql, params)
            rows = cursor.fetchall() if compiled.results else []
        except sqlite3.Error as exc:
            raise DBAPIError.instance(compiled.sql, params, exc, sqlite3.Error) from exc
        return [compiled.row(r) for r in rows]


_WRITERS: weakref.WeakKeyDictionary[Engine, _SqliteWriter] = weakref.WeakKeyDictionary()


class _SqliteWriter:
    """The trade ledger's way into a SQLite file: each transaction in one go, on a sqlite3
    connection of its own (no pool, no per-statement compilation).

    With ``synchronous=NORMAL`` a commit is a write into the WAL (no fsync): tens of
    microseconds, less than a hop to another thread and back. So the transaction runs right on
    the caller's thread when it can have the write lock at once (``BEGIN IMMEDIATE`` with no
    busy wait, and no automatic checkpoint on that connection: it never waits on anything).
    When another writer holds the lock, or commits must fsync (``synchronous=FULL``), it runs
    in the ledger thread instead, which waits its turn (busy timeout). Checkpoints of the WAL
    run in that thread too, every ``CHECKPOINT_EVERY`` direct commits."""

    CHECKPOINT_EVERY = 500

    def __init__(self, url: URL, synchronous: str) -> None:
        self.engine = create_engine(
            url.set(drivername="sqlite+pysqlite"),
            poolclass=NullPool,
            connect_args={"check_same_thread": False},  # used by one thread at a time
        )
        self._held: list[Any] = []
        event.listen(self.engine, "connect", sqlite_configurer(synchronous))
        self.dialect = self.engine.dialect
        self.direct: Any = None if synchronous != "NORMAL" else self._connect(direct=True)
        self.direct_lock = threading.Lock()  # one direct transaction at a time, whatever thread
        self.direct_commits = 0
        self.threaded: Any = None  # made in the ledger thread, on first use
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-ledger")

    def _connect(self, *, direct: bool) -> Any:
        pooled = self.engine.raw_connection()  # connect events ran: PRAGMAs, dialect set up
        self._held.append(pooled)  # the pool closes a connection nobody holds
        raw: Any = pooled.driver_connection
        raw.isolation_level = None  # BEGIN is ours, not the driver's
        if direct:  # never wait for the lock, never checkpoint: see the class docstring
            raw.execute("PRAGMA busy_timeout=0")
            raw.execute("PRAGMA wal_autocheckpoint=0")
        return raw

    async def run(self, work: Callable[[Tx], T]) -> T:
        if self.direct is not None and self.direct_lock.acquire(blocking=False):
            try:
                done = self._transaction(self.direct, work)
            except _Busy:
                pass
            else:
                self._count_commit()
                return done
            finally:
                self.direct_lock.release()
        return await asyncio.get_running_loop().run_in_executor(self.thread, self._threaded, work)

    def _threaded(self, work: Callable[[Tx], T]) -> T:
        if self.threaded is None:
            self.threaded = self._connect(direct=False)
        return self._transaction(self.threaded, work)

    def _transaction(self, raw: Any, work: Callable[[Tx], T]) -> T:
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if raw is self.direct and _is_busy(exc):
                raise _Busy from exc
            raise DBAPIError.instance("BEGIN IMMEDIATE", (), exc, sqlite3.Error) from exc
        try:
            done = work(Tx(self.dialect, None, raw))
            raw.execute("COMMIT")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        return done

    def _count_commit(self) -> None:
        self.direct_commits += 1
        if self.direct_commits % self.CHECKPOINT_EVERY == 0:
            self.thread.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        if self.threaded is None:
            self.threaded = self._connect(direct=False)
        with contextlib.suppress(sqlite3.Error):
            self.threaded.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        self.thread.submit(self._close_threaded).result()
        self.thread.shutdown(wait=True)
        with self.direct_lock:
            self.direct = None
            for pooled in self._held:
                pooled.close()
            self._held.clear()

    def _close_threaded(self) -> None:
        self.threaded = None


class _Busy(Exception):
    """The write lock is held elsewhere: the transaction goes to the ledger thread."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _writer_of(engine: AsyncEngine) -> _SqliteWriter | None:
    sync_engine = engine.sync_engine
    writer = _WRITERS.get(sync_engine)
    if writer is None:
        found = SQLITE_URLS.get(sync_engine)
        if found is None or not is_file(found[0]):
            return None  # not ours, or a database only its own connections can see
        writer = _WRITERS[sync_engine] = _SqliteWriter(*found)
        event.listen(sync_engine, "engine_disposed", lambda _engine: _close_writer(sync_engine))
    return writer


def _close_writer(sync_engine: Engine) -> None:
    writer = _WRITERS.pop(sync_engine, None)
    if writer is not None:
        writer.close()


async def transact(
    target: async_sessionmaker[AsyncSession] | AsyncEngine,
    work: Callable[[Tx], T],
    *,
    one_statement: bool = False,
) -> T:
    """Run ``work`` as one transaction: it commits when ``work`` returns and rolls back when it
    raises. SQLite runs it in one go on the ledger's own connection (see ``_SqliteWriter``);
    PostgreSQL on a pooled asyncpg connection, each statement one round trip of an already
    prepared statement. ``work`` must not touch context variables (on SQLite it may run in
    another thread) and may run twice (SQLite retries it in the ledger thread when it found the
    write lock taken): it only runs statements.

    ``one_statement``: ``work`` runs a single statement, which is then its own transaction on
    PostgreSQL: one round trip on the asyncpg connection itself (no BEGIN and COMMIT round
    trips, no SQLAlchemy execution machinery; the statement is atomic)."""
    engine = target if isinstance(target, AsyncEngine) else _bind_of(target)
    writer = _writer_of(engine)
    if writer is not None:
        return await writer.run(work)
    if one_statement and engine.dialect.driver == "asyncpg":
        return await _one_statement(engine, work)
    async with engine.begin() as conn:
        return await conn.run_sync(lambda sync: work(Tx(sync.dialect, sync)))


async def _one_statement(engine: AsyncEngine, work: Callable[[Tx], T]) -> T:
    """PostgreSQL: ``work``'s one statement straight on the pooled asyncpg connection, outside
    any transaction block (so it commits on its own: one round trip), with SQLAlchemy's codecs
    and our compiled SQL; a connection the error leaves unusable is invalidated."""
    async with engine.connect() as conn:
        pooled = await conn.get_raw_connection()
        tx = Tx(conn.dialect, None, single=True, driver=pooled.driver_connection)
        try:
            return await greenlet_spawn(work, tx)
        except DBAPIError as exc:
            if exc.connection_invalidated:
                await conn.invalidate(exc)
            raise


def _driver_error(exc: Exception, sql: str, params: Sequence[Any]) -> Exception:
    """asyncpg's exception as SQLAlchemy's, as the rest of the store raises them: a lost or
    refused connection is an ``OperationalError`` with ``connection_invalidated`` (a 503);
    a constraint an ``IntegrityError``; anything else a ``DBAPIError``."""
    import asyncpg

    lost = isinstance(
        exc, OSError | asyncpg.PostgresConnectionError | asyncpg.InterfaceError
    ) or exc.__class__.__name__ in ("ConnectionDoesNotExistError", "CannotConnectNowError")
    if lost:
        return OperationalError(sql, tuple(params), exc, connection_invalidated=True)
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(sql, tuple(params), exc)
    return DBAPIError(sql, tuple(params), exc)


def _bind_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("the sessionmaker is not bound to an AsyncEngine")
    return bind
