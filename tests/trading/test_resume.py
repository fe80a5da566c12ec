"""A restart between sending an order and settling its answer: the next start settles it.

The "earlier run" is played by hand: a ledger row and an in-progress idempotency key are stored,
and the order is sent to the simulator with the row's client id in its comment, exactly as the
desk does before it hears the answer. Then a gateway starts on that database.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from helpers import GatewayServer, JwksServer, claims, sign
from server_process import TerminalServerProcess
from trading_support import Api

from gateway.config import Settings
from gateway.db import make_engine, make_sessionmaker, session_scope, upgrade_database
from gateway.main import create_app
from gateway.store import accounts, idempotency, trades
from gateway.store.crypto import Keyring, generate_key
from gateway.store.models import TradeRequest
from gateway.terminal.rpyc_client import RpycTerminal
from gateway.trading.desk import mt5_comment
from gateway.trading.prepare import mt5_request

USER = "resumer-1"


async def _earlier_run(url: str, keyring: Keyring, host: str, port: int) -> dict[str, Any]:
    """Store what a run that died right after sending would have left behind, and send."""
    await upgrade_database(url)
    engine = make_engine(url)
    try:
        maker = make_sessionmaker(engine)
        async with session_scope(maker) as s:
            account = await accounts.save(
                s, keyring, user_id=USER, login=10001, server="Sim-Demo", password="demo-10001"
            )
            for key in ("open-key", "sltp-key"):
                await idempotency.begin(s, user_id=USER, key=key, request_hash=key)
            client_id = trades.new_client_id()
            buy = mt5_request(
                1, symbol="BTCUSD", volume=0.01, type=0, deviation=20, type_filling=0
            ) | {"comment": mt5_comment(client_id, "resumed")}
            opened = await trades.create(
                s,
                user_id=USER,
                account_id=account.id,
                request=buy,
                idempotency_key="open-key",
                client_id=client_id,
            )
            sltp = await trades.create(
                s,
                user_id=USER,
                account_id=account.id,
                request=mt5_request(6, symbol="BTCUSD", position=1, sl=1.0),
                idempotency_key="sltp-key",
            )
            ids = {"account": account.id, "open": opened.request_id, "sltp": sltp.request_id}
    finally:
        await engine.dispose()
    terminal = RpycTerminal("earlier-run", host, port, timeout_s=30)
    try:
        await terminal.call("initialize")
        await terminal.login(10001, "demo-10001", "Sim-Demo", 60_000)
        tick = await terminal.symbol_info_tick("BTCUSD")
        sent = await terminal.order_send({**buy, "price": float(tick["ask"])})
    finally:
        await terminal.close()
    assert sent["retcode"] == 10009, sent
    return {**ids, "client_id": client_id, "order": sent["order"]}


async def _key_states(url: str) -> dict[str, str | None]:
    engine = make_engine(url)
    try:
        async with session_scope(make_sessionmaker(engine)) as s:
            out: dict[str, str | None] = {}
            for key in ("open-key", "sltp-key"):
                record = await idempotency.find(s, user_id=USER, key=key)
                out[key] = None if record is None else str(record.status)
            rows = (await s.execute(TradeRequest.__table__.select())).mappings().all()
            out.update({str(r["request_id"]): str(r["state"]) for r in rows})
            return out
    finally:
        await engine.dispose()


def test_a_restart_settles_what_the_earlier_run_sent(
    jwks: JwksServer, sim_server: TerminalServerProcess, control: Any, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    key = generate_key("k1")
    earlier = asyncio.run(_earlier_run(url, Keyring.parse(key), sim_server.host, sim_server.port))
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        supabase_url=jwks.supabase_url,
        terminals=f"t1={sim_server.host}:{sim_server.port}",
        server_utc_offsets="Sim-Demo=7200",
        database_url=url,
        mt5_encryption_keys=key,
        default_account_login=0,
        dev_secrets_file=tmp_path / "dev.json",
    )
    with (
        GatewayServer(create_app(settings)) as gateway,
        Api(
            gateway.url, sign(jwks.keys[0], claims(jwks.issuer, sub=USER)), earlier["account"]
        ) as api,
    ):
        deadline = time.monotonic() + 30
        while True:
            state = api.get(f"/trades/requests/{earlier['open']}").json()
            if state["state"] == "done" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert state["state"] == "done", state
        assert state["result"]["order"] == earlier["order"] and state["result"]["reconciled"]
        history = api.get("/history/orders", params={"ticket": earlier["order"]}).json()["orders"]
        assert len(history) == 1 and history[0]["comment"].startswith(earlier["client_id"])
    states = asyncio.run(_key_states(url))
    assert states["open-key"] == "completed"  # a retry with the key now replays the answer
    assert states["sltp-key"] is None  # nothing to find: released, the client may retry
    assert states[earlier["sltp"]] == "pending"
