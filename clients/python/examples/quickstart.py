"""Read an account the way seed 000's client did (health, account, balance and equity, positions,
orders, history, a symbol, server time, the snapshot), with the typed client.

    MT5GW_URL=http://127.0.0.1:8000 MT5GW_TOKEN=$(make -s token) python quickstart.py
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from mt5gw_client import Client, StaticToken, errors


def main() -> None:
    url = os.environ.get("MT5GW_URL", "http://127.0.0.1:8000")
    token = os.environ["MT5GW_TOKEN"]  # a Supabase access token; `make token` in development
    with Client(url, StaticToken(token)) as mt5:
        health = mt5.health()
        print(f"health: {health.status}")
        me = mt5.me()
        print(f"signed in as {me.email or me.id}")

        info = mt5.account_info()
        print(f"account {info.login} on {info.server}: {info.currency} {info.leverage}:1")
        print(f"balance {info.balance:.2f}  equity {info.equity:.2f}  free {info.free_margin:.2f}")

        positions = mt5.positions().positions
        print(f"{len(positions)} open position(s)")
        for p in positions:
            print(f"  #{p.ticket} {p.type} {p.volume} {p.symbol} @ {p.price_open} P/L {p.profit}")
        print(f"{len(mt5.orders().orders)} pending order(s)")

        week_ago = datetime.now(timezone.utc) - timedelta(days=7)
        deals = mt5.history_deals(week_ago).deals
        print(f"{len(deals)} deal(s) in the last 7 days")

        try:
            spec = mt5.symbol("EURUSD")
            print(f"EURUSD: {spec.digits} digits, contract size {spec.contract_size}")
        except errors.SymbolNotFound as exc:
            print(f"no EURUSD here: {exc.detail}")

        clock = mt5.server_time()
        print(f"server time basis: {clock.time_basis}")
        snapshot = mt5.snapshot()
        print(f"snapshot: {len(snapshot.positions)} position(s), {len(snapshot.orders)} order(s)")


if __name__ == "__main__":
    main()
