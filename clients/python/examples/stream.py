"""Watch an account live: figures, positions and orders, and quotes; the helper resumes from the
last event after a dropped connection and renews authentication before the token expires.

    MT5GW_URL=http://127.0.0.1:8000 MT5GW_TOKEN=$(make -s token) python stream.py [seconds]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

from mt5gw_client import AsyncClient, StaticToken


async def watch(seconds: float | None) -> None:
    url = os.environ.get("MT5GW_URL", "http://127.0.0.1:8000")
    async with (
        AsyncClient(url, StaticToken(os.environ["MT5GW_TOKEN"])) as mt5,
        mt5.stream() as stream,
    ):
        await stream.subscribe("account")
        await stream.subscribe("trades", channels=["positions", "orders", "deals"])
        await stream.subscribe("quotes", symbols=["EURUSD", "BTCUSD"])

        async def show() -> None:
            async for message in stream:
                kind = message["type"]
                if kind == "account":
                    print(f"balance {message['balance']} equity {message['equity']}")
                elif kind == "snapshot":
                    open_now = len(message.get("positions") or [])
                    print(f"snapshot at seq {message['seq']}: {open_now} open")
                elif kind == "event":
                    print(f"#{message['seq']} {message['event']} cause={message['cause']}")
                elif kind == "quote":
                    print(f"{message['symbol']} {message['bid']}/{message['ask']}")
                elif kind == "error":
                    print(f"error {message['code']}: {message['detail']}")

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(show(), seconds)


if __name__ == "__main__":
    asyncio.run(watch(float(sys.argv[1]) if len(sys.argv) > 1 else None))
