"""Scenario files (issue 14): accounts, symbols, recorded and seeded price paths, faults."""

from __future__ import annotations

import csv
import json
import random
import threading
from datetime import UTC, datetime

import numpy as np
import pytest

from simulator.module import make_module
from simulator.scenario import load_scenario
from simulator.terminal import SimulatedTerminal

START = "2026-11-25T12:00:00Z"  # a Wednesday; 14:00 on Sim-Demo (UTC+2)
START_MS = int(datetime(2026, 11, 25, 12, tzinfo=UTC).timestamp() * 1000)
SERVER_START_MS = START_MS + 7_200_000
LOGIN = {"login": 10001, "password": "demo-10001", "server": "Sim-Demo"}


def write_ticks(path, first_ms, count=600, seed=1):
    """A recorded EURUSD tick file (server time), starting ``first_ms``."""
    rng, t, bid, rows = random.Random(seed), first_ms, 1.16, []
    for _ in range(count):
        t += rng.randint(200, 3000)
        bid = round(bid + rng.choice((-2, -1, 1, 2)) * 0.00001, 5)
        rows.append((t, bid, round(bid + 0.00012, 5)))
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["time_msc", "bid", "ask", "last", "volume"])
        out.writerows([t, f"{b:.5f}", f"{a:.5f}", 0, 0] for t, b, a in rows)
    return rows


def started(scenario):
    world = scenario.world()
    terminal = SimulatedTerminal(world)
    scenario.start(terminal)
    mt5 = make_module(terminal)
    assert mt5.initialize() is True
    return world, mt5


def buy(mt5, symbol="EURUSD", volume=0.1):
    tick = mt5.symbol_info_tick(symbol)
    return mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume,
                           "type": mt5.ORDER_TYPE_BUY, "price": tick.ask})  # fmt: skip


def recorded_scenario(tmp_path):
    rows = write_ticks(tmp_path / "eurusd.csv", SERVER_START_MS - 5 * 60_000)
    data = {"start": START, "login": LOGIN, "prices": {"EURUSD": {"ticks_csv": "eurusd.csv"}}}
    (tmp_path / "incident.json").write_text(json.dumps(data))
    return load_scenario(tmp_path / "incident.json"), rows


def replay(scenario):
    """A bot's session: trade, let time pass, trade again; everything it saw."""
    world, mt5 = started(scenario)
    seen = [buy(mt5).price]
    for _ in range(4):
        world.clock.advance(150_000)
        seen.append(buy(mt5).price)
    (first, *_) = mt5.positions_get()
    seen.append(mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD",
                                "volume": 0.1, "type": mt5.ORDER_TYPE_SELL,
                                "position": first.ticket}).price)  # fmt: skip
    ticks = mt5.copy_ticks_range("EURUSD", 0, 2_000_000_000, mt5.COPY_TICKS_ALL)
    bars = mt5.copy_rates_range("EURUSD", mt5.TIMEFRAME_M1, 0, 2_000_000_000)
    deals = [(d.price, d.volume, d.type, d.time_msc) for d in mt5.history_deals_get(0, 2**31 - 1)]
    return seen, ticks, bars, deals


def test_recorded_ticks_replay_exactly_and_identically_on_every_run(tmp_path):
    scenario, rows = recorded_scenario(tmp_path)
    seen, ticks, bars, deals = replay(scenario)
    visible = [r for r in rows if r[0] <= SERVER_START_MS + 600_000]
    assert [(int(t["time_msc"]), float(t["bid"]), float(t["ask"])) for t in ticks] == visible
    first_minute = [r for r in visible if r[0] // 60_000 == visible[0][0] // 60_000]
    assert (bars[0]["open"], bars[0]["close"]) == (first_minute[0][1], first_minute[-1][1])
    assert bars[0]["high"] == max(r[1] for r in first_minute)
    # The first fill is at the recorded ask at the start.
    assert seen[0] == [r for r in rows if r[0] <= SERVER_START_MS][-1][2]
    again = replay(load_scenario(tmp_path / "incident.json"))
    assert again[0] == seen and again[3] == deals
    assert np.array_equal(again[1], ticks) and np.array_equal(again[2], bars)


def test_a_suffix_variant_follows_the_recording(tmp_path):
    scenario, _ = recorded_scenario(tmp_path)
    _, mt5 = started(scenario)
    plain, suffixed = mt5.symbol_info_tick("EURUSD"), mt5.symbol_info_tick("EURUSD.m")
    assert (plain.bid, plain.time_msc) == (suffixed.bid, suffixed.time_msc)


def test_recorded_bars_replay_their_ohlc(tmp_path):
    bars = [(SERVER_START_MS // 1000 - 600 + 60 * i, 1.1 + i / 1000, 1.102 + i / 1000,
             1.099 + i / 1000, 1.101 + i / 1000) for i in range(10)]  # fmt: skip
    with (tmp_path / "bars.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["time", "open", "high", "low", "close", "tick_volume", "spread"])
        out.writerows([*b, 50, 8] for b in bars)
    scenario = load_scenario(
        {"start": START, "login": LOGIN, "prices": {"GBPUSD": {"bars_csv": "bars.csv"}}}, tmp_path
    )
    _, mt5 = started(scenario)
    got = mt5.copy_rates_range("GBPUSD", mt5.TIMEFRAME_M1, 0, 2_000_000_000)
    assert [tuple(b)[:5] for b in got] == [tuple(round(v, 5) for v in b) for b in bars]
    assert set(got["spread"]) == {8}
    m5 = mt5.copy_rates_range("GBPUSD", mt5.TIMEFRAME_M5, 0, 2_000_000_000)
    assert (m5[0]["open"], m5[0]["high"], m5[0]["close"]) == (1.1, 1.106, 1.105)


def test_seeded_paths_with_price_drift_gaps_and_weekend_closes():
    gap_at = "2026-11-25T13:00:00Z"
    entry = {"name": "GER40", "kind": "index", "price": 24_000, "drift": 0.1,
             "volatility": 0.15, "sessions": "forex", "digits": 1}  # fmt: skip
    plain = load_scenario({"start": START, "login": LOGIN,
                           "servers": [{"name": "Sim-Demo", "symbols": [entry]}]})  # fmt: skip
    gap = {"gaps": [{"at": gap_at, "percent": -10}]}
    servers = [{"name": "Sim-Demo", "symbols": [entry | gap]}]
    gapped = load_scenario({"start": START, "login": LOGIN, "servers": servers})
    (w1, m1), (w2, m2) = started(plain), started(gapped)
    assert abs(m1.symbol_info_tick("GER40").bid / 24_000 - 1) < 0.1
    assert m1.symbol_info_tick("GER40").bid == m2.symbol_info_tick("GER40").bid  # before
    for world in (w1, w2):
        world.clock.advance(3_600_000 + 60_000)
    after1, after2 = m1.symbol_info_tick("GER40").bid, m2.symbol_info_tick("GER40").bid
    assert after2 == pytest.approx(after1 * 0.9, abs=0.2)
    saturday = int(datetime(2026, 11, 28, 12, tzinfo=UTC).timestamp() * 1000)
    w1.clock.set(saturday)
    assert m1.symbol_info_tick("GER40").time < saturday // 1000  # no weekend ticks
    assert buy(m1, "GER40", 1.0).retcode == m1.TRADE_RETCODE_MARKET_CLOSED


def test_accounts_and_symbol_settings():
    scenario = load_scenario({
        "start": START,
        "login": {"login": 50001, "password": "pw"},
        "servers": [{"name": "Sim-Demo", "accounts": [
            {"login": 50001, "password": "pw", "currency": "EUR", "leverage": 30,
             "balance": 2500, "type": "netting"}],
            "symbols": [{"name": "EURUSD", "execution": "market", "filling": ["IOC"],
                         "stops_level": 30, "swap_long": -9.5, "suffixes": [".pro"]}]}],
    })  # fmt: skip
    _, mt5 = started(scenario)
    account = mt5.account_info()
    assert (account.login, account.currency, account.leverage, account.balance) == (
        50001, "EUR", 30, 2500.0)  # fmt: skip
    assert account.margin_mode == mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
    for name in ("EURUSD", "EURUSD.pro"):
        info = mt5.symbol_info(name)
        assert (info.trade_exemode, info.filling_mode, info.trade_stops_level, info.swap_long) == (
            2, 2, 30, -9.5)  # fmt: skip
    assert mt5.symbol_info_tick("EURUSD.pro").bid == mt5.symbol_info_tick("EURUSD").bid
    refused = buy(mt5)  # FOK (0) on an IOC-only market symbol
    assert refused.retcode == mt5.TRADE_RETCODE_INVALID_FILL


def test_scheduled_requote_disconnect_and_retcode():
    scenario = load_scenario({"start": START, "login": LOGIN, "faults": [
        {"at": "2026-11-25T12:05:00Z", "fault": "requote"},
        {"at": "2026-11-25T12:10:00Z", "fault": "disconnect", "seconds": 60},
        {"at": "2026-11-25T12:20:00Z", "fault": "retcode", "retcode": 10006}]})  # fmt: skip
    world, mt5 = started(scenario)
    assert buy(mt5).retcode == 10009
    world.clock.advance(5 * 60_000)
    assert (buy(mt5).retcode, buy(mt5).retcode) == (10004, 10009)  # once
    world.clock.advance(5 * 60_000)
    assert mt5.terminal_info().connected is False
    assert mt5.symbol_info_tick("EURUSD") is None  # no quotes without the broker
    offline = {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1, "price": 1.16}
    assert mt5.order_send(offline).retcode == mt5.TRADE_RETCODE_CONNECTION
    world.clock.advance(60_000)
    assert mt5.terminal_info().connected is True and buy(mt5).retcode == 10009
    world.clock.advance(10 * 60_000)
    assert buy(mt5).retcode == 10006


def test_scheduled_timeout_after_execute_executes_before_answering():
    scenario = load_scenario({"start": START, "login": LOGIN, "faults": [
        {"at": START, "fault": "timeout_after_execute", "seconds": 3}]})  # fmt: skip
    world, mt5 = started(scenario)
    observer = SimulatedTerminal(world)
    observer.start_logged_in(10001, "demo-10001")
    watcher = make_module(observer)
    assert watcher.initialize()
    answer = []
    sender = threading.Thread(target=lambda: answer.append(buy(mt5)))
    sender.start()
    while not watcher.positions_get():  # executed ...
        assert sender.is_alive() or answer
    assert sender.is_alive() and not answer  # ... and not answered yet
    sender.join(timeout=30)
    assert answer[0].retcode == 10009


def test_reset_applies_scheduled_faults_again():
    scenario = load_scenario({"start": START, "login": LOGIN,
                              "faults": [{"at": START, "fault": "requote"}]})  # fmt: skip
    world = scenario.world()
    terminal = SimulatedTerminal(world)
    scenario.start(terminal)
    mt5 = make_module(terminal)
    assert mt5.initialize()
    assert buy(mt5).retcode == 10004
    terminal.controls.reset()
    assert buy(mt5).retcode == 10004


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bogus": 1}, "unknown scenario keys"),
        ({"servers": [{"name": "Sim-Demo", "symbols": [{"name": "X1"}]}]}, "needs 'like'"),
        (
            {"servers": [{"name": "Sim-Demo", "symbols": [{"name": "EURUSD", "filling": ["X"]}]}]},
            "filling",
        ),
        ({"faults": [{"at": START, "fault": "meteor"}]}, "unknown fault"),
        (
            {"servers": [{"name": "Sim-Demo", "accounts": [{"login": 10001, "password": "x"}]}]},
            "appears twice",
        ),
        ({"prices": {"EURUSD": {"ticks_csv": "missing.csv"}}}, "missing.csv"),
    ],
)
def test_bad_scenarios_say_what_is_wrong(data, message, tmp_path):
    with pytest.raises((ValueError, OSError), match=message):
        load_scenario(data, tmp_path)


def test_yaml_needs_pyyaml_or_loads(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("seed: 9\nstart: 2026-11-25T12:00:00Z\n")
    try:
        import yaml  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="PyYAML"):
            load_scenario(path)
    else:
        assert load_scenario(path).seed == 9
