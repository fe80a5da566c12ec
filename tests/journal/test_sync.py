"""Journal sync against the simulator, on SQLite and PostgreSQL: a scripted sequence of trades
(partial closes, close-by, a netting reversal, SL and TP hits) gives exactly the trades the rules
say, with the figures of the deals they come from; repeated, concurrent and interrupted syncs
neither duplicate nor lose a row."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
from conftest import token_of
from trading_support import Api, ok

from gateway.db import make_engine, make_sessionmaker, session_scope
from gateway.journal import store


def sync(api: Api, account: str) -> dict[str, Any]:
    answer: dict[str, Any] = ok(api.http.post(f"/accounts/{account}/sync"))
    return answer


def journal(api: Api, account: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = ok(api.http.get(f"/accounts/{account}/trades", params=query))
        rows += page["trades"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def script_hedging(api: Api, control: Any, before: set[int]) -> set[int]:
    """Six trades on the hedging account; the tickets of their closing deals (those not in
    ``before``)."""
    a = ok(api.trade("EURUSD", "buy", 1.0))["ticket"]
    ok(api.delete(f"/positions/{a}", params={"volume": 0.4}))
    ok(api.delete(f"/positions/{a}"))
    b = ok(api.trade("GBPUSD", "buy", 0.5))["ticket"]
    c = ok(api.trade("GBPUSD", "sell", 0.5))["ticket"]
    ok(api.post(f"/positions/{b}/close-by", {"opposite": c}))
    control.push_price(server="Sim-Demo", symbol="USDJPY", bid=150.0, ask=150.01)
    ok(api.trade("USDJPY", "buy", 0.2, stop_loss=149.5))
    ok(api.trade("USDJPY", "sell", 0.3, take_profit=149.0))
    control.push_price(server="Sim-Demo", symbol="USDJPY", bid=148.9, ask=148.91)  # SL and TP
    assert api.positions() == []
    deals = api.history_deals()
    return {d["ticket"] for d in deals if d["entry"] in ("out", "out_by", "inout")} - before


def balance_ops(url: str, account: str) -> list[dict[str, Any]]:
    """The account's rows of the journal's balance-operations table, oldest first."""

    async def read() -> list[dict[str, Any]]:
        engine = make_engine(url)
        try:
            async with session_scope(make_sessionmaker(engine)) as session:
                return [
                    {"deal": o.deal, "kind": o.kind, "amount": o.amount, "time": o.time}
                    for o in await store.balance_ops(session, account, None)
                ]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def stop_out(api: Api, control: Any) -> dict[str, Any]:
    """5 lots of EURUSD bought, then the price pushed down until the margin level is about
    15 % (under the 30 % stop-out level): the broker closes the position. Its closing deal."""
    control.push_price(server="Sim-Demo", symbol="EURUSD", bid=1.1, ask=1.1001)
    ok(api.trade("EURUSD", "buy", 5.0))
    info = ok(api.get("/account/info"))
    loss = info["balance"] - 0.15 * info["margin"]  # equity left at a 15 % margin level
    bid = round(1.1001 - loss / 500_000, 5)  # 5 lots of 100 000: 500 000 per unit of price
    control.push_price(server="Sim-Demo", symbol="EURUSD", bid=bid, ask=bid + 0.0001)
    assert api.positions() == []
    (deal,) = [d for d in api.history_deals() if d["reason"] == "so"]
    assert deal["entry"] == "out" and deal["volume"] == 5.0
    return dict(deal)


def test_journal_sync_end_to_end(store_api: Api, store_gateway: Any, jwks: Any) -> None:
    """One history, built step by step (the world is not reset between steps: MT5 never
    reuses a ticket, and neither may this test)."""
    hedging, netting = store_gateway.ids.hedging, store_gateway.ids.netting
    closing = script_hedging(store_api, store_gateway.control, set())
    first = sync(store_api, hedging)
    assert (first["synced"], first["skipped"], first["errors"]) == (6, 0, [])
    rows = journal(store_api, hedging)
    assert len(rows) == 6 and {r["close_deal"] for r in rows} == closing
    deals = {d["ticket"]: d for d in store_api.history_deals()}
    for row in rows:
        deal = deals[row["close_deal"]]
        assert row["id"] == f"mt5_{deal['position_id']}_{deal['ticket']}"
        assert (row["profit"], row["close_price"], row["swap"], row["volume"]) == (
            deal["profit"], deal["price"], deal["swap"], deal["volume"])  # fmt: skip
    # API orders are experts
    assert sorted(r["reason"] for r in rows) == ["expert"] * 4 + ["sl", "tp"]
    assert sorted(r["volume"] for r in rows if r["symbol"] == "EURUSD") == [0.4, 0.6]
    assert sorted(r["side"] for r in rows if r["symbol"] == "GBPUSD") == ["buy", "sell"]
    again = sync(store_api, hedging)  # the same second (frozen clock): found again, added never
    assert again["synced"] == 0 and len(journal(store_api, hedging)) == 6

    # a netting reversal: 1.0 bought, 1.5 sold (closes 1.0, opens 0.5 the other way), closed
    ok(store_api.trade("EURUSD", "buy", 1.0, account=netting))
    ok(store_api.trade("EURUSD", "sell", 1.5, account=netting))
    (position,) = store_api.positions(account_id=netting)
    assert position["type"] == "sell" and position["volume"] == 0.5
    ok(store_api.delete(f"/positions/{position['ticket']}", account=netting))
    assert sync(store_api, netting)["synced"] == 2
    net_rows = sorted(journal(store_api, netting), key=lambda r: r["close_deal"])
    assert [(r["side"], r["volume"]) for r in net_rows] == [("buy", 1.0), ("sell", 0.5)]
    assert net_rows[1]["open_price"] == net_rows[0]["close_price"]  # reopened at that price

    # four syncs at once over six new trades: each trade once
    more = script_hedging(store_api, store_gateway.control, closing)
    results: list[dict[str, Any]] = []

    def run() -> None:
        with httpx.Client(base_url=store_api.http.base_url, headers=store_api.http.headers,
                          timeout=60) as http:  # fmt: skip
            results.append(ok(http.post(f"/accounts/{hedging}/sync")))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and sum(r["synced"] for r in results) == 6
    rows = journal(store_api, hedging)
    assert len(rows) == 12 and {r["close_deal"] for r in rows} == closing | more

    # filters, pages, CSV, statistics, and nobody else's
    assert {r["symbol"] for r in journal(store_api, hedging, symbol="GBPUSD")} == {"GBPUSD"}
    assert len(journal(store_api, hedging, side="sell")) == 4  # close-by sells + the TP sells
    assert len(journal(store_api, hedging, limit=1)) == 12  # paged one by one
    csv = store_api.http.get(f"/accounts/{hedging}/trades", headers={"Accept": "text/csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == 13  # header + 12
    stats = ok(store_api.http.get(f"/accounts/{hedging}/stats", params={"group_by": "symbol"}))
    nets = [r["net"] for r in rows]
    assert stats["overall"]["trades"] == 12
    assert stats["overall"]["net"] == pytest.approx(sum(nets))
    assert stats["overall"]["wins"] == sum(1 for n in nets if n > 0)
    assert {g["key"] for g in stats["groups"]} == {"EURUSD", "GBPUSD", "USDJPY"}
    # money in, a stop-out, money out: one more trade (reason "so"), two balance operations
    ops = balance_ops(store_gateway.url, hedging)
    assert [(o["kind"], o["amount"]) for o in ops] == [("balance", 10000.0)]  # initial deposit
    deposit = store_gateway.control.deposit(amount=5000.0, login=10001, server="Sim-Demo")
    stopped = stop_out(store_api, store_gateway.control)
    withdrawal = store_gateway.control.withdraw(amount=100.0, login=10001, server="Sim-Demo")
    done = sync(store_api, hedging)
    # the clock is frozen: every deal is in the cursor's own second, read again and skipped
    assert (done["synced"], done["skipped"], done["errors"], done["balance_ops"]) == (1, 12, [], 2)
    ops = balance_ops(store_gateway.url, hedging)
    assert [(o["deal"], o["kind"], o["amount"]) for o in ops[1:]] == [
        (deposit["ticket"], "balance", 5000.0),
        (withdrawal["ticket"], "balance", -100.0),
    ]
    (so,) = [r for r in journal(store_api, hedging) if r["reason"] == "so"]
    assert (so["close_deal"], so["volume"], so["profit"]) == (
        stopped["ticket"], 5.0, stopped["profit"])  # fmt: skip
    assert len(journal(store_api, hedging)) == 13 and sync(store_api, hedging)["synced"] == 0
    assert balance_ops(store_gateway.url, hedging) == ops  # nothing twice
    stats = ok(store_api.http.get(f"/accounts/{hedging}/stats"))
    assert stats["overall"]["trades"] == 13

    other = {"Authorization": f"Bearer {token_of(jwks, 'someone-else')}"}
    for path in ("trades", "stats", "sync"):
        answer = store_api.http.get(f"/accounts/{hedging}/{path}", headers=other)
        assert answer.status_code == 404, answer.text
    assert store_api.http.post(f"/accounts/{hedging}/sync", headers=other).status_code == 404


BAD = [
    {"from": "yesterday"},
    {"cursor": "!!"},
    {"limit": 0},
    {"side": "long"},
    {"from": "2026-02-01", "to": "2026-01-01"},
]


@pytest.mark.parametrize("bad", BAD)
def test_bad_queries_are_4xx(store_api: Api, store_gateway: Any, bad: dict[str, Any]) -> None:
    answer = store_api.http.get(f"/accounts/{store_gateway.ids.hedging}/trades", params=bad)
    assert answer.status_code == 422, answer.text
