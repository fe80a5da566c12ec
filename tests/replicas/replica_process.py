"""Gateway replicas as operators run them: ``uvicorn --factory`` processes configured by the
environment, on one PostgreSQL and the same simulator terminals; helpers to read their leases.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "gateway"))

from gateway_process import clean_environment  # noqa: E402
from helpers import free_port  # noqa: E402

STARTUP_DEADLINE_S = 90.0
REPLICA_SECRET = "replica-secret-for-tests-" + "r" * 20


class ReplicaProcess:
    """One replica: ``with ReplicaProcess("A", {...}) as a:`` → ``a.url``, ``a.kill()``."""

    def __init__(self, replica_id: str, settings: Mapping[str, str]) -> None:
        self.replica_id = replica_id
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cwd = Path(tempfile.mkdtemp(prefix=f"mt5gw-replica-{replica_id}-"))
        self.log_path = self.cwd / "gateway.log"
        env = clean_environment(
            {
                **settings,
                "REPLICA_LEASES": "true",
                "REPLICA_ID": replica_id,
                "REPLICA_ADDRESS": self.url,
                "REPLICA_SECRET": REPLICA_SECRET,
                "STREAM_ACCOUNT_INTERVAL_S": "0.2",
                "STREAM_AWAY_POLL_S": "0",
            }
        )
        self._log = open(self.log_path, "w")  # noqa: SIM115 - written by the child until stop()
        command = [sys.executable, "-m", "uvicorn", "--factory", "gateway.main:create_app"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command,
            cwd=self.cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self) -> ReplicaProcess:
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"replica {self.replica_id} exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=10).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"replica {self.replica_id} did not start:\n{self.output()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lease released; the process is gone at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()

    def __enter__(self) -> ReplicaProcess:
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def blocking(coro: Any) -> Any:
    """Run a coroutine to completion from sync code (even inside a running loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _fetch(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


def query(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    return list(blocking(_fetch(dsn, sql, *args)))


def leases(dsn: str) -> dict[str, dict[str, Any]]:
    """Every lease row by terminal, with ``live`` (held and unexpired, by the database clock)."""
    rows = query(
        dsn,
        "SELECT terminal, owner, generation, account, expires_at, acquired_at,"
        " (owner IS NOT NULL AND expires_at > now()) AS live FROM terminal_leases",
    )
    return {r["terminal"]: r for r in rows}


def holders(dsn: str) -> dict[str, str | None]:
    """terminal → the replica holding its lease now (None: free or expired)."""
    return {t: (r["owner"] if r["live"] else None) for t, r in leases(dsn).items()}


def wait_for(predicate: Any, timeout_s: float, what: str, poll_s: float = 0.05) -> Any:
    """Poll ``predicate()`` until it returns something truthy (bounded by ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll_s)


async def _as_replica(dsn: str, replica_id: str, sql: str, *args: Any) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL mt5gw.replica_id = '{replica_id}'")
            await conn.execute(sql, *args)
    finally:
        await conn.close()


def execute_as(dsn: str, replica_id: str, sql: str, *args: Any) -> None:
    """Run ``sql`` on a connection that says it is replica ``replica_id`` (its rows stamped)."""
    blocking(_as_replica(dsn, replica_id, sql, *args))
