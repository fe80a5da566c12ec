"""The simulated MetaTrader5 module: calling rules, last_error, results and wiring.

The broker's trading rules are tested in depth in test_broker.py; here we test what the API
layer owns (mt5-api-facts.md §1, §2.1, §6.8, §6.10, §6.11) against a real World.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import numpy as np
import pytest

import simulator.terminal as terminal_module
from simulator.__main__ import main as cli_main
from simulator.module import make_module
from simulator.structs import (
    RATES_DTYPE,
    STRUCT_FIELDS,
    STRUCT_KINDS,
    STRUCT_TYPES,
    TICKS_DTYPE,
    TradeRequest,
)
from simulator.terminal import BUILD, TERMINAL_NAME, SimulatedTerminal
from simulator.world import World

# Wednesday 2024-03-13 12:00 UTC = 14:00 server time on Sim-Demo: forex is quoting.
NOW_MS = int(datetime(2024, 3, 13, 12, 0, tzinfo=UTC).timestamp() * 1000)
SERVER_NOW_S = NOW_MS // 1000 + 7200
DEMO = {"login": 10001, "password": "demo-10001", "server": "Sim-Demo"}
OK = (1, "Success")
NO_IPC = (-10004, "No IPC connection")
CALL_FAILED = (-1, "Terminal: Call failed")
AUTH_FAILED = (-6, "Terminal: Authorization failed")


@pytest.fixture
def world():
    w = World()
    w.clock.freeze(NOW_MS)
    return w


@pytest.fixture
def term(world):
    return SimulatedTerminal(world)


@pytest.fixture
def mt5(term):
    module = make_module(term)
    assert module.initialize(**DEMO) is True
    return module


@pytest.fixture
def broker(world):
    return world.brokers["Sim-Demo"]


# structs.STRUCT_KINDS marks TradeRequest.deviation as a float; the package has a u64 (int).
KINDS = STRUCT_KINDS


def assert_struct(value, name):
    """Exact type, field order and the Python type of every field."""
    assert type(value) is STRUCT_TYPES[name]
    assert tuple(value._asdict()) == STRUCT_FIELDS[name]
    for field, kind, item in zip(STRUCT_FIELDS[name], KINDS[name], value, strict=True):
        expected = {"i": int, "f": float, "b": bool, "s": str, "r": TradeRequest}[kind]
        assert type(item) is expected, (name, field, type(item))


def buy(mt5, symbol="EURUSD", volume=0.1, **extra):
    tick = mt5.symbol_info_tick(symbol)
    request = {
        "action": mt5.TRADE_ACTION_DEAL,
        "symbol": symbol,
        "volume": volume,
        "type": mt5.ORDER_TYPE_BUY,
        "price": tick.ask,
        "deviation": 10,
        "type_filling": mt5.ORDER_FILLING_FOK,
    }
    return mt5.order_send(request | extra)


# ---------------------------------------------------------------------- connection


def test_before_initialize_everything_fails_with_no_ipc(term):
    mt5 = make_module(term)
    assert mt5.last_error() == OK
    calls = [
        (mt5.version, (), None),
        (mt5.account_info, (), None),
        (mt5.terminal_info, (), None),
        (mt5.symbols_total, (), None),
        (mt5.symbols_get, (), None),
        (mt5.symbol_info, ("EURUSD",), None),
        (mt5.symbol_info_tick, ("EURUSD",), None),
        (mt5.symbol_select, ("EURUSD",), False),
        (mt5.market_book_add, ("EURUSD",), False),
        (mt5.market_book_get, ("EURUSD",), None),
        (mt5.market_book_release, ("EURUSD",), False),
        (mt5.copy_rates_from_pos, ("EURUSD", 1, 0, 10), None),
        (mt5.orders_total, (), None),
        (mt5.orders_get, (), None),
        (mt5.positions_total, (), None),
        (mt5.positions_get, (), None),
        (mt5.history_deals_total, (0, SERVER_NOW_S), None),
        (mt5.order_send, ({"action": 1},), None),
        (mt5.order_check, ({"action": 1},), None),
        (mt5.login, (10001, "demo-10001"), False),
        (mt5.order_calc_margin, (0, "EURUSD", 1.0, 1.1), None),
    ]
    for fn, args, failure in calls:
        assert fn(*args) is failure, fn.__name__
        assert mt5.last_error() == NO_IPC, fn.__name__
    assert mt5.shutdown() is None
    assert mt5.last_error() == OK


def test_shutdown_closes_ipc_and_initialize_reopens_it(mt5):
    assert mt5.account_info().login == 10001
    assert mt5.shutdown() is None
    assert mt5.account_info() is None
    assert mt5.last_error() == NO_IPC
    assert mt5.initialize() is True  # the terminal still holds the account
    assert mt5.account_info().login == 10001


def test_noargs_functions_raise_type_error(mt5):
    for name in (
        "version",
        "last_error",
        "account_info",
        "terminal_info",
        "symbols_total",
        "orders_total",
        "positions_total",
        "shutdown",
    ):
        fn = getattr(mt5, name)
        with pytest.raises(TypeError, match="takes no arguments"):
            fn(1)
        with pytest.raises(TypeError, match="takes no keyword arguments"):
            fn(x=1)
    assert mt5.account_info() is not None  # nothing was shut down by the raising calls


def test_positional_functions_reject_keywords(mt5):
    cases = {
        "symbol_info": {"symbol": "EURUSD"},
        "symbol_info_tick": {"symbol": "EURUSD"},
        "symbol_select": {"symbol": "EURUSD"},
        "market_book_add": {"symbol": "EURUSD"},
        "market_book_get": {"symbol": "EURUSD"},
        "market_book_release": {"symbol": "EURUSD"},
        "copy_rates_from": {"symbol": "EURUSD"},
        "copy_rates_from_pos": {"count": 1},
        "copy_rates_range": {"timeframe": 1},
        "copy_ticks_from": {"flags": 1},
        "copy_ticks_range": {"flags": 1},
        "order_calc_margin": {"action": 0},
        "order_calc_profit": {"action": 0},
        "history_orders_total": {"date_from": 0},
        "history_deals_total": {"date_to": 0},
    }
    for name, kwargs in cases.items():
        with pytest.raises(TypeError, match=f"{name}\\(\\) takes no keyword arguments"):
            getattr(mt5, name)(**kwargs)


def test_every_call_resets_last_error(mt5):
    assert mt5.symbol_info("NOPE") is None
    assert mt5.last_error() == CALL_FAILED
    assert mt5.last_error() == CALL_FAILED  # last_error itself does not reset
    assert mt5.version() is not None
    assert mt5.last_error() == OK


def test_initialize_argument_rules(term):
    mt5 = make_module(term)
    assert mt5.initialize("a", "b") is False
    assert mt5.last_error() == (-2, "Invalid number of arguments")
    assert mt5.initialize(5) is False
    assert mt5.last_error() == (-2, "Invalid 1st unnamed argument")
    assert mt5.initialize(login="10001") is False
    assert mt5.last_error() == (-2, 'Invalid "login" argument')
    assert mt5.initialize(login=10001, password=5) is False
    assert mt5.last_error() == (-2, 'Invalid "password" argument')
    assert mt5.initialize(login=10001, password="demo-10001", timeout=-1) is False
    assert mt5.last_error() == (-2, 'Invalid "timeout" argument')
    path = "C:\\Program Files\\MetaTrader 5\\terminal64.exe"
    assert mt5.initialize(path, login=10001, password="demo-10001", portable=True) is True
    assert mt5.last_error() == OK
    assert mt5.account_info().server == "Sim-Demo"  # server found from the login


def test_initialize_auth_failure_closes_ipc(term):
    mt5 = make_module(term)
    assert mt5.initialize(login=10001, password="wrong", server="Sim-Demo") is False
    assert mt5.last_error() == AUTH_FAILED
    assert mt5.version() is None
    assert mt5.last_error() == NO_IPC


def test_fresh_terminal_without_account(term):
    mt5 = make_module(term)
    assert mt5.initialize() is True
    assert mt5.account_info() is None
    assert mt5.last_error() == CALL_FAILED
    info = mt5.terminal_info()
    assert info.connected is False
    assert mt5.version() == (500, BUILD, terminal_module.RELEASE_DATE)


def test_version_and_terminal_info(mt5, term):
    version = mt5.version()
    assert type(version) is tuple and len(version) == 3
    assert version[:2] == (500, BUILD) and isinstance(version[2], str)
    info = mt5.terminal_info()
    assert_struct(info, "TerminalInfo")
    assert (info.connected, info.trade_allowed, info.tradeapi_disabled) == (True, True, False)
    assert info.name == TERMINAL_NAME == "MetaTrader 5 Simulator"
    assert info.build == BUILD and info.company == "Simulated Broker Ltd."
    assert info.path.endswith(term.name) and info.data_path.startswith("C:\\")


# ---------------------------------------------------------------------- login switching


def test_login_switches_between_three_accounts(mt5):
    assert mt5.account_info().login == 10001
    assert mt5.login(10002, "demo-10002", "Sim-Demo") is True  # positional order
    account = mt5.account_info()
    assert (account.login, account.currency, account.leverage) == (10002, "EUR", 30)
    assert mt5.login(20001, password="live-20001", server="Sim-Live") is True
    account = mt5.account_info()
    assert (account.login, account.server) == (20001, "Sim-Live")
    assert {s.name for s in mt5.symbols_get()} == {
        "EURUSD",
        "GBPUSD",
        "USDJPY",
        "XAUUSD",
        "US500",
        "BTCUSD",
    }
    assert mt5.login(10001, password="demo-10001") is True  # server found by login
    assert mt5.account_info().login == 10001
    assert mt5.last_error() == OK


def test_login_failures_keep_the_current_account(mt5):
    assert mt5.login(10002, "wrong") is False
    assert mt5.last_error() == AUTH_FAILED
    assert mt5.login(10002, "demo-10002", "Sim-Live") is False  # not on that server
    assert mt5.last_error() == AUTH_FAILED
    assert mt5.login(99999, "x") is False
    assert mt5.account_info().login == 10001
    assert mt5.login("10002") is False
    assert mt5.last_error() == (-2, "Invalid 1st unnamed argument")
    assert mt5.login(10002, 5) is False
    assert mt5.last_error() == (-2, "Invalid 2nd unnamed argument")
    assert mt5.login(10002, "a", "b", "c") is False
    assert mt5.last_error() == (-2, "Invalid number of arguments")
    assert mt5.login(10002, server=7) is False
    assert mt5.last_error() == (-2, 'Invalid "server" argument')
    assert mt5.login() is False
    assert mt5.last_error() == (-2, 'Invalid "login" argument')


def test_login_without_password_uses_saved_credentials(mt5):
    assert mt5.login(10002, "demo-10002") is True
    assert mt5.login(10001) is True  # saved by the initialize() login
    assert mt5.account_info().login == 10001
    assert mt5.login(10003) is False  # never logged in here
    assert mt5.last_error() == AUTH_FAILED


def test_investor_login_reads_but_cannot_trade(mt5, world):
    assert mt5.login(10001, "investor-10001") is True
    account = mt5.account_info()
    assert account.login == 10001 and account.trade_allowed is False
    assert len(mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 5)) == 5
    assert mt5.positions_get() == ()
    result = buy(mt5)
    assert (result.retcode, result.comment) == (10017, "Trade disabled")
    assert mt5.order_check({"action": 1, "symbol": "EURUSD", "volume": 0.1}).retcode == 10017
    assert mt5.positions_total() == 0
    assert mt5.login(10001, "demo-10001") is True
    assert mt5.account_info().trade_allowed is True


def test_account_is_per_terminal_and_state_is_shared(world):
    a = make_module(SimulatedTerminal(world, "a"))
    b = make_module(SimulatedTerminal(world, "b"))
    assert a.initialize(**DEMO) and b.initialize(login=10002, password="demo-10002")
    assert (a.account_info().login, b.account_info().login) == (10001, 10002)
    result = buy(a)
    assert result.retcode == 10009
    assert b.positions_total() == 0
    assert b.login(10001, "demo-10001") is True
    assert [p.ticket for p in b.positions_get()] == [result.order]


def lock_is_free(lock):
    """Whether another thread could take ``lock`` right now (an RLock re-enters here)."""
    answer = []

    def probe():
        answer.append(lock.acquire(blocking=False))
        if answer[0]:
            lock.release()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return answer[0]


def test_login_delay_sleeps_outside_and_times_out(mt5, term, world, monkeypatch):
    sleeps = []
    lock_free = []

    def fake_sleep(seconds):
        sleeps.append(seconds)
        lock_free.append(lock_is_free(world.lock))

    monkeypatch.setattr(time, "sleep", fake_sleep)
    mt5.initialize()  # nothing sleeps without a delay
    assert sleeps == []
    term.controls.set_login_delay(2.5)
    assert world.login_delay_s == 2.5
    assert mt5.login(10002, "demo-10002") is True
    assert sleeps == [2.5]
    assert mt5.login(10001, "demo-10001", timeout=1000) is False
    assert mt5.last_error() == (-10005, "IPC timeout")
    assert sleeps == [2.5, 1.0]
    assert mt5.account_info().login == 10002
    assert all(lock_free)


# ---------------------------------------------------------------------- account, symbols


def test_account_info_struct(mt5):
    account = mt5.account_info()
    assert_struct(account, "AccountInfo")
    assert (account.login, account.currency, account.server) == (10001, "USD", "Sim-Demo")
    assert account.balance == 10_000.0 and account.company == "Simulated Broker Ltd."


def test_symbols_total_and_groups(mt5, broker):
    total = mt5.symbols_total()
    assert total == len(broker.symbols()) == len(mt5.symbols_get())
    assert mt5.last_error() == OK
    names = {s.name for s in mt5.symbols_get()}
    usd = {s.name for s in mt5.symbols_get("*USD*")}
    assert usd == {n for n in names if "USD" in n} and "EURUSD" in usd
    assert {s.name for s in mt5.symbols_get(group="*,!*USD*")} == names - usd
    assert mt5.symbols_get(group="NOTHING*") == ()
    assert mt5.symbols_get("a", "b") is None
    assert mt5.last_error() == (-2, "Invalid number of arguments")
    assert mt5.symbols_get(5) is None
    assert mt5.last_error() == (-2, "Invalid 1st unnamed argument")
    assert mt5.symbols_get(group=5) is None
    assert mt5.last_error() == (-2, 'Invalid "group" argument')


def test_symbol_info_and_tick(mt5, broker):
    info = mt5.symbol_info("EURUSD")
    assert_struct(info, "SymbolInfo")
    assert (info.name, info.select, info.digits) == ("EURUSD", True, 5)
    assert info.trade_tick_value == pytest.approx(1.0)  # 0.00001 * 100 000 USD on a USD account
    assert mt5.login(10002, "demo-10002")
    assert mt5.symbol_info("EURUSD").trade_tick_value == pytest.approx(1.0 / info.bid, rel=1e-3)
    tick = mt5.symbol_info_tick("EURUSD")
    assert_struct(tick, "Tick")
    raw = broker.market.tick("EURUSD")
    assert (tick.bid, tick.ask, tick.time_msc) == (raw["bid"], raw["ask"], raw["time_msc"])
    assert tick.time == tick.time_msc // 1000 <= SERVER_NOW_S
    assert mt5.symbol_info("NOPE") is None
    assert mt5.last_error() == CALL_FAILED
    assert mt5.symbol_info_tick("NOPE") is None
    assert mt5.last_error() == CALL_FAILED
    assert mt5.symbol_info("X" * 30) is None
    assert mt5.last_error() == (-2, 'Invalid "symbol" argument')
    assert mt5.symbol_info() is None
    assert mt5.last_error() == (-2, "Invalid arguments")


def test_symbol_select_is_per_terminal(mt5, world):
    other = make_module(SimulatedTerminal(world, "other"))
    assert other.initialize(**DEMO)
    assert mt5.symbol_select("EURGBP", False) is True
    assert mt5.symbol_info("EURGBP").select is False
    assert other.symbol_info("EURGBP").select is True
    assert mt5.symbol_select("EURGBP") is True
    assert mt5.symbol_info("EURGBP").select is True
    assert mt5.symbol_select("NOPE", True) is False
    assert mt5.last_error() == CALL_FAILED
    assert mt5.symbol_select() is False
    assert mt5.last_error() == (-2, "Invalid arguments")
    assert buy(mt5).retcode == 10009
    assert mt5.symbol_select("EURUSD", False) is False  # a position uses it
    assert mt5.symbol_info("EURUSD").select is True


def test_market_book(mt5):
    assert mt5.market_book_get("EURUSD") is None  # not subscribed
    assert mt5.last_error() == CALL_FAILED
    assert mt5.market_book_release("EURUSD") is False
    assert mt5.market_book_add("EURUSD") is True
    book = mt5.market_book_get("EURUSD")
    tick = mt5.symbol_info_tick("EURUSD")
    for row in book:
        assert_struct(row, "BookInfo")
        assert row.volume_dbl == float(row.volume) > 0
    prices = [row.price for row in book]
    assert prices == sorted(prices, reverse=True)
    sells = [r for r in book if r.type == mt5.BOOK_TYPE_SELL]
    buys = [r for r in book if r.type == mt5.BOOK_TYPE_BUY]
    assert book == tuple(sells + buys) and sells and buys
    assert sells[-1].price == tick.ask and buys[0].price == tick.bid
    assert mt5.market_book_release("EURUSD") is True
    assert mt5.market_book_get("EURUSD") is None
    assert mt5.market_book_add("NOPE") is False


# ---------------------------------------------------------------------- bars and ticks


def test_copy_rates_match_the_market(mt5, broker):
    h1 = mt5.TIMEFRAME_H1
    frm = SERVER_NOW_S - 3 * 86400
    rates = mt5.copy_rates_range("EURUSD", h1, frm, SERVER_NOW_S)
    assert rates.dtype == RATES_DTYPE and rates.dtype.itemsize == 60
    assert np.array_equal(rates, broker.market.rates_range("EURUSD", h1, frm, SERVER_NOW_S))
    assert len(rates) > 40 and np.all(np.diff(rates["time"]) > 0)
    by_pos = mt5.copy_rates_from_pos("EURUSD", h1, 0, 50)
    assert np.array_equal(by_pos, broker.market.rates_from_pos("EURUSD", h1, 0, 50))
    from_date = mt5.copy_rates_from("EURUSD", h1, SERVER_NOW_S, 50)
    assert np.array_equal(from_date, by_pos)
    assert mt5.last_error() == OK


def test_date_arguments_accept_int_float_datetime(mt5):
    when = datetime.fromtimestamp(SERVER_NOW_S, UTC)
    as_int = mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_M5, SERVER_NOW_S, 20)
    as_float = mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_M5, SERVER_NOW_S + 0.9, 20)
    as_dt = mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_M5, when, 20)
    assert np.array_equal(as_int, as_float) and np.array_equal(as_int, as_dt)
    assert mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_M5, "today", 20) is None
    assert mt5.last_error() == (-2, 'Invalid "date_from" argument')


def test_copy_rates_argument_errors(mt5):
    assert mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_H1, 0) is None
    assert mt5.last_error() == (-2, "Invalid arguments")
    with pytest.raises(SystemError) as raised:
        mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_H1, 0, 10.0)
    assert isinstance(raised.value.__cause__, TypeError)
    with pytest.raises(SystemError):
        mt5.copy_rates_range("EURUSD", "H1", 0, 1)
    assert mt5.copy_rates_from_pos("EURUSD", 7, 0, 10) is None
    assert mt5.last_error() == (-2, "Terminal: Invalid params")
    assert mt5.copy_rates_from_pos("NOPE", mt5.TIMEFRAME_H1, 0, 10) is None
    assert mt5.last_error() == CALL_FAILED
    assert mt5.copy_rates_from_pos(5, mt5.TIMEFRAME_H1, 0, 10) is None
    assert mt5.last_error() == (-2, 'Invalid "symbol" argument')


def test_copy_ticks_match_the_market(mt5, broker):
    frm = SERVER_NOW_S - 600
    ticks = mt5.copy_ticks_range("EURUSD", frm, SERVER_NOW_S, mt5.COPY_TICKS_ALL)
    assert ticks.dtype == TICKS_DTYPE and ticks.dtype.itemsize == 60
    expected = broker.market.ticks_range("EURUSD", frm * 1000, SERVER_NOW_S * 1000)
    assert len(ticks) > 10 and np.array_equal(ticks, expected)
    first = mt5.copy_ticks_from("EURUSD", frm, 25, mt5.COPY_TICKS_INFO)
    assert np.array_equal(first, broker.market.ticks_from("EURUSD", frm * 1000, 25, 1))
    assert len(first) == 25 and first["time_msc"][0] >= frm * 1000
    assert mt5.copy_ticks_from("EURUSD", frm, 25) is None
    assert mt5.last_error() == (-2, "Invalid arguments")
    with pytest.raises(SystemError):
        mt5.copy_ticks_range("EURUSD", frm, SERVER_NOW_S, "all")


def test_same_seed_same_data_across_worlds():
    results = []
    for _ in range(2):
        world = World()
        world.clock.freeze(NOW_MS)
        mt5 = make_module(SimulatedTerminal(world))
        assert mt5.initialize(**DEMO)
        results.append(
            (
                mt5.copy_rates_from_pos("GBPUSD", mt5.TIMEFRAME_M15, 0, 200),
                mt5.copy_ticks_from("USDJPY", SERVER_NOW_S - 300, 100, mt5.COPY_TICKS_ALL),
                tuple(mt5.symbol_info_tick("EURUSD")),
            )
        )
    (r1, t1, k1), (r2, t2, k2) = results
    assert np.array_equal(r1, r2) and np.array_equal(t1, t2) and k1 == k2
    assert len(r1) == 200 and len(t1) == 100


# ---------------------------------------------------------------------- request parsing


def test_order_send_request_parsing(mt5):
    good = {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0}
    cases = [
        ("not a dict", "Invalid arguments"),
        (good | {"volume": 1}, 'Invalid "volume" argument'),
        (good | {"sl": 0}, 'Invalid "sl" argument'),
        (good | {"volume": np.float32(0.1)}, 'Invalid "volume" argument'),
        (good | {"action": 1.0}, 'Invalid "action" argument'),
        (good | {"action": 1.0, "volume": 1}, 'Invalid "action" argument'),  # field order
        (good | {"magic": -1}, 'Invalid "magic" argument'),
        (good | {"deviation": 2**64}, 'Invalid "deviation" argument'),
        (good | {"type": "buy"}, 'Invalid "type" argument'),
        (good | {"symbol": "X" * 30}, 'Invalid "symbol" argument'),
        (good | {"comment": "c" * 30}, 'Invalid "comment" argument'),
        (good | {"comment": None}, 'Invalid "comment" argument'),
        (good | {"expiration": datetime(2024, 3, 14, tzinfo=UTC)}, 'Invalid "expiration" argument'),
        (good | {"position": -5}, 'Invalid "position" argument'),
    ]
    for request, message in cases:
        assert mt5.order_send(request) is None, request
        assert mt5.last_error() == (-2, message), request
        assert mt5.order_check(request) is None, request
        assert mt5.last_error() == (-2, message), request
    assert mt5.order_send(good, good) is None
    assert mt5.last_error() == (-2, "Invalid arguments")
    assert mt5.order_send(good, volume=0.1) is None
    assert mt5.positions_total() == 0


def test_order_check_echoes_the_parsed_request(mt5):
    request = {
        "action": True,
        "symbol": "EURUSD.ecn",  # Market execution: a deal needs no price
        "volume": np.float64(0.1),
        "type": 0,
        "type_filling": 0,
        "magic": 77,
        "comment": "c" * 29,
        "unknown": object(),
    }
    result = mt5.order_check(request)
    assert_struct(result, "OrderCheckResult")
    assert (result.retcode, result.comment) == (0, "Done")
    assert mt5.last_error() == OK
    assert_struct(result.request, "TradeRequest")
    assert result.request == TradeRequest(
        action=1, magic=77, symbol="EURUSD.ecn", volume=0.1, comment="c" * 29
    )
    assert result.margin > 0 and result.balance == 10_000.0
    # the same request as keyword arguments
    keywords = mt5.order_check(**{k: v for k, v in request.items() if k != "unknown"})
    assert keywords.request == result.request


# ---------------------------------------------------------------------- trading round trip


def test_trade_round_trip_with_history(mt5):
    opened = buy(mt5, magic=42, comment="api open")
    assert_struct(opened, "OrderSendResult")
    assert (opened.retcode, opened.comment) == (10009, "Request executed")
    assert opened.deal > 0 and opened.order > 0 and opened.volume == 0.1
    assert opened.request.magic == 42 and opened.request.comment == "api open"
    assert mt5.last_error() == OK
    (position,) = mt5.positions_get(symbol="EURUSD")
    assert_struct(position, "TradePosition")
    assert (position.ticket, position.identifier) == (opened.order, opened.order)
    assert (position.magic, position.comment, position.reason) == (42, "api open", 3)
    assert mt5.positions_get(ticket=position.ticket) == (position,)
    assert mt5.positions_get(ticket=position.ticket, symbol="GBPUSD") == (position,)  # ticket wins
    assert mt5.positions_get(symbol="GBPUSD") == ()
    assert mt5.positions_get(group="*JPY*") == ()
    assert mt5.positions_get("EURUSD") is None
    assert mt5.last_error() == (-2, "Unnamed arguments not allowed")

    tick = mt5.symbol_info_tick("EURUSD")
    closed = mt5.order_send(
        {
            "action": mt5.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "volume": 0.1,
            "type": mt5.ORDER_TYPE_SELL,
            "position": position.ticket,
            "price": tick.bid,
            "type_filling": mt5.ORDER_FILLING_IOC,
        }
    )
    assert closed.retcode == 10009 and closed.request.position == position.ticket
    assert mt5.positions_total() == 0

    start, end = SERVER_NOW_S - 86400 * 365 * 10, SERVER_NOW_S + 60
    deals = mt5.history_deals_get(start, end)
    for deal in deals:
        assert_struct(deal, "TradeDeal")
    assert deals[0].type == mt5.DEAL_TYPE_BALANCE
    trade_deals = mt5.history_deals_get(position=position.ticket)
    assert [(d.entry, d.type, d.magic) for d in trade_deals] == [
        (mt5.DEAL_ENTRY_IN, mt5.DEAL_TYPE_BUY, 42),
        (mt5.DEAL_ENTRY_OUT, mt5.DEAL_TYPE_SELL, 0),
    ]
    assert mt5.history_deals_total(start, end) == len(deals) == 3
    assert [d.ticket for d in mt5.history_deals_get(ticket=opened.order)] == [opened.deal]
    orders = mt5.history_orders_get(start, end, group="EUR*")
    for order in orders:
        assert_struct(order, "TradeOrder")
    assert [o.ticket for o in orders] == [opened.order, closed.order]
    assert mt5.history_orders_total(start, end) == 2
    assert mt5.history_orders_get(ticket=closed.order)[0].position_id == position.ticket
    assert len(mt5.history_orders_get(position=position.ticket)) == 2
    assert mt5.history_orders_get(start, end, group="GBP*") == ()
    account = mt5.account_info()
    assert account.balance == pytest.approx(10_000.0 + sum(d.profit for d in trade_deals))


def test_history_argument_forms(mt5):
    assert mt5.history_deals_get(SERVER_NOW_S) is None
    assert mt5.last_error() == (-2, "Invalid number of arguments")
    assert mt5.history_deals_get() is None
    assert mt5.last_error() == (-2, "Invalid arguments")
    assert mt5.history_orders_get(ticket="1") is None
    assert mt5.last_error() == (-2, 'Invalid "ticket" argument')
    assert mt5.history_orders_total(0) is None
    assert mt5.last_error() == (-2, "Invalid arguments")
    when = datetime.fromtimestamp(SERVER_NOW_S + 60, UTC)
    assert len(mt5.history_deals_get(0, when)) == 1  # the initial deposit
    assert mt5.history_deals_get(ticket=123456789) == ()
    assert mt5.last_error() == OK


def test_pending_order_wiring(mt5):
    tick = mt5.symbol_info_tick("EURUSD")
    placed = mt5.order_send(
        {
            "action": mt5.TRADE_ACTION_PENDING,
            "symbol": "EURUSD",
            "volume": 0.2,
            "type": mt5.ORDER_TYPE_BUY_LIMIT,
            "price": round(tick.ask - 0.01, 5),
            "type_filling": mt5.ORDER_FILLING_RETURN,
            "type_time": mt5.ORDER_TIME_GTC,
        }
    )
    assert placed.retcode == 10009 and placed.deal == 0
    (order,) = mt5.orders_get()
    assert_struct(order, "TradeOrder")
    assert mt5.orders_total() == 1 and order.ticket == placed.order
    assert mt5.orders_get(symbol="GBPUSD") == () and mt5.orders_get(ticket=order.ticket)
    assert mt5.orders_get(1) is None
    assert mt5.last_error() == (-2, "Unnamed arguments not allowed")
    removed = mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": order.ticket})
    assert removed.retcode == 10009 and mt5.orders_total() == 0


def test_order_calc_functions(mt5, broker):
    margin = mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.1)
    assert margin == broker.order_calc_margin(10001, 0, "EURUSD", 1.0, 1.1) and margin > 0
    assert mt5.order_calc_margin(0, "EURUSD", 1, 1) == pytest.approx(
        broker.order_calc_margin(10001, 0, "EURUSD", 1.0, 1.0)
    )  # "d" accepts ints
    profit = mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.1, 1.101)
    assert profit == pytest.approx(100.0)
    assert mt5.order_calc_margin(0, "NOPE", 1.0, 1.0) is None
    assert mt5.last_error() == CALL_FAILED
    assert mt5.order_calc_profit(0, "EURUSD", 1.0, 1.1) is None
    assert mt5.last_error() == (-2, "Invalid arguments")
    with pytest.raises(SystemError):
        mt5.order_calc_margin(0.0, "EURUSD", 1.0, 1.1)
    with pytest.raises(SystemError):
        mt5.order_calc_profit(0, "EURUSD", "1", 1.1, 1.2)


# ---------------------------------------------------------------------- helpers


def test_buy_sell_close_helpers(mt5):
    bought = mt5.Buy("EURUSD", 0.1, comment="helper")
    assert bought.retcode == 10009
    assert (bought.request.deviation, bought.request.type_filling) == (10, 0)
    sold = mt5.Sell("EURUSD", 0.2)
    assert sold.retcode == 10009 and mt5.positions_total() == 2
    assert mt5.Close("EURUSD", ticket=bought.order) is True
    assert [p.ticket for p in mt5.positions_get()] == [sold.order]
    assert mt5.Close("EURUSD") is True
    assert mt5.positions_total() == 0
    assert mt5.Close("EURUSD") is False  # nothing to close
    refused = mt5.Buy("USDCHF", 0.1)  # IOC only: the helpers send FOK
    assert refused.retcode == 10030
    assert mt5.Buy("EURUSD", 1) is None  # an int volume
    assert mt5.last_error() == (-2, 'Invalid "volume" argument')
    assert mt5.Buy("NOPE", 0.1) is None


def test_close_reports_partial_success(mt5, term):
    first, second = mt5.Buy("EURUSD", 0.1), mt5.Buy("EURUSD", 0.1)
    assert first.retcode == second.retcode == 10009
    term.controls.fail_next_order_send(10006)
    assert mt5.Close("EURUSD") == "Partially"
    assert mt5.positions_total() == 1
    term.controls.set_algo_trading(False)
    assert mt5.Close("EURUSD") is False


# ---------------------------------------------------------------------- controls


def test_fail_next_order_send(mt5, term):
    term.controls.fail_next_order_send(10006)
    result = buy(mt5)
    assert (result.retcode, result.comment, result.order, result.deal) == (
        10006,
        "Request rejected",
        0,
        0,
    )
    assert result.request.symbol == "EURUSD"
    assert mt5.positions_total() == 0
    assert buy(mt5).retcode == 10009  # only the next one


def test_algo_trading_off(mt5, term):
    term.controls.set_algo_trading(False)
    assert mt5.terminal_info().trade_allowed is False
    result = buy(mt5)
    assert (result.retcode, result.comment) == (10027, "AutoTrading disabled by client")
    assert mt5.last_error() == OK
    assert mt5.order_check({"action": 1, "symbol": "EURUSD", "volume": 0.1}).retcode == 10027
    assert mt5.positions_total() == 0
    term.controls.set_algo_trading(True)
    assert buy(mt5).retcode == 10009


def test_tradeapi_disabled(mt5, term):
    term.controls.set_tradeapi_disabled(True)
    assert mt5.terminal_info().tradeapi_disabled is True
    assert buy(mt5) is None
    assert mt5.last_error() == (-8, "Auto-Trading using Python API disabled in Terminal")
    assert mt5.positions_total() == 0


def test_broker_disconnected(mt5, term):
    term.controls.set_broker_connected(False)
    assert mt5.terminal_info().connected is False
    result = mt5.order_send({"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0})
    assert result.retcode == 10031
    assert mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_H1, 0, 10) is None
    assert mt5.last_error() == CALL_FAILED
    assert mt5.symbol_info_tick("EURUSD") is None
    assert mt5.account_info().login == 10001  # answered from the terminal's state
    assert mt5.login(10002, "demo-10002") is False
    assert mt5.last_error() == AUTH_FAILED
    term.controls.set_broker_connected(True)
    assert mt5.terminal_info().connected is True and buy(mt5).retcode == 10009


def test_clock_and_price_controls(mt5, term, world):
    controls = term.controls
    controls.push_price("", "EURUSD", 1.2, 1.2002)
    tick = mt5.symbol_info_tick("EURUSD")
    assert (tick.bid, tick.ask, tick.time_msc) == (1.2, 1.2002, NOW_MS + 7_200_000)
    controls.push_price("Sim-Live", "EURUSD", 1.3)
    assert world.brokers["Sim-Live"].tick_info("EURUSD").bid == 1.3
    controls.advance_time(90_000)
    assert world.clock.now_ms() == NOW_MS + 90_000 and world.clock.frozen
    controls.set_time(NOW_MS + 3_600_000)
    later = mt5.symbol_info_tick("EURUSD")
    assert NOW_MS + 7_200_000 < later.time_msc <= NOW_MS + 10_800_000
    controls.unfreeze_time()
    assert not world.clock.frozen
    controls.freeze_time(NOW_MS)
    assert world.clock.now_ms() == NOW_MS
    with pytest.raises(ValueError):
        controls.push_price("", "NOPE", 1.0)
    with pytest.raises(ValueError):
        controls.push_price("Nowhere", "EURUSD", 1.0)


def test_hang_and_timeout_after_execute(mt5, term, world, monkeypatch):
    events = []

    def fake_sleep(seconds):
        positions = world.brokers["Sim-Demo"].positions(10001)
        events.append((seconds, len(positions)))
        assert lock_is_free(world.lock)

    monkeypatch.setattr(time, "sleep", fake_sleep)
    term.controls.timeout_after_execute(30)
    assert buy(mt5).retcode == 10009
    assert events == [(30.0, 1)]  # the order existed before the call hung
    assert buy(mt5).retcode == 10009 and len(events) == 1  # only once
    term.controls.hang_calls(5)
    mt5.version()
    mt5.account_info()
    mt5.last_error()  # the terminal server reads it after every call: never hangs
    assert events[1:] == [(5.0, 2), (5.0, 2)]
    term.controls.hang_calls(0)
    mt5.version()
    assert len(events) == 3


def test_reset_restores_the_world(mt5, term, world):
    assert buy(mt5).retcode == 10009
    term.controls.set_algo_trading(False)
    term.controls.hang_calls(0)
    mt5.symbol_select("EURGBP", False)
    term.controls.reset()
    assert mt5.positions_total() == 0
    assert mt5.account_info().balance == 10_000.0
    assert len(mt5.history_deals_get(0, SERVER_NOW_S + 60)) == 1
    assert mt5.terminal_info().trade_allowed is True
    assert mt5.symbol_info("EURGBP").select is True
    assert world.clock.now_ms() == NOW_MS


def test_concurrent_terminals_share_one_world_safely(world):
    modules = []
    for i, login in enumerate((10001, 10002)):
        module = make_module(SimulatedTerminal(world, f"t{i}"))
        assert module.initialize(login=login, password=f"demo-{login}")
        modules.append(module)
    results = [[], []]

    def trade(index):
        for _ in range(15):
            results[index].append(buy(modules[index], volume=0.01).order)

    threads = [threading.Thread(target=trade, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tickets = results[0] + results[1]
    assert 0 not in tickets and len(set(tickets)) == 30
    assert modules[0].positions_total() == modules[1].positions_total() == 15


def test_cli_prints_the_demo_profile(capsys):
    assert cli_main(["demo-data"]) == 0
    out = capsys.readouterr().out
    assert "Sim-Demo" in out and "10001" in out and "EURUSD" in out
