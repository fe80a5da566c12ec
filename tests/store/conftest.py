"""Store fixtures: every repository test runs on SQLite and on a real PostgreSQL server.

A PostgreSQL cluster is created once per test session (``initdb`` into a temporary dir,
started on a free loopback port, stopped with ``pg_ctl stop -m fast``). Missing binaries
skip the PostgreSQL half, unless ``MT5GW_REQUIRE_BINARIES=1`` makes that a failure.

Migrations run once per backend into a template; each test gets its own copy (a copied
SQLite file, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL), so tests never see each other.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db import make_engine, make_sessionmaker, upgrade_database
from gateway.store.crypto import Keyring, generate_key

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.needs_binary("postgres")),
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    # initdb refuses to run as root; elsewhere (CI as a normal user) run it directly.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """DSN (asyncpg style) of the ``postgres`` database on a throwaway cluster."""
    bindir = _pg_bindir()
    if bindir is None:
        if os.environ.get("MT5GW_REQUIRE_BINARIES") == "1":
            pytest.fail("PostgreSQL binaries not found (apt-get install -y postgresql)")
        pytest.skip("PostgreSQL binaries not found")
    datadir = Path(tempfile.mkdtemp(prefix="mt5gw-pg-"))
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
    port = _free_port()
    run = dict(check=True, capture_output=True, text=True)
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ]
        ),
        **run,
    )  # type: ignore[call-overload]
    options = f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = str(bindir / "pg_ctl")
    subprocess.run(
        _as_postgres(
            [pg_ctl, "-D", str(datadir), "-o", options, "-l", str(datadir / "log"), "-w", "start"]
        ),
        **run,
    )  # type: ignore[call-overload]
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(datadir), "-m", "fast", "stop"]), capture_output=True
        )
        shutil.rmtree(datadir, ignore_errors=True)


def _blocking(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


async def _admin_sql(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _admin(dsn: str, sql: str) -> None:
    _blocking(_admin_sql(dsn, sql))


class Databases:
    """Makes empty or migrated databases for one backend."""

    def __init__(self, backend: str, root: Path, pg_dsn: str | None) -> None:
        self.backend, self.root, self.pg_dsn = backend, root, pg_dsn
        self._template: str | None = None

    def empty(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        if self.backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.root / (name + '.db')}"
        assert self.pg_dsn is not None
        _admin(self.pg_dsn, f'CREATE DATABASE "{name}"')
        return self.pg_dsn.rsplit("/", 1)[0] + "/" + name

    def migrated(self) -> str:
        if self._template is None:
            self._template = self.empty()
            _blocking(upgrade_database(self._template))
        name = f"t_{uuid.uuid4().hex[:12]}"
        if self.backend == "sqlite":
            target = self.root / (name + ".db")
            shutil.copy(make_url(self._template).database or "", target)
            return f"sqlite+aiosqlite:///{target}"
        assert self.pg_dsn is not None
        template = self._template.rsplit("/", 1)[1]
        _admin(self.pg_dsn, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.pg_dsn.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def _databases() -> dict[str, Databases]:
    return {}


@pytest.fixture(params=BACKENDS)
def databases(
    request: pytest.FixtureRequest,
    _databases: dict[str, Databases],
    tmp_path_factory: pytest.TempPathFactory,
) -> Databases:
    backend: str = request.param
    if backend not in _databases:
        pg = request.getfixturevalue("postgres_server") if backend == "postgresql" else None
        _databases[backend] = Databases(backend, tmp_path_factory.mktemp(backend), pg)
    return _databases[backend]


@pytest.fixture
def db_url(databases: Databases) -> str:
    """A freshly migrated database of its own."""
    return databases.migrated()


@pytest.fixture
async def sessionmaker(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(db_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.parse(generate_key("k1"))
