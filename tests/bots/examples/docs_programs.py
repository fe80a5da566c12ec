# ruff: noqa: UP017, UP031, B905 - this file also runs under the Python 3.8-3.10 client venvs
"""Our own programs that use each MetaTrader5 function the way the official docs' examples do.

Nothing here is copied from the docs: each program calls the functions with the same kinds of
arguments (bare ``initialize()``, keyword ``login``, tz-aware UTC datetimes, group filters, the
RETURN-filling USDJPY request, DataFrames built from results) and checks the documented shapes,
retcodes and error tuples.

Each program takes ``mt5``: the ``MetaTrader5`` module (the simulated one in-process), or an
mt5linux ``MetaTrader5(host, port)`` client. This file runs in the mt5linux matrix venvs too, so
it keeps to Python 3.8 syntax and needs only numpy (pandas when installed).

    python docs_programs.py --host H --port P     # through mt5linux; prints a JSON report
"""

import datetime as dt
import json
import sys
import traceback

try:
    import pandas as pd
except ImportError:  # pragma: no cover - every matrix venv has pandas
    pd = None

UTC = dt.timezone.utc
# The accounts a bare initialize() lands on, and the one the login program switches to.
ACCOUNT = {"login": 10001, "password": "demo-10001", "server": "Sim-Demo"}
OTHER = {"login": 10003, "password": "demo-10003", "server": "Sim-Demo"}
OK = (1, "Success")
RATES = ("time", "open", "high", "low", "close", "tick_volume", "spread", "real_volume")
TICKS = ("time", "bid", "ask", "last", "volume", "time_msc", "flags", "volume_real")
FIELD_COUNTS = {
    "account_info": 28,
    "terminal_info": 22,
    "symbol_info": 96,
    "tick": 8,
    "order": 24,
    "position": 19,
    "deal": 18,
    "request": 17,
}
HISTORY_FROM = dt.datetime(2020, 1, 1, tzinfo=UTC)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def equal(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


def fields(value, kind):
    record = value._asdict()
    equal(len(record), FIELD_COUNTS[kind], "%s field count" % kind)
    equal(len(tuple(value)), FIELD_COUNTS[kind], "%s tuple length" % kind)
    return record


def frame(rows, columns=None):
    """A DataFrame as the docs build one (skipped where pandas is missing)."""
    if pd is None:
        return None
    return pd.DataFrame(rows, columns=columns)


def program_initialize_and_version(mt5):
    equal(mt5.initialize(), True, "bare initialize()")
    equal(mt5.last_error(), OK, "last_error after initialize")
    version = mt5.version()
    equal(len(version), 3, "version() length")
    check(isinstance(version[0], int) and isinstance(version[2], str), "version() types")
    equal(mt5.account_info().login, ACCOUNT["login"], "the last account after initialize()")


def program_login(mt5):
    equal(
        mt5.login(OTHER["login"], password=OTHER["password"], server=OTHER["server"]),
        True,
        "login to another account",
    )
    equal(mt5.account_info().login, OTHER["login"], "account after login")
    equal(
        mt5.login(OTHER["login"], password="wrong", server=OTHER["server"]),
        False,
        "login with a wrong password",
    )
    equal(mt5.last_error()[0], -6, "last_error code after a refused login")
    equal(mt5.account_info().login, OTHER["login"], "a refused login keeps the account")
    equal(
        mt5.login(ACCOUNT["login"], password=ACCOUNT["password"], server=ACCOUNT["server"]),
        True,
        "login back",
    )


def program_account_info(mt5):
    info = mt5.account_info()
    record = fields(info, "account_info")
    equal(list(record)[:3], ["login", "trade_mode", "leverage"], "first fields")
    equal((info.login, info.server, info.currency), (10001, "Sim-Demo", "USD"), "account")
    check(info.balance > 0 and info.equity > 0, "money fields")
    table = frame(list(record.items()), ["property", "value"])
    if table is not None:
        equal(len(table), 28, "account_info DataFrame rows")


def program_terminal_info(mt5):
    info = mt5.terminal_info()
    record = fields(info, "terminal_info")
    equal((info.connected, info.trade_allowed), (True, True), "terminal switches")
    table = frame(list(record.items()), ["property", "value"])
    if table is not None:
        equal(
            list(table["property"])[:3],
            ["community_account", "community_connection", "connected"],
            "terminal_info DataFrame",
        )


def program_symbols(mt5):
    total = mt5.symbols_total()
    check(isinstance(total, int) and total > 0, "symbols_total")
    every = mt5.symbols_get()
    equal(len(every), total, "symbols_get() length")
    group = mt5.symbols_get(group="*,!*USD*,!*EUR*,!*JPY*,!*GBP*")
    check(
        all(not any(c in s.name for c in ("USD", "EUR", "JPY", "GBP")) for s in group),
        "group filter",
    )
    equal(len(mt5.symbols_get("*NOSUCH*")), 0, "an unmatched group gives ()")


def program_symbol_info(mt5):
    for name in ("EURJPY", "GBPJPY", "EURCAD", "EURAUD", "EURUSD.m"):
        equal(mt5.symbol_select(name, True), True, "symbol_select %s" % name)
    info = mt5.symbol_info("EURJPY")
    record = fields(info, "symbol_info")
    equal((record["name"], info.digits), ("EURJPY", 3), "EURJPY info")
    check(info.ask > info.bid > 0 and info.spread > 0, "EURJPY prices")
    equal(mt5.symbol_info("NOSUCH"), None, "unknown symbol")
    check(mt5.last_error()[0] < 0, "last_error after an unknown symbol")


def program_symbol_info_tick(mt5):
    tick = mt5.symbol_info_tick("GBPUSD")
    record = fields(tick, "tick")
    equal(list(record), list(TICKS), "tick fields")
    check(tick.ask >= tick.bid > 0 and tick.time_msc // 1000 == tick.time, "tick values")


def program_market_book(mt5):
    equal(mt5.market_book_add("EURUSD"), True, "market_book_add")
    book = mt5.market_book_get("EURUSD")
    check(len(book) > 0, "book entries")
    prices = [entry.price for entry in book]
    equal(prices, sorted(prices, reverse=True), "book sorted by price, descending")
    check({entry.type for entry in book} <= {1, 2}, "book entry types")
    equal(mt5.market_book_release("EURUSD"), True, "market_book_release")


def program_copy_rates(mt5):
    utc_from = dt.datetime(2020, 1, 10, tzinfo=UTC)
    rates = mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_M1, utc_from, 10)
    equal((len(rates), rates.dtype.names), (10, RATES), "copy_rates_from")
    check(rates["time"][-1] <= 1578614400, "bars at or before date_from")
    daily = mt5.copy_rates_from_pos("GBPUSD", mt5.TIMEFRAME_D1, 0, 10)
    equal(len(daily), 10, "copy_rates_from_pos")
    check(list(daily["time"]) == sorted(daily["time"]), "ascending bars")
    # mt5linux 0.1.9 formats date_to with str(): an int epoch is what works through it too.
    ranged = mt5.copy_rates_range("USDJPY", mt5.TIMEFRAME_M5, utc_from, 1578700800)
    check(len(ranged) > 100 and ranged["time"][0] >= 1578614400, "copy_rates_range")
    table = frame(rates)
    if table is not None:
        table["time"] = pd.to_datetime(table["time"], unit="s")
        equal(list(table.columns), list(RATES), "rates DataFrame columns")


def program_copy_ticks(mt5):
    utc_from = dt.datetime(2020, 1, 10, tzinfo=UTC)
    ticks = mt5.copy_ticks_from("EURAUD", utc_from, 1000, mt5.COPY_TICKS_ALL)
    equal((len(ticks), ticks.dtype.names), (1000, TICKS), "copy_ticks_from")
    check(ticks["time_msc"][0] >= 1578614400000, "ticks from date_from")
    utc_to = dt.datetime(2020, 1, 11, tzinfo=UTC)
    ranged = mt5.copy_ticks_range("AUDUSD", utc_from, utc_to, mt5.COPY_TICKS_ALL)
    check(len(ranged) > 1000, "copy_ticks_range")
    table = frame(ticks)
    if table is not None:
        table["time"] = pd.to_datetime(table["time"], unit="s")
        equal(len(table), 1000, "ticks DataFrame")


def docs_request(mt5, symbol="USDJPY", buy=True, position=0):
    """The docs' market request: 0.1 lot, price, 100-point stops, RETURN filling, GTC."""
    tick, point = mt5.symbol_info_tick(symbol), mt5.symbol_info(symbol).point
    price = tick.ask if buy else tick.bid
    request = {
        "action": mt5.TRADE_ACTION_DEAL,
        "symbol": symbol,
        "volume": 0.1,
        "type": mt5.ORDER_TYPE_BUY if buy else mt5.ORDER_TYPE_SELL,
        "price": price,
        "deviation": 20,
        "magic": 234000,
        "comment": "python script open",
        "type_time": mt5.ORDER_TIME_GTC,
        "type_filling": mt5.ORDER_FILLING_RETURN,
    }
    if position:
        request["position"] = position
    else:
        sign = 1 if buy else -1
        request["sl"] = price - sign * 100 * point
        request["tp"] = price + sign * 100 * point
    return request


def program_order_calc(mt5):
    for symbol in ("EURUSD", "GBPUSD", "USDJPY"):
        ask = mt5.symbol_info_tick(symbol).ask
        margin = mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, symbol, 0.1, ask)
        check(isinstance(margin, float) and margin > 0, "order_calc_margin %s" % symbol)
        point = mt5.symbol_info(symbol).point
        profit = mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, symbol, 1.0, ask, ask + 100 * point)
        check(isinstance(profit, float) and profit > 0, "order_calc_profit %s" % symbol)


def program_order_check(mt5):
    result = mt5.order_check(docs_request(mt5))
    equal((result.retcode, result.comment), (0, "Done"), "order_check")
    record = fields(result.request, "request")
    equal(record["symbol"], "USDJPY", "echoed request")
    check(result.margin > 0 and result.margin_free < result.equity, "order_check money")


def program_order_send(mt5):
    opened = mt5.order_send(docs_request(mt5))
    equal((opened.retcode, opened.comment), (10009, "Request executed"), "open")
    check(opened.deal > 0 and opened.order > 0 and opened.volume == 0.1, "open result")
    equal(len(mt5.positions_get(ticket=opened.order)), 1, "the new position")
    closed = mt5.order_send(docs_request(mt5, buy=False, position=opened.order))
    equal(closed.retcode, 10009, "close")
    equal(len(mt5.positions_get(ticket=opened.order)), 0, "closed position")
    long_comment = dict(docs_request(mt5), comment="x" * 30)
    equal(mt5.order_send(long_comment), None, "a 30-character comment")
    equal(mt5.last_error(), (-2, 'Invalid "comment" argument'), "comment error")


def program_orders(mt5):
    equal(mt5.orders_get(symbol="GBPUSD"), (), "no GBPUSD orders")
    bid = mt5.symbol_info_tick("GBPUSD").bid
    placed = mt5.order_send(
        {
            "action": mt5.TRADE_ACTION_PENDING,
            "symbol": "GBPUSD",
            "volume": 0.1,
            "type": mt5.ORDER_TYPE_BUY_LIMIT,
            "price": round(bid - 0.01, 5),
            "type_time": mt5.ORDER_TIME_GTC,
            "type_filling": mt5.ORDER_FILLING_RETURN,
        }
    )
    equal(placed.retcode, 10009, "pending order")
    equal(mt5.orders_total(), 1, "orders_total")
    orders = mt5.orders_get(group="*GBP*")
    record = fields(orders[0], "order")
    table = frame(list(orders), columns=list(record.keys()))
    if table is not None:
        equal(list(table["ticket"]), [placed.order], "orders DataFrame")
    removed = mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": placed.order})
    equal(removed.retcode, 10009, "remove the order")


def program_positions(mt5):
    equal(mt5.positions_get(symbol="USDCHF"), (), "no USDCHF positions")
    tickets = [mt5.order_send(docs_request(mt5, symbol)).order for symbol in ("EURUSD", "GBPUSD")]
    equal(mt5.positions_total(), 2, "positions_total")
    positions = mt5.positions_get(group="*USD*")
    record = fields(positions[0], "position")
    table = frame(list(positions), columns=list(record.keys()))
    if table is not None:
        table["time"] = pd.to_datetime(table["time"], unit="s")
        table = table.drop(["time_update", "time_msc", "time_update_msc", "external_id"], axis=1)
        equal(sorted(table["ticket"]), sorted(tickets), "positions DataFrame")
    for ticket, symbol in zip(tickets, ("EURUSD", "GBPUSD")):
        closed = mt5.order_send(docs_request(mt5, symbol, buy=False, position=ticket))
        equal(closed.retcode, 10009, "close %s" % symbol)


def program_history(mt5):
    opened = mt5.order_send(docs_request(mt5, "GBPUSD"))
    mt5.order_send(docs_request(mt5, "GBPUSD", buy=False, position=opened.order))
    now = dt.datetime.fromtimestamp(mt5.symbol_info_tick("GBPUSD").time, UTC)
    until = now + dt.timedelta(days=1)  # server time runs ahead of UTC
    total = mt5.history_orders_total(HISTORY_FROM, until)
    check(isinstance(total, int) and total >= 2, "history_orders_total")
    orders = mt5.history_orders_get(HISTORY_FROM, until, group="*GBP*")
    check(len(orders) >= 2 and all("GBP" in o.symbol for o in orders), "history orders group")
    by_position = mt5.history_orders_get(position=opened.order)
    equal(len(by_position), 2, "history orders of the position")
    fields(by_position[0], "order")
    deals = mt5.history_deals_get(HISTORY_FROM, until, group="*,!*EUR*,!*JPY*")
    check(all("EUR" not in d.symbol for d in deals), "history deals group")
    check(mt5.history_deals_total(HISTORY_FROM, until) >= len(deals), "history_deals_total")
    record = fields(deals[0], "deal")
    table = frame(list(deals), columns=list(record.keys()))
    if table is not None:
        table["time"] = pd.to_datetime(table["time"], unit="s")
        check(len(table) == len(deals), "deals DataFrame")
    equal(len(mt5.history_deals_get(position=opened.order)), 2, "deals of the position")


def program_shutdown(mt5):
    equal(mt5.shutdown(), None, "shutdown")
    equal(mt5.version(), None, "version after shutdown")
    equal(mt5.last_error(), (-10004, "No IPC connection"), "no IPC after shutdown")
    equal(mt5.initialize(), True, "initialize again")


PROGRAMS = [
    program_initialize_and_version,
    program_login,
    program_account_info,
    program_terminal_info,
    program_symbols,
    program_symbol_info,
    program_symbol_info_tick,
    program_market_book,
    program_copy_rates,
    program_copy_ticks,
    program_order_calc,
    program_order_check,
    program_order_send,
    program_orders,
    program_positions,
    program_history,
    program_shutdown,
]


def run_all(mt5):
    """Run every program in order; {program name: "ok" or the error text}."""
    report = {}
    for program in PROGRAMS:
        name = program.__name__[len("program_") :]
        try:
            program(mt5)
            report[name] = "ok"
        except Exception as error:
            report[name] = "%s: %s" % (type(error).__name__, error)
            traceback.print_exc(file=sys.stderr)
    return report


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    from mt5linux import MetaTrader5

    print(json.dumps(run_all(MetaTrader5(host=args.host, port=args.port))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
