"""``RpycTerminal.batch`` keeps every round trip within the terminal server's batch cap, over
real RPyC to a simulator terminal: a long batch is sent in parts, in order, in one job of the
terminal's call thread."""

from __future__ import annotations

import asyncio

from server_process import TerminalServerProcess as SimServer

from gateway.terminal.port import Call
from gateway.terminal.rpyc_client import MAX_BATCH_CALLS, RpycTerminal


def test_a_long_batch_is_split_into_capped_round_trips(demo_server: SimServer) -> None:
    async def body() -> None:
        terminal = RpycTerminal("t1", demo_server.host, demo_server.ports[0])
        try:
            await terminal.call("initialize")
            await terminal.login(10001, "demo-10001", "Sim-Demo", 60_000)
            symbols = ["EURUSD", "GBPUSD", "USDJPY"] * 30  # 90 calls: over any sane cap
            calls: list[Call] = [("symbol_info", (s,), {}) for s in symbols]
            answers = await terminal.batch(calls)
            assert [a["name"] for a in answers] == symbols
            assert MAX_BATCH_CALLS <= 32
        finally:
            await terminal.close()

    asyncio.run(asyncio.wait_for(body(), 60))
