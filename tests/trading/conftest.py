"""Fixtures: the real simulator terminal server, the gateway under uvicorn with a SQLite store,
and stored accounts for a trader, an investor and a risk-limited user.

``store_gateway`` is the same gateway on SQLite and on the throwaway PostgreSQL server of
``tests/store/conftest.py`` (loaded here by path; its ``postgres_server`` fixture is reused).
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.db import make_engine, make_sessionmaker, session_scope, upgrade_database
from gateway.main import create_app
from gateway.store import accounts
from gateway.store.crypto import Keyring, generate_key

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "gateway"))
sys.path.insert(0, str(HERE.parent / "terminal"))

from helpers import HS256_SECRET, GatewayServer, JwksServer, claims, new_es256, sign  # noqa: E402
from server_process import TerminalServerProcess, start_terminal_server  # noqa: E402
from sim_control import SimControl  # noqa: E402
from trading_support import (  # noqa: E402
    FROZEN_MS,
    TERMINAL_TIMEOUT_S,
    Accounts,
    Api,
    StoreGateway,
)

_spec = importlib.util.spec_from_file_location(
    "store_fixtures", HERE.parent / "store" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
store_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(store_fixtures)
postgres_server = store_fixtures.postgres_server
Databases = store_fixtures.Databases

TRADER, INVESTOR, RISKY = "trader-1", "investor-1", "risky-1"
SINGLE = "single-1"  # no stored account: uses the configured one
RISK_LIMITS = {
    "max_volume_per_order": 1.0,
    "max_open_positions": 2,
    "allowed_symbols": ["EURUSD", "GBPUSD", "USDJPY"],
    "max_daily_loss": 50.0,
}


@pytest.fixture(scope="session")
def jwks() -> Iterator[JwksServer]:
    server = JwksServer(keys=[new_es256("es-1")])
    yield server
    server.close()


@pytest.fixture(scope="session")
def sim_server() -> Iterator[TerminalServerProcess]:
    with start_terminal_server(terminals=1) as server:
        yield server


@pytest.fixture(scope="session")
def control(sim_server: TerminalServerProcess) -> Iterator[SimControl]:
    with SimControl(sim_server.host, sim_server.port) as ctl:
        ctl.freeze_time(ms=FROZEN_MS)
        yield ctl


async def _seed(url: str, keyring: Keyring) -> Accounts:
    await upgrade_database(url)
    engine = make_engine(url)
    try:
        async with session_scope(make_sessionmaker(engine)) as s:
            hedging = await accounts.save(
                s,
                keyring,
                user_id=TRADER,
                login=10001,
                server="Sim-Demo",
                password="demo-10001",
                is_default=True,
            )
            netting = await accounts.save(
                s, keyring, user_id=TRADER, login=10003, server="Sim-Demo", password="demo-10003"
            )
            investor = await accounts.save(
                s,
                keyring,
                user_id=INVESTOR,
                login=10001,
                server="Sim-Demo",
                password="investor-10001",
                is_investor=True,
            )
            risky = await accounts.save(
                s,
                keyring,
                user_id=RISKY,
                login=10002,
                server="Sim-Demo",
                password="demo-10002",
                risk_limits=RISK_LIMITS,
            )
            return Accounts(hedging.id, netting.id, investor.id, risky.id)
    finally:
        await engine.dispose()


def _settings(jwks: JwksServer, sim: TerminalServerProcess, url: str, key: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="production",
        supabase_url=jwks.supabase_url,
        supabase_jwt_secret=HS256_SECRET,
        terminals=f"t1={sim.host}:{sim.port}",
        server_utc_offsets="Sim-Demo=7200",
        terminal_timeout_s=TERMINAL_TIMEOUT_S,
        terminal_connect_timeout_s=2.0,
        jwks_min_refresh_s=0.0,
        database_url=url,
        mt5_encryption_keys=key,
        default_account_login=10001,  # the configured single-tenant account ("default")
        default_account_password="demo-10001",
        allowed_user_ids=[SINGLE],
        request_timeout_s=60.0,
        pool_health_interval_s=0.5,
    )


def _serve(
    jwks: JwksServer, sim: TerminalServerProcess, url: str
) -> Iterator[tuple[GatewayServer, Accounts]]:
    key = generate_key("k1")
    ids = asyncio.run(_seed(url, Keyring.parse(key)))
    with GatewayServer(create_app(_settings(jwks, sim, url, key))) as server:
        yield server, ids


@pytest.fixture(scope="session")
def trading_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('trading') / 'gateway.db'}"


@pytest.fixture(scope="session")
def gateway_and_accounts(
    jwks: JwksServer, sim_server: TerminalServerProcess, control: SimControl, trading_db_url: str
) -> Iterator[tuple[GatewayServer, Accounts]]:
    yield from _serve(jwks, sim_server, trading_db_url)


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.needs_binary("postgres"))],
)
def store_gateway(
    request: pytest.FixtureRequest,
    jwks: JwksServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[StoreGateway]:
    """The trading gateway on SQLite (the session's own) and on PostgreSQL. The PostgreSQL one
    has a simulator of its own: two gateways must not share one terminal's login."""
    if request.param == "sqlite":
        server, ids = request.getfixturevalue("gateway_and_accounts")
        url = request.getfixturevalue("trading_db_url")
        yield StoreGateway(server, ids, request.getfixturevalue("control"), url)
        return
    pg = request.getfixturevalue("postgres_server")
    url = Databases("postgresql", tmp_path_factory.mktemp("pg"), pg).empty()
    with (
        start_terminal_server(terminals=1) as sim,
        SimControl(sim.host, sim.port) as control,
    ):
        control.freeze_time(ms=FROZEN_MS)
        for server, ids in _serve(jwks, sim, url):
            yield StoreGateway(server, ids, control, url)


@pytest.fixture
def store_api(store_gateway: StoreGateway, jwks: JwksServer) -> Iterator[Api]:
    """The trader's client on the hedging account, through ``store_gateway``, on a fresh world."""
    store_gateway.control.reset()
    store_gateway.control.freeze_time(ms=FROZEN_MS)
    with Api(store_gateway.server.url, _token(jwks, TRADER), store_gateway.ids.hedging) as client:
        yield client


@pytest.fixture(scope="session")
def ids(gateway_and_accounts: tuple[GatewayServer, Accounts]) -> Accounts:
    return gateway_and_accounts[1]


def _token(jwks: JwksServer, user: str, **extra: object) -> str:
    return sign(jwks.keys[0], claims(jwks.issuer, sub=user, **extra))


@pytest.fixture(autouse=True)
def fresh_world(control: SimControl) -> Iterator[None]:
    """Every test starts from the initial broker state at the frozen Tuesday noon."""
    control.reset()
    control.freeze_time(ms=FROZEN_MS)
    yield
    control.hang_calls(seconds=0)


@pytest.fixture
def api(gateway_and_accounts: tuple[GatewayServer, Accounts], jwks: JwksServer) -> Iterator[Api]:
    server, ids = gateway_and_accounts
    with Api(server.url, _token(jwks, TRADER), ids.hedging) as client:
        yield client


@pytest.fixture
def api_for(
    gateway_and_accounts: tuple[GatewayServer, Accounts], jwks: JwksServer
) -> Iterator[object]:
    server, _ = gateway_and_accounts
    opened: list[Api] = []

    def make(user: str, account_id: str | None, **claims_extra: object) -> Api:
        client = Api(server.url, _token(jwks, user, **claims_extra), account_id)
        opened.append(client.__enter__())
        return client

    yield make
    for client in opened:
        client.close()
