"""A throwaway PostgreSQL cluster for the benchmarks (and the stress suite), and the commit
floors of both stores: what one small committed INSERT costs on this disk."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from server_process import free_ports


def _p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresCluster:
    """A throwaway PostgreSQL cluster on a loopback port, durable as shipped: ``fsync`` and
    ``synchronous_commit`` on (the test suites turn fsync off; a benchmark of a ledger must
    not). ``set_fsync(False)`` shows what the disk's flushes cost."""

    def __init__(self) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL binaries not found (apt-get install -y postgresql)")
        self.bindir = bindir
        self.datadir = Path(tempfile.mkdtemp(prefix="mt5gw-bench-pg-"))
        self.port = free_ports(1)[0]
        if os.geteuid() == 0:
            shutil.chown(self.datadir, "postgres", "postgres")
        self._run([str(bindir / "initdb"), "-D", str(self.datadir), "-A", "trust", "-U",
                   "postgres", "--no-sync"])  # fmt: skip
        self.resume()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def resume(self) -> None:
        """Start the server (again, after :meth:`halt`), same port and data."""
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1"
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-o", options, "-l",
                   str(self.datadir / "log"), "-w", "start"])  # fmt: skip

    def halt(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``), keeping its data for :meth:`resume`."""
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "stop"])

    def _run(self, args: list[str]) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args
        subprocess.run(command, check=True, capture_output=True, text=True)

    def sql(self, statement: str, database: str = "postgres") -> Any:
        import asyncpg

        async def run() -> Any:
            conn = await asyncpg.connect(self.dsn.rsplit("/", 1)[0] + "/" + database)
            try:
                return await conn.fetch(statement)
            finally:
                await conn.close()

        return asyncio.run(run())

    def new_database(self) -> str:
        name = f"bench_{uuid.uuid4().hex[:10]}"
        self.sql(f'CREATE DATABASE "{name}"')
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def set_fsync(self, on: bool) -> None:
        self.sql(f"ALTER SYSTEM SET fsync = {'on' if on else 'off'}")
        self.sql("SELECT pg_reload_conf()")

    def version(self) -> str:
        return str(self.sql("SHOW server_version")[0][0])

    def commit_floor_ms(self, runs: int = 100) -> float:
        """p50 of one small INSERT committed on its own: what durability costs here."""
        import asyncpg

        async def run() -> float:
            conn = await asyncpg.connect(self.dsn)
            try:
                await conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (v text)")
                samples = []
                for _ in range(runs):
                    started = time.perf_counter()
                    await conn.execute("INSERT INTO bench_floor (v) VALUES ($1)", "x" * 200)
                    samples.append(time.perf_counter() - started)
                return _p50_ms(samples)
            finally:
                await conn.close()

        return asyncio.run(run())

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast",
                       "stop"])  # fmt: skip
        shutil.rmtree(self.datadir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def sqlite_commit_floor_ms(synchronous: str, runs: int = 100) -> float:
    """p50 of one small INSERT committed on its own with the stdlib driver (WAL)."""
    import sqlite3

    folder = Path(tempfile.mkdtemp(prefix="mt5gw-bench-sqlite-"))
    try:
        conn = sqlite3.connect(folder / "floor.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("CREATE TABLE t (v text)")
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            conn.execute("INSERT INTO t (v) VALUES (?)", ("x" * 200,))
            samples.append(time.perf_counter() - started)
        conn.close()
        return _p50_ms(samples)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
