"""One upstream poll fanned out: 500 subscribers cost the terminal what 1 does; a stalled
client is closed with 4008 while the others keep receiving, and resumes from its seq."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sim_control import SimControl
from stream_support import Peer, Stack, open_peer, seqs

from gateway.db import make_engine, make_sessionmaker, session_scope
from gateway.events import store
from gateway.events.schema import EventDraft

pytestmark = pytest.mark.anyio

SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "USDCHF"]
BATCHES = "gateway_mt5_call_seconds_count{function=batch}"
POLLS = "gateway_stream_market_polls_total{server=Sim-Demo}"


async def _quotes_peer(stack: Stack, peer: Peer) -> dict[str, float]:
    """Authenticate and follow the five symbols; their current bids."""
    await peer.auth(stack.token())
    await peer.send({"type": "subscribe", "id": "q", "channel": "quotes", "symbols": SYMBOLS})
    await peer.next("subscribed")
    bids: dict[str, float] = {}
    while len(bids) < len(SYMBOLS):
        quote = await peer.next("quote")
        bids[quote["symbol"]] = quote["bid"]
    return bids


async def _move_and_count(
    stack: Stack, control: SimControl, peers: list[Peer], bids: dict[str, float], step: float
) -> tuple[float, float]:
    """Push a new bid on every symbol and wait until every peer has all five; the terminal
    round trips (``batch`` calls, counted by the gateway's MT5 call metrics) and the hub's
    market polls meanwhile."""
    before = await stack.metrics()
    for symbol in SYMBOLS:
        bids[symbol] = round(bids[symbol] * (1 + step), 3)
        control.push_price(server="Sim-Demo", symbol=symbol, bid=bids[symbol])

    async def got_all(peer: Peer) -> None:
        missing = set(SYMBOLS)
        while missing:
            quote = await peer.next("quote", timeout=120)
            if quote["bid"] == bids[quote["symbol"]]:
                missing.discard(quote["symbol"])

    await asyncio.gather(*(got_all(p) for p in peers))
    for _ in range(200):  # at least 10 polls, so one in flight at either end weighs little
        after = await stack.metrics()
        if after[POLLS] - before[POLLS] >= 10:
            break
        await asyncio.sleep(0.05)
    return after[BATCHES] - before.get(BATCHES, 0.0), after[POLLS] - before[POLLS]


async def test_500_subscribers_cost_the_terminal_what_one_does(
    make_stack: Callable[..., Stack], control: SimControl
) -> None:
    stack = make_stack(stream_max_connections_per_user=1000)
    async with open_peer(stack) as first:
        bids = await _quotes_peer(stack, first)
        calls_one, polls_one = await _move_and_count(stack, control, [first], bids, 0.001)
        peers: list[Peer] = [first]
        contexts = [open_peer(stack) for _ in range(499)]
        try:
            for context in contexts:
                peer = await context.__aenter__()
                await _quotes_peer(stack, peer)
                peers.append(peer)
            calls_many, polls_many = await _move_and_count(stack, control, peers, bids, -0.001)
        finally:
            await asyncio.gather(*(c.__aexit__(None, None, None) for c in contexts))
    assert polls_one >= 10 and polls_many >= 10
    # One terminal round trip per market poll, whether 1 or 500 clients follow the 5 symbols
    # (a poll in flight while the counters are read may count on one side only).
    assert abs(calls_one - polls_one) <= 1, (calls_one, polls_one)
    assert abs(calls_many - polls_many) <= 1, (calls_many, polls_many)


def _seed_events(stack: Stack, account_id: str, count: int, size: int) -> None:
    """``count`` stored events of ``size`` bytes for the account (as the watcher stores them)."""

    async def run() -> None:
        engine = make_engine(stack.db_url)
        try:
            sessions = make_sessionmaker(engine)
            for start in range(0, count, 500):
                drafts = [  # random padding: per-message deflate must not shrink it
                    EventDraft("deal.added", 1_764_072_000_000 + i, {"pad": _noise(size)}, None)
                    for i in range(start, min(count, start + 500))
                ]
                async with session_scope(sessions) as session:
                    await store.append(session, account_id, drafts, state={}, as_of=None)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def _noise(size: int) -> str:
    return base64.b64encode(os.urandom(size * 3 // 4)).decode()


def _small_window_socket(stack: Stack) -> socket.socket:
    """A client socket with a tiny receive buffer: once the client stops reading, the server's
    writes back up quickly."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", stack.server.port))
    sock.setblocking(False)
    return sock


async def test_stalled_client_closed_4008_others_keep_receiving_then_resume(
    make_stack: Callable[..., Stack], control: SimControl
) -> None:
    stack = make_stack(stream_client_queue=64, stream_send_timeout_s=2.0)
    account = stack.ids.netting  # not resident: its stored events are all there is
    total = 3000
    _seed_events(stack, account, total, 2000)
    subscribe: dict[str, Any] = {"type": "subscribe", "id": "e", "channel": "deals"}
    subscribe |= {"account_id": account, "after": 0}
    async with (
        open_peer(stack) as fast,
        open_peer(stack, sock=_small_window_socket(stack), max_queue=1) as slow,
    ):
        bids = await _quotes_peer(stack, fast)
        await slow.auth(stack.token())
        await slow.send(subscribe)  # 6 MB of replay, and the slow client reads none of it
        for step in (0.001, 0.002, 0.003):  # meanwhile the fast client gets every new price
            bids["EURUSD"] = round(bids["EURUSD"] * (1 + step), 5)
            control.push_price(server="Sim-Demo", symbol="EURUSD", bid=bids["EURUSD"])
            await fast.next("quote", lambda m: m["bid"] == bids["EURUSD"], timeout=30)
        for _ in range(300):
            if (await stack.metrics()).get("gateway_stream_overflow_closes_total{}", 0) >= 1:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the stalled client was not closed")
        await fast.send({"type": "ping", "time": "after"})
        assert (await fast.next("pong"))["time"] == "after"
        assert await slow.close_code(timeout=60) == 4008
    got = [m for m in slow.log if m.get("type") == "event"]
    assert 0 < len(got) < total
    assert seqs(got) == list(range(1, len(got) + 1))
    async with open_peer(stack) as again:  # resumes from its last seq
        await again.auth(stack.token())
        await again.send(subscribe | {"after": got[-1]["seq"]})
        rest = await again.events(total - len(got))
    assert seqs(got + rest) == list(range(1, total + 1))
