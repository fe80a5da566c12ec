"""Broadcasts: create once per idempotency key, fan out in the background, report progress,
close what they opened, and sum their exposure."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from gateway.accounts.context import pool_key, ref_of, stored_credentials
from gateway.broadcast import fanout, store
from gateway.broadcast.fanout import Env
from gateway.broadcast.models import Broadcast, BroadcastTarget, TargetState
from gateway.broadcast.schemas import (
    BroadcastBody,
    BroadcastOut,
    Exposure,
    ExposureOut,
    Progress,
    TargetOut,
)
from gateway.db import session_scope
from gateway.errors import GatewayError, NotFound, ValidationFailed
from gateway.store.models import Mt5Account, utcnow
from gateway.trading import manage as m
from gateway.trading.results import Answer


class BroadcastNotFound(NotFound):
    code = "BROADCAST_NOT_FOUND"


def view(broadcast: Broadcast, targets: list[BroadcastTarget]) -> BroadcastOut:
    progress = Progress()
    for t in targets:
        setattr(progress, t.state, getattr(progress, t.state) + 1)
    return BroadcastOut(
        id=broadcast.id,
        created_by=broadcast.created_by,
        created_at=broadcast.created_at,
        finished_at=broadcast.finished_at,
        progress=progress,
        targets=[
            TargetOut(
                account_id=t.account_id,
                user_id=t.user_id,
                state=t.state,  # type: ignore[arg-type]  # one of TargetState's values
                symbol=t.symbol,
                volume=t.volume,
                ticket=t.ticket,
                price=t.price,
                code=t.code,
                detail=t.detail,
                request_id=t.request_id,
            )
            for t in targets
        ],
    )


async def _rows(env: Env, targets: list[BroadcastTarget]) -> dict[str, Mt5Account]:
    async with session_scope(env.sessions) as session:
        found = {}
        for t in targets:
            row = await session.get(Mt5Account, t.account_id)
            if row is not None:
                found[row.id] = row
        return found


async def _record(env: Env, target_id: str, outcome: dict[str, Any]) -> None:
    async with session_scope(env.sessions) as session:
        await store.record(session, target_id, **outcome)


async def fan_out(env: Env, broadcast_id: str, body: BroadcastBody) -> None:
    """Place every pending target, then mark the broadcast finished."""
    async with session_scope(env.sessions) as session:
        targets = await store.targets(session, broadcast_id)
    rows = await _rows(env, targets)
    await fanout.run(env, broadcast_id, body, rows, lambda tid, out: _record(env, tid, out))
    async with session_scope(env.sessions) as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        if broadcast is not None:
            broadcast.finished_at = utcnow()


async def start(env: Env, admin: str, key: str | None, body: BroadcastBody) -> tuple[bool, str]:
    """(created, id): a repeated key answers the broadcast it started the first time."""
    async with session_scope(env.sessions) as session:
        if key is not None and (found := await store.find_by_key(session, admin, key)):
            return False, found.id
        t = body.targets
        accounts = await store.target_accounts(session, t.users, t.accounts, t.tag)
        if not accounts:
            raise ValidationFailed("the targets name no live account")
        broadcast = await store.create(session, admin, key, body.model_dump(mode="json"), accounts)
        broadcast_id = broadcast.id
    env.background.spawn(fan_out(env, broadcast_id, body))
    return True, broadcast_id


async def get(env: Env, broadcast_id: str) -> BroadcastOut:
    async with session_scope(env.sessions) as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        if broadcast is None:
            raise BroadcastNotFound("No such broadcast")
        return view(broadcast, await store.targets(session, broadcast_id))


async def resume(env: Env) -> int:
    """Fan out again the broadcasts a stopped gateway left unfinished (their keys make it safe)."""
    async with session_scope(env.sessions) as session:
        query = select(Broadcast).where(Broadcast.finished_at.is_(None))
        unfinished = list((await session.execute(query)).scalars())
    for b in unfinished:
        env.background.spawn(fan_out(env, b.id, BroadcastBody.model_validate(b.request)))
    return len(unfinished)


async def _close_one(
    env: Env, broadcast_id: str, target: BroadcastTarget, row: Mt5Account
) -> dict[str, Any]:
    key = f"broadcast-close:{broadcast_id}:{row.id}"
    deadline = env.pool.deadline(env.settings.request_timeout_s)
    credentials = stored_credentials(env.keyring, row)
    async with env.pool.session(pool_key(row.login, row.server, row.is_investor), credentials,
                                deadline, user=row.user_id) as terminal:  # fmt: skip
        desk = fanout.desk_for(env, terminal, row)
        ticket = target.ticket or 0

        async def work() -> Answer:
            prepared = await m.prepare_close(terminal, ref_of(row), ticket, None, 20)
            return await desk.send(prepared, "", key)

        payload = {"account_id": row.id, "broadcast_id": broadcast_id, "ticket": ticket}
        status, body, _ = await desk.call("broadcast.close", payload, key, work)
    if status >= 300:
        return {"code": body.get("code"), "detail": str(body.get("detail") or body.get("message"))}
    return {"state": TargetState.CLOSED.value, "code": None, "detail": None}


async def close(env: Env, broadcast_id: str) -> BroadcastOut:
    """Close the positions the broadcast opened (market orders' targets that filled)."""
    await get(env, broadcast_id)  # 404 for an unknown id
    async with session_scope(env.sessions) as session:
        targets = [t for t in await store.targets(session, broadcast_id) if t.state == "filled"]
    rows = await _rows(env, targets)

    async def one(target: BroadcastTarget) -> None:
        try:
            outcome = await _close_one(env, broadcast_id, target, rows[target.account_id])
        except GatewayError as error:
            outcome = {"code": error.body().get("code"), "detail": str(error.body().get("detail"))}
        await _record(env, target.id, outcome)

    lanes = asyncio.Semaphore(max(1, env.pool.snapshot().healthy))

    async def laned(target: BroadcastTarget) -> None:
        async with lanes:
            await one(target)

    await asyncio.gather(*(laned(t) for t in targets if t.account_id in rows))
    return await get(env, broadcast_id)


async def exposure(env: Env, broadcast_id: str) -> ExposureOut:
    """Lots the broadcast opened and has not closed, per symbol, across its accounts."""
    current = await get(env, broadcast_id)
    sums: dict[str, dict[str, Any]] = defaultdict(lambda: {"long": 0.0, "short": 0.0, "n": set()})
    async with session_scope(env.sessions) as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        side = BroadcastBody.model_validate(broadcast.request).order.order_type
    for t in current.targets:
        if t.state != "filled" or not t.symbol or not t.volume:
            continue
        entry = sums[t.symbol]
        entry["long" if side.startswith("buy") else "short"] += t.volume
        entry["n"].add(t.account_id)
    return ExposureOut(
        id=broadcast_id,
        exposure=[
            Exposure(
                symbol=s,
                long=round(v["long"], 8),
                short=round(v["short"], 8),
                net=round(v["long"] - v["short"], 8),
                accounts=len(v["n"]),
            )
            for s, v in sorted(sums.items())
        ],
    )
