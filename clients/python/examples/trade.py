"""Open, adjust and close a position, with safe retries and typed errors.

Every trade call carries an Idempotency-Key; if the answer is lost the client asks again with
the same key, so the order runs once. A refusal (no money, market closed...) is raised as its
own exception and never re-sent by the client.

    MT5GW_URL=http://127.0.0.1:8000 MT5GW_TOKEN=$(make -s token) python trade.py BTCUSD 0.01
"""

from __future__ import annotations

import os
import sys

from mt5gw_client import Client, StaticToken, errors


def main(symbol: str = "BTCUSD", volume: float = 0.01) -> int:
    url = os.environ.get("MT5GW_URL", "http://127.0.0.1:8000")
    with Client(url, StaticToken(os.environ["MT5GW_TOKEN"])) as mt5:
        try:
            opened = mt5.place_trade(symbol, "buy", volume, comment="example")
        except errors.MarketClosed as exc:
            print(f"market closed: {exc.detail}")
            return 1
        except errors.TradeRejected as exc:
            again = "may work if sent again" if exc.retryable else "will not work as it is"
            print(f"refused {exc.code} (retcode {exc.retcode}): {exc.detail}; {again}")
            return 1
        print(f"opened #{opened.ticket}: {opened.volume} {symbol} at {opened.price}")

        stop = round(opened.price * 0.9, 2)
        changed = mt5.modify_position(opened.ticket, stop_loss=stop)
        print(f"stop loss set to {stop}: {changed.message}")

        closed = mt5.close_position(opened.ticket)
        print(f"closed #{opened.ticket} at {closed.price}")
        return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0], float(args[1])) if len(args) == 2 else main())
