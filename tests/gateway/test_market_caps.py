"""Market data asks the terminal for no more than the answer needs (issue 8, items 2 and 4).

Against the real gateway and the real simulator terminal server: what the terminal was asked is
read from the gateway's ``/metrics`` (``gateway_mt5_call_seconds_count`` per MT5 function), and
the answers are compared with the terminal's own."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from helpers import FROZEN_MS, GatewayServer

OFFSET_MS = 7200 * 1000  # Sim-Demo runs at UTC+2 (conftest: server_utc_offsets)
NOW_S = FROZEN_MS // 1000
CALLS = re.compile(r'^gateway_mt5_call_seconds_count\{function="(\w+)"\} (\S+)$', re.M)


def terminal_calls(gateway: GatewayServer) -> dict[str, int]:
    text = httpx.get(f"{gateway.url}/metrics", timeout=30).text
    return {name: int(float(count)) for name, count in CALLS.findall(text)}


def asked(
    gateway: GatewayServer, request: Callable[[], httpx.Response]
) -> tuple[Any, dict[str, int]]:
    """The answer's JSON and how many calls of each MT5 function it took (health pings and
    other callers only ever use terminal_info, account_info and symbol_info_tick)."""
    before = terminal_calls(gateway)
    response = request()
    after = terminal_calls(gateway)
    assert response.status_code == 200, response.text
    used = {name: after[name] - before.get(name, 0) for name in after}
    return response.json(), {name: n for name, n in used.items() if n}


def test_ticks_from_a_date_ask_the_terminal_for_count_ticks_only(
    client: httpx.Client, gateway: GatewayServer, raw_terminal: Callable[..., Any]
) -> None:
    start, end = NOW_S - 30 * 86400, NOW_S  # a month of BTCUSD: over 800,000 ticks
    body, used = asked(
        gateway,
        lambda: client.get(
            "/api/v1/ticks/BTCUSD", params={"start_date": start, "end_date": end, "count": 5}
        ),
    )
    assert used.get("copy_ticks_from") == 1 and "copy_ticks_range" not in used, used
    first = raw_terminal("copy_ticks_from", "BTCUSD", start + 7200, 5, -1)
    assert [t["time_msc"] for t in body["data"]] == (first["time_msc"] - OFFSET_MS).tolist()
    assert body["count"] == 5


def test_latest_ticks_never_fetch_a_whole_range(
    client: httpx.Client, gateway: GatewayServer, raw_terminal: Callable[..., Any]
) -> None:
    body, used = asked(gateway, lambda: client.get("/api/v1/ticks/BTCUSD", params={"count": 3}))
    assert "copy_ticks_range" not in used and used.get("copy_ticks_from") == 1, used
    assert body["count"] == 3
    # Many ticks: the look-back window outgrows one call (60,000 ticks) and is narrowed down;
    # the answer is still exactly the newest `count` ticks.
    count = 30_000
    body, used = asked(gateway, lambda: client.get("/api/v1/ticks/BTCUSD", params={"count": count}))
    assert "copy_ticks_range" not in used, used
    to = raw_terminal("symbol_info_tick", "BTCUSD")["time"] + 1
    raw = raw_terminal("copy_ticks_range", "BTCUSD", to - 4 * 86400, to, -1)
    newest = (raw["time_msc"][-count:] - OFFSET_MS).tolist()
    assert [t["time_msc"] for t in body["data"]] == newest


def test_group_filters_are_bounded_before_the_terminal_sees_them(
    client: httpx.Client, gateway: GatewayServer
) -> None:
    refused = {  # group -> what the 422 says
        "*" * 200 + "X": "at most 32 '*' wildcards",  # 201 characters are fine, 200 stars not
        "*" * 33: "at most 32 '*' wildcards",
        ",".join(["EURUSD"] * 33): "at most 32 comma-separated parts",
        "A" * 257: "at most 256 characters",
    }
    before = terminal_calls(gateway).get("symbols_get", 0)
    for group, detail in refused.items():
        response = client.get("/api/v1/symbols", params={"group": group})
        assert response.status_code == 422, (group, response.text)
        assert response.json()["code"] == "VALIDATION_ERROR"
        assert detail in response.json()["detail"], response.json()
    assert terminal_calls(gateway).get("symbols_get", 0) == before
    at_limits = ",".join(["*USD*"] * 16)  # 32 stars, 16 parts, 95 characters
    body, used = asked(gateway, lambda: client.get("/api/v1/symbols", params={"group": at_limits}))
    assert used.get("symbols_get") == 1 and "EURUSD" in body["symbols"]
