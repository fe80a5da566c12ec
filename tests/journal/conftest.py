"""The journal runs on the trading suite's gateway (SQLite, and PostgreSQL with a simulator of
its own): its fixtures are loaded here by path, as that suite loads the store's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "trading"))

_spec = importlib.util.spec_from_file_location(
    "trading_fixtures", HERE.parent / "trading" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
trading = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(trading)

# Every fixture of that suite (pytest keeps fixtures per directory, so they are re-bound here).
globals().update(
    {k: v for k, v in vars(trading).items() if type(v).__name__ == "FixtureFunctionDefinition"}
)
token_of = trading._token


# --- a gateway in a process of its own, for the restart and background-sync tests ------------

import asyncio  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402
from gateway_process import GatewayProcess  # noqa: E402
from helpers import HS256_SECRET, JwksServer  # noqa: E402
from server_process import TerminalServerProcess, start_terminal_server  # noqa: E402
from sim_control import SimControl  # noqa: E402
from trading_support import FROZEN_MS, Accounts  # noqa: E402

from gateway.config import Settings  # noqa: E402
from gateway.store.crypto import Keyring, generate_key  # noqa: E402


@dataclass
class ProcessStack:
    """A simulator with two terminals sharing one world (the gateway process uses the first,
    a test's own pool the second), a database with the trading suite's accounts, and the
    environment a gateway process runs with on them."""

    sim: TerminalServerProcess
    control: SimControl
    url: str
    key: str
    ids: Accounts
    env: dict[str, str]
    settings: Settings

    def gateway(self) -> GatewayProcess:
        return GatewayProcess(self.env)

    def fresh_world(self) -> None:
        self.control.hang_calls(seconds=0)
        self.control.reset()
        self.control.freeze_time(ms=FROZEN_MS)


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.needs_binary("postgres"))],
)
def process_stack(
    request: pytest.FixtureRequest, jwks: JwksServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProcessStack]:
    pg = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    url = trading.Databases(request.param, tmp_path_factory.mktemp("journal"), pg).empty()
    key = generate_key("k1")
    ids = asyncio.run(trading._seed(url, Keyring.parse(key)))
    with start_terminal_server(terminals=2) as sim, SimControl(sim.host, sim.port) as control:
        env = {
            "ENVIRONMENT": "production",
            "SUPABASE_URL": jwks.supabase_url,
            "SUPABASE_JWT_SECRET": HS256_SECRET,
            "TERMINALS": f"t1={sim.host}:{sim.ports[0]}",
            "SERVER_UTC_OFFSETS": "Sim-Demo=7200",
            "TERMINAL_TIMEOUT_S": "30",  # calls slowed down on purpose still answer
            "TERMINAL_CONNECT_TIMEOUT_S": "5",
            "JWKS_MIN_REFRESH_S": "0",
            "DATABASE_URL": url,
            "MT5_ENCRYPTION_KEYS": key,
            "DEFAULT_ACCOUNT_LOGIN": "10001",
            "DEFAULT_ACCOUNT_PASSWORD": "demo-10001",
            "ALLOWED_USER_IDS": trading.SINGLE,
            "REQUEST_TIMEOUT_S": "60",
            "POOL_HEALTH_INTERVAL_S": "0.5",
            "LOG_FORMAT": "text",
        }
        settings = trading._settings(jwks, sim, url, key)
        stack = ProcessStack(sim, control, url, key, ids, env, settings)
        stack.fresh_world()
        yield stack
