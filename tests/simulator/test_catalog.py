"""The demo/bench profiles, their printable summary and MT5 group matching."""

from simulator import constants as c
from simulator import flags as f
from simulator.catalog import bench_servers, demo_servers, describe
from simulator.groups import match_group


def test_demo_accounts_are_exactly_the_documented_ones():
    demo, live = demo_servers()
    assert (demo.name, demo.utc_offset_s, live.name, live.utc_offset_s) == (
        "Sim-Demo",
        7200,
        "Sim-Live",
        10800,
    )
    rows = [
        (a.login, a.margin_mode, a.currency, a.leverage, a.balance, a.password, a.investor_password)
        for a in demo.accounts + live.accounts
    ]
    hedging, netting = c.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING, c.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
    assert rows == [
        (10001, hedging, "USD", 100, 10000.0, "demo-10001", "investor-10001"),
        (10002, hedging, "EUR", 30, 5000.0, "demo-10002", "investor-10002"),
        (10003, netting, "USD", 100, 10000.0, "demo-10003", "investor-10003"),
        (20001, hedging, "USD", 100, 10000.0, "live-20001", "investor-20001"),
    ]
    assert demo.company == "Simulated Broker Ltd."


def test_demo_symbols_cover_every_execution_filling_and_trade_mode():
    demo, live = demo_servers()
    symbols = {s.name: s for s in demo.symbols}
    assert 20 <= len(symbols) <= 25
    assert {s.trade_exemode for s in demo.symbols} == {0, 1, 2, 3}
    assert {s.trade_mode for s in demo.symbols} == {0, 1, 3, 4}
    market = {s.filling_mode for s in demo.symbols if s.trade_exemode == 2}
    assert {f.SYMBOL_FILLING_FOK, f.SYMBOL_FILLING_IOC, 3} <= market
    assert symbols["EURUSD.ecn"].filling_mode == 3 and symbols["EURUSD.ecn"].trade_exemode == 2
    assert symbols["SIMX"].filling_mode == 0 and symbols["SIMX"].trade_exemode == 3
    assert symbols["SIMX"].chart_mode == c.SYMBOL_CHART_MODE_LAST
    assert symbols["XAUUSD"].trade_exemode == c.SYMBOL_TRADE_EXECUTION_INSTANT
    assert symbols["US500"].trade_exemode == c.SYMBOL_TRADE_EXECUTION_REQUEST
    assert symbols["US500"].trade_calc_mode == c.SYMBOL_CALC_MODE_CFD
    assert all(len(day) == 1 and day[0] == (0, 1440) for day in symbols["BTCUSD"].trade_sessions)
    assert any(s.trade_stops_level for s in demo.symbols)
    assert any(s.trade_freeze_level for s in demo.symbols)
    assert {s.name for s in live.symbols} < set(symbols)
    assert all(len(s.name) <= 29 for s in demo.symbols)


def test_bench_servers_add_accounts_and_symbols():
    demo, live = bench_servers(accounts=50, symbols=3000)
    logins = [a.login for a in demo.accounts]
    assert logins[:3] == [10001, 10002, 10003] and logins[3:] == list(range(30001, 30051))
    assert demo.accounts[-1].password == "bench-30050"
    assert len(demo.symbols) == len(demo_servers()[0].symbols) + 3000
    assert len({s.name for s in demo.symbols}) == len(demo.symbols)
    assert live == demo_servers()[1]


def test_describe_lists_servers_accounts_passwords_and_symbols():
    text = describe(demo_servers())
    for needle in (
        "Sim-Demo",
        "Sim-Live",
        "UTC+2",
        "UTC+3",
        "10002",
        "EUR",
        "1:30",
        "demo-10001",
        "investor-20001",
        "live-20001",
        "XAUUSD",
        "instant",
        "request",
        "exchange",
        "RETURN",
        "FOK|IOC",
        "close only",
        "disabled",
        "24/7",
        "Mon-Fri 01:00-23:00",
    ):
        assert needle in text, needle
    long = describe(bench_servers(accounts=100, symbols=500), max_rows=20)
    assert "more accounts" in long and "more symbols" in long


def test_match_group_syntax():
    assert match_group("EURUSD", "*")
    assert match_group("EURUSD", "EUR*") and not match_group("GBPUSD", "EUR*")
    assert match_group("eurusd", "EUR*")
    assert not match_group("EURUSD", "*,!*USD*")
    assert match_group("EURGBP", "*,!*USD*")
    assert not match_group("EURUSD", "*,!*USD*,!*EUR*")
    assert match_group("EURUSD", "!*USD*,EUR*")  # left to right: the later include wins
    assert match_group("USDJPY", "EUR*, *JPY")
    assert not match_group("XAUUSD", "EURUSD")
    assert match_group("US500", "US5*0")
    assert not match_group("EURUSD", "EUR")
    assert match_group("A.B", "A.B") and not match_group("AXB", "A.B")


# Every symbol the official documentation's examples name (python_metatrader5 pages).
DOCS_SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY", "USDCHF", "AUDUSD", "EURJPY", "GBPJPY", "EURCAD",
                "EURAUD", "EURGBP")  # fmt: skip


def test_demo_catalog_has_the_docs_symbols_and_a_suffix_variant():
    demo, _ = demo_servers()
    symbols = {s.name: s for s in demo.symbols}
    assert set(DOCS_SYMBOLS) <= set(symbols)
    suffixed = symbols["EURUSD.m"]
    assert (suffixed.currency_base, suffixed.currency_profit, suffixed.path) == (
        "EUR",
        "USD",
        "Forex\\EURUSD.m",
    )
    assert suffixed.feed == "EURUSD" and symbols["EURUSD.ecn"].feed == "EURUSD"


def test_majors_execute_as_the_docs_sample_shows():
    # The docs' symbol_info sample (EURJPY): trade_exemode=1 (Instant), filling_mode=1 (FOK).
    symbols = {s.name: s for s in demo_servers()[0].symbols}
    for name in ("EURUSD", "GBPUSD", "USDJPY", "USDCAD", "EURJPY", "GBPJPY", "EURCAD", "EURAUD",
                 "EURGBP", "EURUSD.m"):  # fmt: skip
        spec = symbols[name]
        assert (name, spec.trade_exemode, spec.filling_mode) == (name, 1, 1)
    assert (symbols["AUDUSD"].trade_exemode, symbols["AUDUSD"].filling_mode) == (2, 1)
    assert (symbols["USDCHF"].trade_exemode, symbols["USDCHF"].filling_mode) == (2, 2)


def test_synthetic_bench_symbols_keep_market_execution():
    demo, _ = bench_servers(accounts=1, symbols=3)
    synthetic = [s for s in demo.symbols if s.name.startswith("SYN")]
    assert [(s.trade_exemode, s.filling_mode) for s in synthetic] == [(2, 3)] * 3
