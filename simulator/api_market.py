"""Symbol and market data functions: symbols, Market Watch, market depth, bars and ticks.

With the broker link down (``controls.set_broker_connected(False)``) symbol queries are
answered from the terminal's state, while market data (ticks, bars, book) fails with
``(-1, 'Terminal: Call failed')``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from simulator.api_core import KEYWORDS, NOARGS, POSITIONAL, TerminalCore, api
from simulator.arguments import (
    MAX_GROUP,
    CallError,
    date_arg,
    invalid,
    parse_tuple,
    symbol_arg,
    text_arg,
    timeframe_arg,
)
from simulator.broker import Broker
from simulator.depth import synthetic_book
from simulator.groups import match_group
from simulator.structs import BookInfo


class MarketFunctions(TerminalCore):
    """What the terminal knows of symbols and prices."""

    @api(NOARGS)
    def symbols_total(self) -> int:
        return len(self._broker().symbols())

    @api(KEYWORDS)
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

    @api(POSITIONAL)
    def symbol_info(self, *args: Any) -> Any:
        broker = self._broker()
        (value,) = parse_tuple("symbol_info", args, "O")
        name = self._spec_name(broker, value)
        selected = name in self._market_watch(broker)
        return broker.symbol_info(name, selected, self._currency(broker))

    @api(POSITIONAL)
    def symbol_info_tick(self, *args: Any) -> Any:
        broker = self._broker()
        (value,) = parse_tuple("symbol_info_tick", args, "O")
        name = self._spec_name(broker, value)
        self._require_feed()
        return broker.tick_info(name)

    @api(POSITIONAL, False)
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
            name in self._state.books
            or broker.positions(login, symbol=name)
            or broker.orders(login, symbol=name)
        )
        if busy:
            raise CallError(-1)
        watch.discard(name)
        return True

    # ------------------------------------------------------------------ market depth

    @api(POSITIONAL, False)
    def market_book_add(self, *args: Any) -> bool:
        broker = self._broker()
        (value,) = parse_tuple("market_book_add", args, "O")
        name = self._spec_name(broker, value)
        self._market_watch(broker).add(name)
        self._state.books.add(name)
        return True

    @api(POSITIONAL)
    def market_book_get(self, *args: Any) -> tuple[BookInfo, ...]:
        broker = self._broker()
        (value,) = parse_tuple("market_book_get", args, "O")
        name = self._spec_name(broker, value)
        if name not in self._state.books:
            raise CallError(-1)
        self._require_feed()
        return synthetic_book(broker, name)

    @api(POSITIONAL, False)
    def market_book_release(self, *args: Any) -> bool:
        broker = self._broker()
        (value,) = parse_tuple("market_book_release", args, "O")
        name = self._spec_name(broker, value)
        if name not in self._state.books:
            raise CallError(-1)
        self._state.books.discard(name)
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

    @api(POSITIONAL)
    def copy_rates_from(self, *args: Any) -> np.ndarray:
        symbol, timeframe, date_from, count = parse_tuple("copy_rates_from", args, "OiOi")
        symbol_arg(symbol)
        timeframe_arg(timeframe)
        date_s = date_arg(date_from, "date_from")
        broker, name = self._data_symbol(symbol)
        if count <= 0:
            raise CallError(-2)
        return self._history(broker.market.rates_from, name, timeframe, date_s, count)

    @api(POSITIONAL)
    def copy_rates_from_pos(self, *args: Any) -> np.ndarray:
        symbol, timeframe, start_pos, count = parse_tuple("copy_rates_from_pos", args, "Oiii")
        symbol_arg(symbol)
        timeframe_arg(timeframe)
        broker, name = self._data_symbol(symbol)
        if start_pos < 0 or count <= 0:
            raise CallError(-2)
        return self._history(broker.market.rates_from_pos, name, timeframe, start_pos, count)

    @api(POSITIONAL)
    def copy_rates_range(self, *args: Any) -> np.ndarray:
        symbol, timeframe, date_from, date_to = parse_tuple("copy_rates_range", args, "OiOO")
        symbol_arg(symbol)
        timeframe_arg(timeframe)
        from_s, to_s = date_arg(date_from, "date_from"), date_arg(date_to, "date_to")
        broker, name = self._data_symbol(symbol)
        return self._history(broker.market.rates_range, name, timeframe, from_s, to_s)

    @api(POSITIONAL)
    def copy_ticks_from(self, *args: Any) -> np.ndarray:
        symbol, date_from, count, flags = parse_tuple("copy_ticks_from", args, "OOii")
        symbol_arg(symbol)
        from_s = date_arg(date_from, "date_from")
        broker, name = self._data_symbol(symbol)
        if count <= 0:
            raise CallError(-2)
        return self._history(broker.market.ticks_from, name, from_s * 1000, count, flags)

    @api(POSITIONAL)
    def copy_ticks_range(self, *args: Any) -> np.ndarray:
        symbol, date_from, date_to, flags = parse_tuple("copy_ticks_range", args, "OOOi")
        symbol_arg(symbol)
        from_s, to_s = date_arg(date_from, "date_from"), date_arg(date_to, "date_to")
        broker, name = self._data_symbol(symbol)
        return self._history(broker.market.ticks_range, name, from_s * 1000, to_s * 1000, flags)
