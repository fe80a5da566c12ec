"""Trading functions: live and historical orders, positions and deals, the margin and
profit calculators, order_check and order_send, and the package's Buy/Sell/Close helpers.

With the broker link down the terminal answers position, order and history queries from its
(live) state and trade requests get retcode 10031; with AlgoTrading off they get 10027; with
the Python API switched off order_send returns None with ``(-8, ...)``.
"""

from __future__ import annotations

import time
from typing import Any

from simulator import constants as c
from simulator import helpers
from simulator.api_core import KEYWORDS, NOARGS, POSITIONAL, TerminalCore, api
from simulator.arguments import (
    CallError,
    history_dates,
    history_query,
    live_filters,
    parse_tuple,
    request_arg,
)
from simulator.structs import OrderCheckResult, OrderSendResult, TradeRequest
from simulator.trade_comments import trade_comment


class TradingFunctions(TerminalCore):
    """Orders, positions, history and trade requests of the logged-in account."""

    @api(NOARGS)
    def orders_total(self) -> int:
        return len(self._broker().orders(self._require_session().login))

    @api(KEYWORDS)
    def orders_get(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        filters = live_filters(args, kwargs)
        return self._broker().orders(self._require_session().login, **filters)

    @api(NOARGS)
    def positions_total(self) -> int:
        return len(self._broker().positions(self._require_session().login))

    @api(KEYWORDS)
    def positions_get(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        filters = live_filters(args, kwargs)
        return self._broker().positions(self._require_session().login, **filters)

    @api(POSITIONAL)
    def history_orders_total(self, *args: Any) -> int:
        query = history_dates(args)
        return len(self._broker().history_orders(self._require_session().login, **query))

    @api(KEYWORDS)
    def history_orders_get(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        query = history_query(args, kwargs)
        return self._broker().history_orders(self._require_session().login, **query)

    @api(POSITIONAL)
    def history_deals_total(self, *args: Any) -> int:
        query = history_dates(args)
        return len(self._broker().history_deals(self._require_session().login, **query))

    @api(KEYWORDS)
    def history_deals_get(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        query = history_query(args, kwargs)
        return self._broker().history_deals(self._require_session().login, **query)

    @api(POSITIONAL)
    def order_calc_margin(self, *args: Any) -> float:
        action, symbol, volume, price = parse_tuple("order_calc_margin", args, "kOdd")
        broker = self._broker()
        name = self._spec_name(broker, symbol)
        login = self._require_session().login
        margin = broker.order_calc_margin(login, action, name, volume, price)
        if margin is None:
            raise CallError(-1)
        return margin

    @api(POSITIONAL)
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
        faults = self._state.faults
        if sending and faults.fail_next is not None:
            retcode, faults.fail_next = faults.fail_next, None
            return retcode
        if not faults.algo_trading:
            return c.TRADE_RETCODE_CLIENT_DISABLES_AT
        if not faults.broker_connected:
            return c.TRADE_RETCODE_CONNECTION
        return None

    @api(KEYWORDS)
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

    @api(KEYWORDS, locked=False)
    def order_send(self, *args: Any, **kwargs: Any) -> Any:
        request = request_arg(args, kwargs)
        with self._world.lock:
            if self._state.faults.tradeapi_disabled:
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
            faults = self._state.faults
            hold, faults.after_execute_s = faults.after_execute_s, 0.0
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


def _with_request(result: Any, request: dict[str, Any]) -> Any:
    """Make sure the result echoes the parsed request as a TradeRequest."""
    if isinstance(result[-1], TradeRequest):
        return result
    return type(result)((*tuple(result)[:-1], TradeRequest(**request)))
