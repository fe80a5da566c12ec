"""A gateway over two simulator terminals with five stored accounts of three users, and an admin."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "gateway"))
sys.path.insert(0, str(HERE.parent / "terminal"))

from helpers import (  # noqa: E402
    FROZEN_MS,
    HS256_SECRET,
    GatewayServer,
    JwksServer,
    claims,
    new_es256,
    sign,
)
from server_process import start_terminal_server  # noqa: E402
from sim_control import SimControl  # noqa: E402

from gateway.config import Settings  # noqa: E402
from gateway.db import make_engine, make_sessionmaker, session_scope, upgrade_database  # noqa: E402
from gateway.main import create_app  # noqa: E402
from gateway.store import accounts  # noqa: E402
from gateway.store.crypto import Keyring, generate_key  # noqa: E402

ADMIN, ALICE, BOB, CAROL = "admin-1", "alice-1", "bob-1", "carol-1"


@dataclass(frozen=True)
class World:
    url: str
    ids: dict[str, str]  # name -> account id
    owners: dict[str, str]  # name -> user id
    controls: list[SimControl]
    jwks: JwksServer

    def token(self, user: str) -> str:
        return sign(self.jwks.keys[0], claims(self.jwks.issuer, sub=user))


async def _seed(url: str, keyring: Keyring) -> tuple[dict[str, str], dict[str, str]]:
    await upgrade_database(url)
    engine = make_engine(url)
    plan = {
        "alice_hedging": (ALICE, 10001, "Sim-Demo", "demo-10001", False, None),
        "alice_netting": (ALICE, 10003, "Sim-Demo", "demo-10003", False, None),
        "bob_risky": (BOB, 10002, "Sim-Demo", "demo-10002", False, {"max_volume_per_order": 0.05}),
        "carol_live": (CAROL, 20001, "Sim-Live", "live-20001", False, None),
        "carol_investor": (CAROL, 10001, "Sim-Demo", "investor-10001", True, None),
    }
    ids, owners = {}, {}
    try:
        async with session_scope(make_sessionmaker(engine)) as s:
            for name, (user, login, server, password, investor, limits) in plan.items():
                row = await accounts.save(s, keyring, user_id=user, login=login, server=server,
                                          password=password, is_investor=investor,
                                          risk_limits=limits)  # fmt: skip
                ids[name], owners[name] = row.id, user
    finally:
        await engine.dispose()
    return ids, owners


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    jwks = JwksServer(keys=[new_es256("es-1")])
    key = generate_key("k1")
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('broadcast') / 'gateway.db'}"
    ids, owners = asyncio.run(_seed(url, Keyring.parse(key)))
    with start_terminal_server(terminals=2) as sim:
        controls = [SimControl(sim.host, port) for port in sim.ports]
        controls[0].freeze_time(ms=FROZEN_MS)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="production",
            supabase_url=jwks.supabase_url,
            supabase_jwt_secret=HS256_SECRET,
            terminals=",".join(f"t{i}={sim.host}:{p}" for i, p in enumerate(sim.ports, 1)),
            server_utc_offsets="Sim-Demo=7200,Sim-Live=10800",
            terminal_timeout_s=5.0,
            terminal_connect_timeout_s=2.0,
            database_url=url,
            mt5_encryption_keys=key,
            admin_user_ids=[ADMIN],
            request_timeout_s=60.0,
        )
        try:
            with GatewayServer(create_app(settings)) as server:
                yield World(server.url, ids, owners, controls, jwks)
        finally:
            for control in controls:
                control.close()
            jwks.close()
