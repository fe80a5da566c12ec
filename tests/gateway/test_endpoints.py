"""Every read endpoint against the real simulator, with the seed contract shapes exactly.

The simulator's clock is frozen (conftest.FROZEN_MS), so the terminal's answers are fixed; the
gateway's answers are checked against the same data read straight from the terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from helpers import FROZEN_MS

from gateway.market.schemas import MarketDataResponse, RangeResponse, TicksResponse

OFFSET = 7200  # Sim-Demo, configured in conftest
SEED_ACCOUNT = {
    "login",
    "balance",
    "equity",
    "margin",
    "free_margin",
    "margin_level",
    "profit",
    "server",
    "currency",
    "leverage",
    "company",
}
SEED_POSITION = {
    "ticket",
    "symbol",
    "type",
    "volume",
    "price_open",
    "price_current",
    "profit",
    "swap",
    "time_open",
    "comment",
}
SEED_BAR = {"time", "open", "high", "low", "close", "volume"}


def test_health_is_public(gateway: Any) -> None:
    body = httpx.get(f"{gateway.url}/health").json()
    assert body["status"] == "healthy"
    assert body["mt5_available"] is True and body["mt5_connected"] is True
    assert body["account"] == 10001
    assert body["terminals"][0]["server"] == "Sim-Demo"
    assert httpx.get(f"{gateway.url}/health/ready").status_code == 200


def test_account_info_seed_fields(client: httpx.Client, raw_terminal: Callable[..., Any]) -> None:
    body = client.get("/api/v1/account/info").json()
    assert body.keys() >= SEED_ACCOUNT
    raw = raw_terminal("account_info")
    assert body["login"] == 10001 and body["server"] == "Sim-Demo" and body["currency"] == "USD"
    assert body["balance"] == raw["balance"] == 10000.0
    assert body["free_margin"] == raw["margin_free"]
    assert body["leverage"] == 100 and body["company"] == raw["company"]
    assert body["margin_mode"] == "hedging" and body["trade_mode"] == "demo"


def test_balance_equity_snapshot(client: httpx.Client) -> None:
    assert client.get("/api/v1/balance").json() == {
        "login": 10001,
        "balance": 10000.0,
        "credit": 0.0,
        "currency": "USD",
    }
    equity = client.get("/api/v1/equity").json()
    assert equity["equity"] == 10000.0 and equity["free_margin"] == 10000.0
    snap = client.get("/api/v1/snapshot").json()
    assert snap["account"]["login"] == 10001
    assert snap["positions"] == [] and snap["orders"] == []
    assert snap["time_basis"] == "utc" and snap["server_utc_offset_s"] == OFFSET


def test_symbols_and_group(client: httpx.Client, raw_terminal: Callable[..., Any]) -> None:
    body = client.get("/api/v1/symbols").json()
    assert body["symbols"] == [s["name"] for s in raw_terminal("symbols_get")]
    assert "EURUSD" in body["symbols"] and body["count"] == len(body["symbols"])
    assert body.get("specs") is None  # the seed answer: names only
    usd = client.get("/api/v1/symbols", params={"group": "*USD*,!EUR*"}).json()["symbols"]
    assert usd and all("USD" in s and not s.startswith("EUR") for s in usd)
    detailed = client.get("/api/v1/symbols", params={"details": "true"}).json()
    assert detailed["symbols"] == body["symbols"]
    assert [s["name"] for s in detailed["specs"]] == body["symbols"]
    one = client.get("/api/v1/symbols/EURUSD").json()
    listed = detailed["specs"][body["symbols"].index("EURUSD")]
    assert {k: v for k, v in one.items() if k in listed and k not in ("bid", "ask", "time")} == {
        k: v for k, v in listed.items() if k not in ("bid", "ask", "time")
    }


def test_symbol_spec(client: httpx.Client, raw_terminal: Callable[..., Any]) -> None:
    spec = client.get("/api/v1/symbols/EURUSD").json()
    raw = raw_terminal("symbol_info", "EURUSD")
    assert spec["name"] == "EURUSD" and spec["digits"] == raw["digits"]
    assert spec["execution_mode"] == "instant"  # majors as the docs' sample: instant, FOK
    assert spec["filling_modes"] == ["fok"] and spec["market_order_filling"] == ["fok"]
    ecn = client.get("/api/v1/symbols/EURUSD.ecn").json()
    assert ecn["execution_mode"] == "market" and ecn["market_order_filling"] == ["fok", "ioc"]
    assert spec["volume_min"] == raw["volume_min"] and spec["volume_step"] == raw["volume_step"]
    assert spec["stops_level"] == raw["trade_stops_level"]
    assert spec["trade_mode"] == "full"
    assert spec["time"] == raw["time"] - OFFSET
    aud = client.get("/api/v1/symbols/AUDUSD").json()
    assert aud["filling_modes"] == ["fok"]
    xau = client.get("/api/v1/symbols/XAUUSD").json()
    assert xau["execution_mode"] == "instant" and xau["market_order_filling"] == ["fok"]


def test_tick(client: httpx.Client, raw_terminal: Callable[..., Any]) -> None:
    tick = client.get("/api/v1/symbols/EURUSD/tick").json()
    raw = raw_terminal("symbol_info_tick", "EURUSD")
    assert tick["bid"] == raw["bid"] and tick["ask"] == raw["ask"]
    assert tick["time"] == raw["time"] - OFFSET
    assert tick["time_msc"] == raw["time_msc"] - OFFSET * 1000
    assert tick["time_msc"] <= FROZEN_MS  # true UTC, not after the frozen instant


def test_market_data_seed_shape(client: httpx.Client, raw_terminal: Callable[..., Any]) -> None:
    body = client.get("/api/v1/market-data/EURUSD", params={"timeframe": "H1", "bars": 5}).json()
    assert {"symbol", "timeframe", "count", "data"} <= body.keys()
    assert body["symbol"] == "EURUSD" and body["timeframe"] == "H1" and body["count"] == 5
    MarketDataResponse.model_validate(body, strict=True)  # the prebuilt body keeps its schema
    assert all(bar.keys() >= SEED_BAR for bar in body["data"])
    raw = raw_terminal("copy_rates_from_pos", "EURUSD", 16385, 0, 5)
    assert [b["time"] for b in body["data"]] == [int(t) - OFFSET for t in raw["time"]]
    assert [b["close"] for b in body["data"]] == raw["close"].tolist()
    assert [b["volume"] for b in body["data"]] == raw["tick_volume"].tolist()
    # frozen at 12:00:00.000 UTC: no tick in the 12:00 bar yet, so the newest bar is 11:00 UTC
    assert body["data"][-1]["time"] == FROZEN_MS // 1000 - 3600
    default = client.get("/api/v1/market-data/EURUSD").json()
    assert default["timeframe"] == "H1" and default["count"] == 100


def test_every_timeframe(client: httpx.Client) -> None:
    names = [
        "M1",
        "M2",
        "M3",
        "M4",
        "M5",
        "M6",
        "M10",
        "M12",
        "M15",
        "M20",
        "M30",
        "H1",
        "H2",
        "H3",
        "H4",
        "H6",
        "H8",
        "H12",
        "D1",
        "W1",
        "MN1",
    ]
    for name in names:
        body = client.get("/api/v1/market-data/BTCUSD", params={"timeframe": name, "bars": 2})
        assert body.status_code == 200, (name, body.text)
        assert body.json()["timeframe"] == name and body.json()["count"] == 2


def test_range_iso_and_epoch_and_chunking(client: httpx.Client) -> None:
    iso = client.get(
        "/api/v1/market-data/EURUSD/range",
        params={
            "timeframe": "H1",
            "start_date": "2025-11-24T00:00:00Z",
            "end_date": "2025-11-24T05:00:00Z",
        },
    ).json()
    assert [b["time"] for b in iso["data"]] == [1763942400 + 3600 * i for i in range(6)]
    epoch = client.get(
        "/api/v1/market-data/EURUSD/range",
        params={"timeframe": "H1", "start_date": "1763942400", "end_date": "1763960400"},
    ).json()
    assert epoch["data"] == iso["data"]
    RangeResponse.model_validate(iso, strict=True)
    # 25,000 M1 bars' worth of time: three terminal calls, stitched without gaps or repeats
    wide = client.get(
        "/api/v1/market-data/BTCUSD/range",
        params={
            "timeframe": "M1",
            "start_date": "2025-11-08T00:00:00Z",
            "end_date": "2025-11-25T08:39:00Z",
        },
    ).json()
    times = [b["time"] for b in wide["data"]]
    assert times == sorted(set(times)) and wide["count"] == len(times) > 20_000


def test_ticks_by_count_and_range(client: httpx.Client) -> None:
    latest = client.get("/api/v1/ticks/EURUSD", params={"count": 50}).json()
    assert latest["count"] == 50
    TicksResponse.model_validate(latest, strict=True)
    times = [t["time_msc"] for t in latest["data"]]
    assert times == sorted(times) and times[-1] <= FROZEN_MS
    start = latest["data"][0]["time"]
    frm = client.get("/api/v1/ticks/EURUSD", params={"start_date": start, "count": 10}).json()
    assert frm["count"] == 10 and frm["data"][0]["time"] >= start
    ranged = client.get(
        "/api/v1/ticks/EURUSD",
        params={"start_date": start, "end_date": latest["data"][-1]["time"] + 1, "count": 100000},
    ).json()
    assert ranged["data"][-50:] == latest["data"]  # the same ticks, whichever way they are asked


def test_positions_orders_history(client: httpx.Client, raw_terminal: Callable[..., Any]) -> None:
    request = {
        "action": 1,
        "symbol": "EURUSD",
        "volume": 0.1,
        "price": raw_terminal("symbol_info_tick", "EURUSD")["ask"],  # instant execution
        "type": 0,
        "type_filling": 0,
        "deviation": 10,
        "magic": 7,
        "comment": "API Trade",
    }
    sent = raw_terminal("order_send", request)
    assert sent["retcode"] == 10009
    try:
        body = client.get("/api/v1/positions").json()
        position = next(p for p in body["positions"] if p["ticket"] == sent["order"])
        assert position.keys() >= SEED_POSITION
        assert position["type"] == "buy" and position["volume"] == 0.1
        assert position["comment"] == "API Trade"
        assert position["time_open"] == FROZEN_MS // 1000
        assert (
            client.get("/api/v1/positions", params={"symbol": "GBPUSD"}).json()["positions"] == []
        )
        by_ticket = client.get("/api/v1/positions", params={"ticket": sent["order"]}).json()
        assert [p["ticket"] for p in by_ticket["positions"]] == [sent["order"]]
        deals = client.get("/api/v1/history/deals").json()["deals"]
        assert deals[0]["type"] == "balance" and deals[0]["profit"] == 10000.0
        mine = client.get("/api/v1/history/deals", params={"position": sent["order"]}).json()
        assert [d["entry"] for d in mine["deals"]] == ["in"]
        one = client.get("/api/v1/history/deals", params={"ticket": sent["deal"]}).json()
        assert [d["ticket"] for d in one["deals"]] == [sent["deal"]]
        by_order = client.get("/api/v1/history/orders", params={"ticket": sent["order"]}).json()
        assert by_order["orders"][0]["state"] == "filled"
        ranged = client.get(
            "/api/v1/history/orders",
            params={"start_date": "2025-11-25T11:00:00Z", "end_date": "2025-11-25T12:00:00Z"},
        ).json()
        assert sent["order"] in [o["ticket"] for o in ranged["orders"]]
        assert client.get("/api/v1/orders").json()["orders"] == []
    finally:
        raw_terminal("order_send", {**request, "type": 1, "position": sent["order"]})


def test_server_time(client: httpx.Client) -> None:
    body = client.get("/api/v1/server-time").json()
    assert body["server"] == "Sim-Demo" and body["offset_source"] == "configured"
    assert body["server_time"] - body["time"] == OFFSET and body["time_basis"] == "utc"


def test_large_answers_are_gzipped_when_accepted_small_ones_never(client: httpx.Client) -> None:
    bars = {"timeframe": "H1", "bars": 2000}
    zipped = client.get("/api/v1/market-data/EURUSD", params=bars,
                        headers={"Accept-Encoding": "gzip"})  # fmt: skip
    plain = client.get("/api/v1/market-data/EURUSD", params=bars,
                       headers={"Accept-Encoding": "identity"})  # fmt: skip
    assert zipped.status_code == plain.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert zipped.json() == plain.json()  # httpx decodes the gzip body
    assert int(zipped.headers["content-length"]) * 4 < len(plain.content)
    small = client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert len(small.content) < 1024 and "content-encoding" not in small.headers
