"""Placing one broadcast on its target accounts.

Each target goes through the normal trading desk, as if its owner had sent the order: its own
idempotency key (``broadcast:{id}:{account}``, so a repeated fan-out never places a second
order on an account), the account's risk limits, the investor refusal, the trade ledger, the
audit log and the background reconciliation of unknown outcomes.

Switches are the expensive part. Targets whose account is already resident on a terminal go
first, and as many targets run at once as there are terminals, so the pool's affinity serves
each resident account without a switch and every other account costs exactly one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.accounts.context import pool_key, ref_of, stored_credentials
from gateway.auth.schemas import User
from gateway.broadcast import store, symbols
from gateway.broadcast.models import BroadcastTarget, TargetState
from gateway.broadcast.schemas import BroadcastBody, Sizing
from gateway.calculate import service as calculate
from gateway.calculate.schemas import PositionSizeBody
from gateway.config import Settings
from gateway.db import session_scope
from gateway.errors import GatewayError
from gateway.store.crypto import Keyring
from gateway.store.models import Mt5Account
from gateway.terminal.pool import TerminalPool
from gateway.terminal.port import TerminalPort
from gateway.terminal.servertime import ServerClocks
from gateway.trading import prepare as p
from gateway.trading.deps import reopener
from gateway.trading.desk import Desk
from gateway.trading.ledger import Reconciliations
from gateway.trading.results import Answer
from gateway.trading.schemas import PendingBody, TradeBody

log = logging.getLogger("gateway.broadcast")


@dataclass(frozen=True)
class Env:
    pool: TerminalPool
    keyring: Keyring
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    background: Reconciliations
    clocks: ServerClocks


def target_key(broadcast_id: str, account_id: str) -> str:
    return f"broadcast:{broadcast_id}:{account_id}"


def direction(order: TradeBody | PendingBody) -> str:
    return "buy" if order.order_type.startswith("buy") else "sell"


async def volume_for(
    terminal: TerminalPort, order: TradeBody | PendingBody, symbol: str, sizing: Sizing
) -> float:
    if sizing.mode == "fixed":
        return sizing.value
    if sizing.mode == "multiplier":
        return order.volume * sizing.value
    body = PositionSizeBody(
        symbol=symbol,
        order_type=direction(order),  # type: ignore[arg-type]  # "buy" or "sell"
        risk_percent=sizing.value if sizing.mode == "risk_percent" else None,
        risk_amount=sizing.value if sizing.mode == "risk_amount" else None,
        risk_basis="equity",
        stop_loss=order.stop_loss or None,
        stop_points=order.stop_loss_points,
        price=order.price,
    )
    return (await calculate.position_size(terminal, body)).volume


def _owner(row: Mt5Account) -> User:
    return User(id=row.user_id)


def desk_for(env: Env, terminal: TerminalPort, row: Mt5Account) -> Desk:
    return Desk(
        terminal=terminal,
        account_id=row.id,
        user_id=row.user_id,
        sessions=env.sessions,
        reopen=reopener(env.pool, env.keyring, env.settings, env.sessions, _owner(row), row.id),
        background=env.background,
    )


def outcome_of(answer: Answer) -> dict[str, Any]:
    status, body, _ = answer
    if status >= 300 or body.get("state") == "unknown":
        unknown = body.get("state") == "unknown"
        return {
            "state": (TargetState.UNKNOWN if unknown else TargetState.REFUSED).value,
            "code": body.get("code") or str(body.get("retcode_name", "")).upper() or None,
            "detail": str(body.get("detail") or body.get("message") or ""),
            "request_id": body.get("request_id"),
        }
    return {
        "state": TargetState.FILLED.value,
        "ticket": body.get("ticket"),
        "price": body.get("price"),
        "volume": body.get("volume"),
        "request_id": body.get("request_id"),
        "code": None,
        "detail": None,
    }


def refusal_of(error: GatewayError) -> dict[str, Any]:
    body = error.body()
    unknown = body.get("code") == "OUTCOME_UNKNOWN"
    return {
        "state": (TargetState.UNKNOWN if unknown else TargetState.REFUSED).value,
        "code": body.get("code"),
        "detail": str(body.get("detail")),
        "request_id": body.get("request_id"),
    }


async def place_one(
    env: Env, broadcast_id: str, body: BroadcastBody, target: BroadcastTarget, row: Mt5Account
) -> dict[str, Any]:
    """The target's outcome (what to record on its row)."""
    deadline = env.pool.deadline(env.settings.request_timeout_s)
    ref = ref_of(row)
    order = body.order
    sizing = body.overrides.get(row.id, body.sizing)
    key = target_key(broadcast_id, row.id)
    credentials = stored_credentials(env.keyring, row)
    async with env.pool.session(pool_key(row.login, row.server, row.is_investor), credentials,
                                deadline, user=row.user_id) as terminal:  # fmt: skip
        desk = desk_for(env, terminal, row)
        mapped = await symbols.resolve(terminal, row.server, order.symbol, body.symbol_map)
        chosen: dict[str, Any] = {"symbol": mapped}

        async def work() -> Answer:
            volume = await volume_for(terminal, order, mapped, sizing)
            chosen["volume"] = volume
            sized = order.model_copy(
                update={"symbol": mapped, "volume": volume, "round_volume": True}
            )
            if isinstance(sized, TradeBody):
                prepared = await p.prepare_market(terminal, ref, sized)
            else:
                basis = await env.clocks.basis(terminal, row.server)
                prepared = await p.prepare_pending(terminal, ref, sized, basis)
            return await desk.send(prepared, order.comment, key)

        payload = {
            "account_id": row.id,
            "broadcast_id": broadcast_id,
            **order.model_dump(mode="json"),
        }
        answer = await desk.call("broadcast.open", payload, key, work)
    return {**chosen, **outcome_of(answer)}


async def run(
    env: Env,
    broadcast_id: str,
    body: BroadcastBody,
    rows: dict[str, Mt5Account],
    on_outcome: Callable[[str, dict[str, Any]], Awaitable[None]],
) -> None:
    async with session_scope(env.sessions) as session:
        pending = [t for t in await store.targets(session, broadcast_id) if t.state == "pending"]
    resident = {(t.login, t.server) for t in env.pool.snapshot().terminals if t.login is not None}
    pending.sort(
        key=lambda t: (rows[t.account_id].login, rows[t.account_id].server) not in resident
    )
    lanes = asyncio.Semaphore(max(1, env.pool.snapshot().healthy))

    async def one(target: BroadcastTarget) -> None:
        async with lanes:
            row = rows[target.account_id]
            try:
                outcome = await place_one(env, broadcast_id, body, target, row)
            except GatewayError as error:
                outcome = refusal_of(error)
            except Exception as exc:  # recorded, never lost; the key keeps it from repeating
                log.exception("broadcast %s: account %s failed", broadcast_id, row.id)
                outcome = {"state": "unknown", "code": "INTERNAL", "detail": type(exc).__name__}
            await on_outcome(target.id, outcome)

    await asyncio.gather(*(one(t) for t in pending))
