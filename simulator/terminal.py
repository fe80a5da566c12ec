"""A simulated MetaTrader 5 terminal: the MetaTrader5 package's functions, bound to a World.

One :class:`SimulatedTerminal` is one terminal process: a single IPC session, one logged-in
account at a time, one ``last_error()``. Every API method follows the package's calling
convention for that function (mt5-api-facts.md §1): NOARGS and POSITIONAL functions raise
TypeError like the C extension, argument problems set ``(-2, ...)`` and return None/False,
and every call first resets ``last_error()`` to ``(1, 'Success')``.

Choices where the real terminal's behaviour is not documented:

* ARGS+KW functions ignore keywords they do not know (the package reads them one by one).
* A fresh terminal has no account: ``initialize()`` without ``login`` works, but account and
  market functions fail with ``(-1, 'Terminal: Call failed')`` until a login succeeds.
* A failed ``login()`` keeps the previously logged-in account.
* With the broker link down (``controls.set_broker_connected(False)``) the terminal answers
  account, symbol, position, order and history queries from its (live) state, market data
  (ticks, bars, book) fails with ``(-1, 'Terminal: Call failed')``, login fails with
  ``(-6, ...)`` and trade requests get retcode 10031.
* ``hang_calls`` delays every API function except ``last_error()``, which the terminal
  server reads after each call.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from simulator import constants as c
from simulator import helpers
from simulator.arguments import (
    LOGIN_ORDER,
    MAX_GROUP,
    NO_IPC,
    SUCCESS,
    CallError,
    check_credential,
    check_noargs,
    check_positional,
    credentials,
    date_arg,
    history_dates,
    history_query,
    invalid,
    live_filters,
    parse_tuple,
    request_arg,
    symbol_arg,
    text_arg,
    timeframe_arg,
)
from simulator.broker import Broker
from simulator.controls import TerminalControls
from simulator.depth import synthetic_book
from simulator.groups import match_group
from simulator.structs import (
    BookInfo,
    OrderCheckResult,
    OrderSendResult,
    TerminalInfo,
    TradeRequest,
)
from simulator.trading_rules import COMMENTS
from simulator.world import World

TERMINAL_NAME = "MetaTrader 5 Simulator"
TERMINAL_VERSION = 500
BUILD = 5370
RELEASE_DATE = "17 Oct 2025"

# Standard comments for retcodes the broker's table (trading_rules.COMMENTS) lacks.
_MORE_COMMENTS: dict[int, str] = {
    10004: "Requote",
    10006: "Request rejected",
    10007: "Request canceled by trader",
    10008: "Order placed",
    10009: "Request executed",
    10010: "Request executed partially",
    10011: "Request processing error",
    10012: "Request canceled by timeout",
    10013: "Invalid request",
    10014: "Invalid volume",
    10015: "Invalid price",
    10016: "Invalid stops",
    10017: "Trade disabled",
    10018: "Market closed",
    10019: "No money",
    10020: "Prices changed",
    10021: "No prices",
    10022: "Invalid expiration",
    10023: "Order state changed",
    10024: "Too frequent requests",
    10025: "No changes",
    10026: "AutoTrading disabled by server",
    10027: "AutoTrading disabled by client",
    10028: "Request locked",
    10029: "Order or position frozen",
    10030: "Unsupported filling mode",
    10031: "No connection with the trade server",
    10032: "Operation is allowed only for live accounts",
    10033: "Limit of pending orders reached",
    10034: "Volume limit reached",
    10035: "Invalid order type",
    10036: "Position already closed",
    10038: "Invalid close volume",
    10039: "Close order already exists",
    10040: "Limit of positions reached",
    10041: "Pending order activation rejected",
    10042: "Only long positions allowed",
    10043: "Only short positions allowed",
    10044: "Only position closing allowed",
    10045: "FIFO close rule",
}


def trade_comment(retcode: int) -> str:
    """The trade server's comment for ``retcode`` (the broker's wording where it has one)."""
    return COMMENTS.get(retcode) or _MORE_COMMENTS.get(retcode, "Request rejected")


NOARGS, POSITIONAL, KEYWORDS = "noargs", "positional", "keywords"
F = TypeVar("F", bound=Callable[..., Any])


def _api(
    convention: str,
    failure: Any = None,
    *,
    ipc: bool = True,
    locked: bool = True,
) -> Callable[[F], F]:
    """Wrap an API method with the package's calling convention and last_error handling.

    ``locked=False`` bodies take ``World.lock`` themselves (they sleep: login, order_send).
    """

    def decorate(fn: F) -> F:
        name = fn.__name__

        @functools.wraps(fn)
        def call(self: SimulatedTerminal, *args: Any, **kwargs: Any) -> Any:
            if convention == NOARGS:
                check_noargs(name, args, kwargs)
            elif convention == POSITIONAL:
                check_positional(name, kwargs)
            self._wait_if_hung()
            with self._world.lock if locked else nullcontext():
                self._error = SUCCESS
                try:
                    if ipc and not self._ipc:
                        raise CallError(*NO_IPC)
                    return fn(self, *args, **kwargs)
                except CallError as error:
                    self._error = (error.code, error.message)
                    return failure

        call.api_convention = convention  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]

    return decorate


@dataclass(frozen=True)
class _Session:
    server: str
    login: int
    investor: bool


class SimulatedTerminal:
    """One MT5 terminal: the MetaTrader5 functions as methods, plus :attr:`controls`."""

    def __init__(self, world: World, name: str = "sim-1") -> None:
        self._world = world
        self.name = name
        self._ipc = False
        self._session: _Session | None = None
        self._error: tuple[int, str] = SUCCESS
        self._passwords: dict[tuple[str, int], str] = {}  # the terminal's saved credentials
        self._selected: dict[str, set[str]] = {}  # Market Watch per server
        self._books: set[str] = set()
        self._clear_flags()
        self.controls = TerminalControls(self)

    def _clear_flags(self) -> None:
        self._algo_trading = True
        self._tradeapi_disabled = False
        self._broker_connected = True
        self._hang_s = 0.0
        self._fail_next: int | None = None
        self._after_execute_s = 0.0

    # ----------------------------------------------------------------- session and helpers

    def _wait_if_hung(self) -> None:
        if self._hang_s > 0:
            time.sleep(self._hang_s)

    def _require_session(self) -> _Session:
        if self._session is None or self._session.server not in self._world.brokers:
            raise CallError(-1)
        return self._session

    def _broker(self) -> Broker:
        return self._world.brokers[self._require_session().server]

    def _spec_name(self, broker: Broker, value: Any) -> str:
        name = symbol_arg(value)
        if broker.symbol(name) is None:
            raise CallError(-1)
        return name

    def _currency(self, broker: Broker) -> str:
        """The logged-in account's currency (SymbolInfo tick values are given in it)."""
        session = self._require_session()
        return str(broker.account_info(session.login, session.investor).currency)

    def _require_feed(self) -> None:
        if not self._broker_connected:
            raise CallError(-1)

    def _market_watch(self, broker: Broker) -> set[str]:
        server = broker.server.name
        if server not in self._selected:
            self._selected[server] = {s.name for s in broker.symbols() if s.visible}
        return self._selected[server]

    def _login(self, login: int, password: str | None, server: str | None, timeout: int) -> None:
        """Authenticate and switch the account; sleeps the world's login delay unlocked."""
        delay = self._world.login_delay_s
        if delay * 1000 > timeout:
            time.sleep(timeout / 1000)
            raise CallError(-10005)
        if delay > 0:
            time.sleep(delay)
        with self._world.lock:
            if not self._broker_connected:
                raise CallError(-6)
            broker = self._find_broker(login, server)
            if broker is None:
                raise CallError(-6)
            key = (broker.server.name, login)
            secret = password if password is not None else self._passwords.get(key)
            role = broker.authenticate(login, secret) if secret is not None else None
            if role is None:
                raise CallError(-6)
            self._passwords[key] = secret  # type: ignore[assignment]
            self._session = _Session(broker.server.name, login, role == "investor")
            self._books.clear()

    def _find_broker(self, login: int, server: str | None) -> Broker | None:
        if server is not None:
            broker = self._world.brokers.get(server)
            return broker if broker is not None and broker.has_account(login) else None
        if self._session is not None:
            current = self._world.brokers.get(self._session.server)
            if current is not None and current.has_account(login):
                return current
        return self._world.broker_for_login(login)

    # ------------------------------------------------------------------ connection

    @_api(KEYWORDS, False, ipc=False, locked=False)
    def initialize(self, *args: Any, **kwargs: Any) -> bool:
        if len(args) > 1:
            raise invalid("Invalid number of arguments")
        if args and not isinstance(args[0], str):
            raise invalid("Invalid 1st unnamed argument")
        if "path" in kwargs and kwargs["path"] is not None:
            text_arg(kwargs["path"], "path", 260)
        found = credentials(kwargs)
        self._ipc = True
        if "login" in found:
            try:
                self._login(**found)
            except CallError:
                self._ipc = False
                raise
        return True

    @_api(KEYWORDS, False, locked=False)
    def login(self, *args: Any, **kwargs: Any) -> bool:
        if len(args) > 3:
            raise invalid("Invalid number of arguments")
        positional: dict[str, Any] = {}
        for ordinal, key, value in zip(("1st", "2nd", "3rd"), LOGIN_ORDER, args, strict=False):
            try:
                positional[key] = check_credential(key, value)
            except CallError:
                raise invalid(f"Invalid {ordinal} unnamed argument") from None
        found = credentials(kwargs, positional)
        if "login" not in found:
            raise invalid('Invalid "login" argument')
        self._login(**found)
        return True

    @_api(NOARGS, ipc=False)
    def shutdown(self) -> None:
        self._ipc = False
        self._books.clear()

    @_api(NOARGS)
    def version(self) -> tuple[int, int, str]:
        return (TERMINAL_VERSION, BUILD, RELEASE_DATE)

    def last_error(self, *args: Any, **kwargs: Any) -> tuple[int, str]:
        """The stored (code, message) of the last call; it does not reset anything."""
        check_noargs("last_error", args, kwargs)
        return self._error

    last_error.api_convention = NOARGS  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ account, terminal

    @_api(NOARGS)
    def account_info(self) -> Any:
        session = self._require_session()
        return self._broker().account_info(session.login, session.investor)

    @_api(NOARGS)
    def terminal_info(self) -> TerminalInfo:
        session = self._session
        broker = self._world.brokers.get(session.server) if session else None
        connected = self._broker_connected and broker is not None
        digest = hashlib.md5(self.name.encode(), usedforsecurity=False).hexdigest().upper()
        appdata = "C:\\users\\trader\\AppData\\Roaming\\MetaQuotes\\Terminal"
        return TerminalInfo(
            connected=connected,
            dlls_allowed=False,
            trade_allowed=self._algo_trading,
            tradeapi_disabled=self._tradeapi_disabled,
            build=BUILD,
            maxbars=100000,
            codepage=0,
            ping_last=25_000 if connected else 0,
            company=broker.server.company if broker else "MetaQuotes Ltd.",
            name=TERMINAL_NAME,
            language="English",
            path=f"C:\\Program Files\\{TERMINAL_NAME}\\{self.name}",
            data_path=f"{appdata}\\{digest}",
            commondata_path=f"{appdata}\\Common",
        )

    # ------------------------------------------------------------------ symbols

    @_api(NOARGS)
    def symbols_total(self) -> int:
        return len(self._broker().symbols())

    @_api(KEYWORDS)
    def symbols_get(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        if len(args) > 1:
            raise invalid("Invalid number of arguments")
        group = None
        if args:
            group = args[0]
            if not isinstance(group, str) or len(group) > MAX_GROUP:
                raise invalid("Invalid 1st unnamed argument")
        if kwargs.get("group") is not None:
            group = text_arg(kwargs["group"], "group", MAX_GROUP)
        broker = self._broker()
        selected, currency = self._market_watch(broker), self._currency(broker)
        return tuple(
            broker.symbol_info(spec.name, spec.name in selected, currency)
            for spec in broker.symbols()
            if group is None or match_group(spec.name, group)
        )

    @_api(POSITIONAL)
    def symbol_info(self, *args: Any) -> Any:
        broker = self._broker()
        (value,) = parse_tuple("symbol_info", args, "O")
        name = self._spec_name(broker, value)
        selected = name in self._market_watch(broker)
        return broker.symbol_info(name, selected, self._currency(broker))

    @_api(POSITIONAL)
    def symbol_info_tick(self, *args: Any) -> Any:
        broker = self._broker()
        (value,) = parse_tuple("symbol_info_tick", args, "O")
        name = self._spec_name(broker, value)
        self._require_feed()
        return broker.tick_info(name)

    @_api(POSITIONAL, False)
    def symbol_select(self, *args: Any) -> bool:
        if len(args) not in (1, 2):
            raise invalid("Invalid arguments")
        broker = self._broker()
        name = self._spec_name(broker, args[0])
        enable = bool(args[1]) if len(args) == 2 else True
        watch = self._market_watch(broker)
        if enable:
            watch.add(name)
            return True
        login = self._require_session().login
        busy = (
            name in self._books
            or broker.positions(login, symbol=name)
            or broker.orders(login, symbol=name)
        )
        if busy:
            raise CallError(-1)
        watch.discard(name)
        return True

    # ------------------------------------------------------------------ market depth

    @_api(POSITIONAL, False)
    def market_book_add(self, *args: Any) -> bool:
        broker = self._broker()
        (value,) = parse_tuple("market_book_add", args, "O")
        name = self._spec_name(broker, value)
        self._market_watch(broker).add(name)
        self._books.add(name)
        return True

    @_api(POSITIONAL)
    def market_book_get(self, *args: Any) -> tuple[BookInfo, ...]:
        broker = self._broker()
        (value,) = parse_tuple("market_book_get", args, "O")
        name = self._spec_name(broker, value)
        if name not in self._books:
            raise CallError(-1)
        self._require_feed()
        return synthetic_book(broker, name)

    @_api(POSITIONAL, False)
    def market_book_release(self, *args: Any) -> bool:
        broker = self._broker()
        (value,) = parse_tuple("market_book_release", args, "O")
        name = self._spec_name(broker, value)
        if name not in self._books:
            raise CallError(-1)
        self._books.discard(name)
        return True

    # ------------------------------------------------------------------ bars and ticks

    def _data_symbol(self, value: Any) -> tuple[Broker, str]:
        broker = self._broker()
        name = self._spec_name(broker, value)
        self._require_feed()
        return broker, name

    @staticmethod
    def _history(query: Callable[..., np.ndarray], *args: Any) -> np.ndarray:
        """Run a Market query: unknown symbol → -1, refused size or range → -2."""
        try:
            return query(*args)
        except KeyError:
            raise CallError(-1) from None
        except ValueError:
            raise CallError(-2) from None

    @_api(POSITIONAL)
    def copy_rates_from(self, *args: Any) -> np.ndarray:
        symbol, timeframe, date_from, count = parse_tuple("copy_rates_from", args, "OiOi")
        symbol_arg(symbol)
        timeframe_arg(timeframe)
        date_s = date_arg(date_from, "date_from")
        broker, name = self._data_symbol(symbol)
        if count <= 0:
            raise CallError(-2)
        return self._history(broker.market.rates_from, name, timeframe, date_s, count)

    @_api(POSITIONAL)
    def copy_rates_from_pos(self, *args: Any) -> np.ndarray:
        symbol, timeframe, start_pos, count = parse_tuple("copy_rates_from_pos", args, "Oiii")
        symbol_arg(symbol)
        timeframe_arg(timeframe)
        broker, name = self._data_symbol(symbol)
        if start_pos < 0 or count <= 0:
            raise CallError(-2)
        return self._history(broker.market.rates_from_pos, name, timeframe, start_pos, count)

    @_api(POSITIONAL)
    def copy_rates_range(self, *args: Any) -> np.ndarray:
        symbol, timeframe, date_from, date_to = parse_tuple("copy_rates_range", args, "OiOO")
        symbol_arg(symbol)
        timeframe_arg(timeframe)
        from_s, to_s = date_arg(date_from, "date_from"), date_arg(date_to, "date_to")
        broker, name = self._data_symbol(symbol)
        return self._history(broker.market.rates_range, name, timeframe, from_s, to_s)

    @_api(POSITIONAL)
    def copy_ticks_from(self, *args: Any) -> np.ndarray:
        symbol, date_from, count, flags = parse_tuple("copy_ticks_from", args, "OOii")
        symbol_arg(symbol)
        from_s = date_arg(date_from, "date_from")
        broker, name = self._data_symbol(symbol)
        if count <= 0:
            raise CallError(-2)
        return self._history(broker.market.ticks_from, name, from_s * 1000, count, flags)

    @_api(POSITIONAL)
    def copy_ticks_range(self, *args: Any) -> np.ndarray:
        symbol, date_from, date_to, flags = parse_tuple("copy_ticks_range", args, "OOOi")
        symbol_arg(symbol)
        from_s, to_s = date_arg(date_from, "date_from"), date_arg(date_to, "date_to")
        broker, name = self._data_symbol(symbol)
        return self._history(broker.market.ticks_range, name, from_s * 1000, to_s * 1000, flags)

    # ------------------------------------------------------------------ orders, positions

    @_api(NOARGS)
    def orders_total(self) -> int:
        return len(self._broker().orders(self._require_session().login))

    @_api(KEYWORDS)
    def orders_get(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        filters = live_filters(args, kwargs)
        return self._broker().orders(self._require_session().login, **filters)

    @_api(NOARGS)
    def positions_total(self) -> int:
        return len(self._broker().positions(self._require_session().login))

    @_api(KEYWORDS)
    def positions_get(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        filters = live_filters(args, kwargs)
        return self._broker().positions(self._require_session().login, **filters)

    @_api(POSITIONAL)
    def history_orders_total(self, *args: Any) -> int:
        query = history_dates(args)
        return len(self._broker().history_orders(self._require_session().login, **query))

    @_api(KEYWORDS)
    def history_orders_get(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        query = history_query(args, kwargs)
        return self._broker().history_orders(self._require_session().login, **query)

    @_api(POSITIONAL)
    def history_deals_total(self, *args: Any) -> int:
        query = history_dates(args)
        return len(self._broker().history_deals(self._require_session().login, **query))

    @_api(KEYWORDS)
    def history_deals_get(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        query = history_query(args, kwargs)
        return self._broker().history_deals(self._require_session().login, **query)

    # ------------------------------------------------------------------ trading

    @_api(POSITIONAL)
    def order_calc_margin(self, *args: Any) -> float:
        action, symbol, volume, price = parse_tuple("order_calc_margin", args, "kOdd")
        broker = self._broker()
        name = self._spec_name(broker, symbol)
        login = self._require_session().login
        margin = broker.order_calc_margin(login, action, name, volume, price)
        if margin is None:
            raise CallError(-1)
        return margin

    @_api(POSITIONAL)
    def order_calc_profit(self, *args: Any) -> float:
        action, symbol, volume, open_, close = parse_tuple("order_calc_profit", args, "kOddd")
        broker = self._broker()
        name = self._spec_name(broker, symbol)
        login = self._require_session().login
        profit = broker.order_calc_profit(login, action, name, volume, open_, close)
        if profit is None:
            raise CallError(-1)
        return profit

    def _terminal_refusal(self, *, sending: bool) -> int | None:
        """A retcode the terminal itself answers with, without reaching the broker."""
        if sending and self._fail_next is not None:
            retcode, self._fail_next = self._fail_next, None
            return retcode
        if not self._algo_trading:
            return c.TRADE_RETCODE_CLIENT_DISABLES_AT
        if not self._broker_connected:
            return c.TRADE_RETCODE_CONNECTION
        return None

    @_api(KEYWORDS)
    def order_check(self, *args: Any, **kwargs: Any) -> Any:
        request = request_arg(args, kwargs)
        session = self._require_session()
        retcode = self._terminal_refusal(sending=False)
        if retcode is not None:
            return OrderCheckResult(
                retcode=retcode,
                comment=trade_comment(retcode),
                request=TradeRequest(**request),
            )
        result = self._broker().order_check(session.login, request, investor=session.investor)
        return _with_request(result, request)

    @_api(KEYWORDS, locked=False)
    def order_send(self, *args: Any, **kwargs: Any) -> Any:
        request = request_arg(args, kwargs)
        with self._world.lock:
            if self._tradeapi_disabled:
                raise CallError(-8)
            session = self._require_session()
            retcode = self._terminal_refusal(sending=True)
            if retcode is not None:
                return OrderSendResult(
                    retcode=retcode,
                    comment=trade_comment(retcode),
                    request=TradeRequest(**request),
                )
            result = self._broker().order_send(session.login, request, investor=session.investor)
            result = _with_request(result, request)
            hold, self._after_execute_s = self._after_execute_s, 0.0
        if hold > 0:
            time.sleep(hold)
        return result

    # ------------------------------------------------------------------ package helpers

    def Buy(self, symbol: Any, volume: Any, price: Any = None, *, comment: Any = None,
            ticket: Any = None) -> Any:  # fmt: skip
        """The package's ``Buy`` helper (see simulator.helpers)."""
        return helpers.market_deal(self, c.ORDER_TYPE_BUY, symbol, volume, price, comment, ticket)

    def Sell(self, symbol: Any, volume: Any, price: Any = None, *, comment: Any = None,
             ticket: Any = None) -> Any:  # fmt: skip
        """The package's ``Sell`` helper (see simulator.helpers)."""
        return helpers.market_deal(self, c.ORDER_TYPE_SELL, symbol, volume, price, comment, ticket)

    def Close(self, symbol: Any, *, comment: Any = None, ticket: Any = None) -> Any:
        """The package's ``Close`` helper (see simulator.helpers)."""
        return helpers.close(self, symbol, comment, ticket)


API_FUNCTIONS: tuple[str, ...] = (
    "initialize",
    "login",
    "shutdown",
    "version",
    "last_error",
    "account_info",
    "terminal_info",
    "symbols_total",
    "symbols_get",
    "symbol_info",
    "symbol_info_tick",
    "symbol_select",
    "market_book_add",
    "market_book_get",
    "market_book_release",
    "copy_rates_from",
    "copy_rates_from_pos",
    "copy_rates_range",
    "copy_ticks_from",
    "copy_ticks_range",
    "orders_total",
    "orders_get",
    "order_calc_margin",
    "order_calc_profit",
    "order_check",
    "order_send",
    "positions_total",
    "positions_get",
    "history_orders_total",
    "history_orders_get",
    "history_deals_total",
    "history_deals_get",
)
HELPERS: tuple[str, ...] = ("Buy", "Sell", "Close")


def _with_request(result: Any, request: dict[str, Any]) -> Any:
    """Make sure the result echoes the parsed request as a TradeRequest."""
    if isinstance(result[-1], TradeRequest):
        return result
    return type(result)((*tuple(result)[:-1], TradeRequest(**request)))
