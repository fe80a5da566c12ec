"""What the benchmarks share: the simulator, a real gateway process, users and their tokens, a
throwaway PostgreSQL cluster, percentiles, and the figures each benchmark hands to the report.

Every process a benchmark starts listens on loopback only and is stopped in a ``finally``.
Figures go to ``$BENCH_FIGURES_DIR/<bench>.json`` when ``bench/run.py`` sets it (the report
writer, ``bench/report.py``, merges them); run alone, a benchmark only prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "tests" / "terminal"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

# Re-exported: the benchmarks import everything from here.
from pgcluster import PostgresCluster as PostgresCluster  # noqa: E402
from pgcluster import pg_bindir as pg_bindir  # noqa: E402
from pgcluster import sqlite_commit_floor_ms as sqlite_commit_floor_ms  # noqa: E402
from server_process import (  # noqa: E402
    TerminalServerProcess,
    free_ports,
    start_terminal_server,
)
from sim_control import SimControl  # noqa: E402
from wrkrun import WrkResult as WrkResult  # noqa: E402
from wrkrun import machine_line as machine_line  # noqa: E402
from wrkrun import wrk as wrk  # noqa: E402

WEDNESDAY_NOON_MS = 1_795_003_200_000  # 2026-11-18 12:00 UTC: every market of the catalog open
SERVER = "Sim-Demo"
UTC_OFFSETS = "Sim-Demo=7200,Sim-Live=7200"  # configured: no offset detection in the figures


# -- figures ------------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure, its same-run baseline and its target.

    ``target`` kinds: ``max`` (value <= limit), ``min`` (value >= limit), ``over_baseline``
    (value - baseline <= limit), ``ratio_min`` (baseline / value >= limit: "N times faster"),
    ``info`` (no target)."""

    section: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    target_kind: str = "info"
    target: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.target_kind == "info" or self.target is None:
            return None
        if self.target_kind == "max":
            return self.value <= self.target
        if self.target_kind == "min":
            return self.value >= self.target
        if self.baseline is None:
            return None
        if self.target_kind == "over_baseline":
            return self.value - self.baseline <= self.target
        if self.target_kind == "ratio_min":
            return self.value > 0 and self.baseline / self.value >= self.target
        raise ValueError(f"unknown target kind {self.target_kind}")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = (
            round(self.value / self.baseline, 3) if self.baseline not in (None, 0) else None
        )
        out["met"] = self.met
        return out


class Figures:
    """A benchmark's figures, written for the report when ``bench/run.py`` asks for them."""

    def __init__(self, bench: str) -> None:
        self.bench = bench
        self.items: list[Figure] = []

    def add(self, figure: Figure) -> Figure:
        self.items.append(figure)
        met = figure.met
        mark = "" if met is None else ("  [met]" if met else "  [MISSED]")
        base = f"  (baseline {figure.baseline:.3f})" if figure.baseline is not None else ""
        print(f"  {figure.name}: {figure.value:.3f} {figure.unit}{base}{mark}", flush=True)
        return figure

    def save(self) -> None:
        folder = os.environ.get("BENCH_FIGURES_DIR")
        if not folder:
            return
        path = Path(folder) / f"{self.bench}.json"
        path.write_text(json.dumps([f.as_dict() for f in self.items], indent=1))


# -- statistics ---------------------------------------------------------------------------------


def pct(samples: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``samples`` in milliseconds (samples are seconds)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index] * 1000


def p50(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000 if samples else float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far, all its threads (schedstat: nanoseconds)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def timed(action: Any) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# -- the simulator ------------------------------------------------------------------------------


def start_sim(
    terminals: int = 1, *, profile: str = "demo", accounts: int = 0, login_delay: float = 0.0
) -> TerminalServerProcess:
    """The simulator's terminal server, its clock frozen on a Wednesday noon (markets open)."""
    args = ["--profile", profile]
    if profile == "bench":
        args += ["--bench-accounts", str(max(accounts, 1)), "--bench-symbols", "50"]
    if login_delay:
        args += ["--login-delay", str(login_delay)]
    server = start_terminal_server(terminals=terminals, extra_args=args)
    with SimControl(server.host, server.port) as control:
        control.freeze_time(ms=WEDNESDAY_NOON_MS)
    return server


# -- users and their accounts -------------------------------------------------------------------


@dataclass
class Account:
    user: str
    login: int
    password: str
    id: str = ""


def seed_accounts(url: str, key: str, accounts: Sequence[Account]) -> None:
    """Store each user's MT5 account (as ``POST /accounts/connect`` would) before the gateway
    starts; fills in their ids."""
    from gateway.db import make_engine, make_sessionmaker, session_scope, upgrade_database
    from gateway.store import accounts as store
    from gateway.store.crypto import Keyring

    async def seed() -> None:
        await upgrade_database(url)
        engine = make_engine(url)
        try:
            async with session_scope(make_sessionmaker(engine)) as session:
                keyring = Keyring.parse(key)
                for account in accounts:
                    row = await store.save(
                        session,
                        keyring,
                        user_id=account.user,
                        login=account.login,
                        server=SERVER,
                        password=account.password,
                        is_default=True,
                    )
                    account.id = row.id
        finally:
            await engine.dispose()

    asyncio.run(seed())


# -- the gateway --------------------------------------------------------------------------------


class Gateway:
    """``uvicorn --factory gateway.main:create_app`` in its own process, one worker, WARNING
    logs, on the given terminals and database; ``token(user)`` mints a dev token for anyone."""

    def __init__(
        self,
        terminal_ports: Sequence[int],
        *,
        database_url: str | None = None,
        workdir: Path | None = None,
        default_login: int = 10001,
        settings: dict[str, str] | None = None,
        encryption_key: str | None = None,
        sqlite_options: str = "",
        factory: str = "gateway.main:create_app",
    ) -> None:
        from gateway.store.crypto import generate_key

        self.owns_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="mt5gw-bench-"))
        self.port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        sqlite = f"sqlite+aiosqlite:///{self.workdir / 'gateway.db'}"
        self.database_url = database_url or (
            f"{sqlite}?{sqlite_options}" if sqlite_options else sqlite
        )
        self.encryption_key = encryption_key or generate_key("bench")
        terminals = ",".join(f"t{i + 1}=127.0.0.1:{p}" for i, p in enumerate(terminal_ports))
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "TERMINAL"))},
            "TERMINALS": terminals,
            "DATABASE_URL": self.database_url,
            "DEV_SECRETS_FILE": str(self.workdir / "dev-secrets.json"),
            "MT5_ENCRYPTION_KEYS": self.encryption_key,
            "DEFAULT_ACCOUNT_LOGIN": str(default_login),
            "DEFAULT_ACCOUNT_PASSWORD": f"demo-{default_login}",
            "DEFAULT_ACCOUNT_SERVER": SERVER,
            "SERVER_UTC_OFFSETS": UTC_OFFSETS,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": f"{ROOT}:{ROOT / 'terminal-image'}",
            **(settings or {}),
        }
        self.factory = factory
        self.process: subprocess.Popen[bytes] | None = None
        self._signer: tuple[Any, str, str, str] | None = None

    def start(self, *, deadline_s: float = 120.0) -> Gateway:
        """Start the process (again, after :meth:`kill`: same port, database and log)."""
        command = [sys.executable, "-m", "uvicorn", "--factory", self.factory]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        with (self.workdir / "gateway.log").open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        give_up = time.monotonic() + deadline_s
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gateway did not start:\n{self.output()}")

    def output(self) -> str:
        return (self.workdir / "gateway.log").read_text(errors="replace")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL, as a crash would; :meth:`start` brings it back."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def token(self, user: str = "00000000-0000-4000-8000-000000000001", ttl_s: int = 7200) -> str:
        """A dev token for ``user``, signed with the gateway's dev key (development mode)."""
        if self._signer is None:
            saved = dict(os.environ)
            try:
                os.environ.update(self.env)
                from gateway.auth.devkeys import load_dev_keys, load_settings

                settings = load_settings()
                keys = load_dev_keys(settings.dev_secrets_file)
                self._signer = (
                    keys.es256_private_pem,
                    keys.kid,
                    str(settings.jwt_issuer),
                    str(settings.jwt_audience),
                )
            finally:
                os.environ.clear()
                os.environ.update(saved)
        pem, kid, issuer, audience = self._signer
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": user,
            "role": "authenticated",
            "email": f"{user[:20]}@bench.example",
            "is_anonymous": False,
            "aal": "aal1",
            "session_id": str(uuid.uuid4()),
            "iat": now,
            "exp": now + ttl_s,
        }
        return jwt.encode(claims, pem, "ES256", headers={"kid": kid})

    def client(self, user: str | None = None, **kwargs: Any) -> httpx.Client:
        token = self.token(user) if user else self.token()
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=120, **kwargs)

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def stopping(*things: Any) -> Iterator[None]:
    """Stop every process given, whatever happens (each has ``stop()``)."""
    try:
        yield
    finally:
        for thing in reversed(things):
            with contextlib.suppress(Exception):
                thing.stop()
