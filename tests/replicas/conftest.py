"""Fixtures of the replica tests: a throwaway PostgreSQL (``tests/store/conftest.py``, loaded by
path), four simulator terminals sharing one broker world (the bench profile: accounts 30001...
with password ``bench-<login>``), a JWKS stand-in, and per test a fresh database with one user
per account."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(TESTS / "gateway"))
sys.path.insert(0, str(TESTS / "terminal"))

from helpers import FROZEN_MS, JwksServer, claims, new_es256, sign  # noqa: E402
from replica_process import blocking  # noqa: E402
from replica_support import Cluster, Trader  # noqa: E402
from server_process import TerminalServerProcess, start_terminal_server  # noqa: E402
from sim_control import SimControl  # noqa: E402

from gateway.db import make_engine, make_sessionmaker, session_scope, upgrade_database  # noqa: E402
from gateway.store import accounts  # noqa: E402
from gateway.store.crypto import Keyring, generate_key  # noqa: E402

_spec = importlib.util.spec_from_file_location("store_fixtures", TESTS / "store" / "conftest.py")
assert _spec is not None and _spec.loader is not None
store_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(store_fixtures)
postgres_server = store_fixtures.postgres_server

KEYRING = generate_key("replicas")
FIRST_LOGIN = 30001
ACCOUNTS = 12
SIM_ARGS = ["--profile", "bench", "--bench-accounts", str(ACCOUNTS), "--bench-symbols", "4"]


@pytest.fixture(scope="session")
def jwks() -> Iterator[JwksServer]:
    server = JwksServer(keys=[new_es256("es-replicas")])
    yield server
    server.close()


@pytest.fixture(scope="module")
def sims() -> Iterator[TerminalServerProcess]:
    """Four simulated terminals sharing one world, time frozen on a weekday (markets open)."""
    with start_terminal_server(terminals=4, extra_args=SIM_ARGS) as server:
        with SimControl(server.host, server.port) as control:
            control.freeze_time(ms=FROZEN_MS)
        yield server


@pytest.fixture(scope="module")
def controls(sims: TerminalServerProcess) -> Iterator[list[SimControl]]:
    """A control connection per terminal (its own connection: not a replica's)."""
    opened = [SimControl(sims.host, port) for port in sims.ports]
    yield opened
    for control in opened:
        control.close()


def terminals_setting(sims: TerminalServerProcess) -> str:
    return ",".join(f"t{i + 1}={sims.host}:{port}" for i, port in enumerate(sims.ports))


async def _seed(url: str, keyring: Keyring, users: list[str]) -> list[str]:
    await upgrade_database(url)
    engine = make_engine(url)
    try:
        ids = []
        async with session_scope(make_sessionmaker(engine)) as session:
            for i, user in enumerate(users):
                login = FIRST_LOGIN + i
                row = await accounts.save(
                    session,
                    keyring,
                    user_id=user,
                    login=login,
                    server="Sim-Demo",
                    password=f"bench-{login}",
                    is_default=True,
                )
                ids.append(row.id)
        return ids
    finally:
        await engine.dispose()


@pytest.fixture
def cluster(
    postgres_server: str, jwks: JwksServer, sims: TerminalServerProcess
) -> Iterator[Callable[..., Cluster]]:
    """``cluster(**env)``: a fresh database and the replicas' shared settings; every replica
    started through it is stopped at the end."""
    made: list[Cluster] = []

    def make(**extra: str) -> Cluster:
        name = f"r_{uuid.uuid4().hex[:12]}"
        blocking(store_fixtures._admin_sql(postgres_server, f'CREATE DATABASE "{name}"'))
        dsn = postgres_server.rsplit("/", 1)[0] + "/" + name
        users = [str(uuid.uuid4()) for _ in range(ACCOUNTS)]
        ids = blocking(_seed(dsn, Keyring.parse(KEYRING), users))
        traders = [
            Trader(user, FIRST_LOGIN + i, ids[i], sign(jwks.keys[0], claims(jwks.issuer, sub=user)))
            for i, user in enumerate(users)
        ]
        env = {
            "ENVIRONMENT": "production",
            "SUPABASE_URL": jwks.supabase_url,
            "JWKS_MIN_REFRESH_S": "0",
            "TERMINALS": terminals_setting(sims),
            "SERVER_UTC_OFFSETS": "Sim-Demo=7200",
            "DATABASE_URL": dsn,
            "MT5_ENCRYPTION_KEYS": KEYRING,
            "DEFAULT_ACCOUNT_LOGIN": "0",
            "TERMINAL_TIMEOUT_S": "10",
            "REQUEST_TIMEOUT_S": "20",
            "POOL_HEALTH_INTERVAL_S": "1",
            "REPLICA_LEASE_TTL_S": "5",
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "text",
            **extra,
        }
        made.append(Cluster(dsn, env, traders, []))
        return made[-1]

    yield make
    for each in made:
        for process in each.started:
            process.stop()
            tail = "\n".join(process.output().splitlines()[-80:])
            print(f"--- replica {process.replica_id} (last lines) ---\n{tail}")
