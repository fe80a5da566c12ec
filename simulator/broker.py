"""The trading engine of one broker server: accounts, symbols, trading and history.

Public methods are thread-safe (one lock per broker) and return the package's struct types.
Trade requests run on a copy of the account (``broker_actions``); ``order_send`` commits the
copy when it succeeds and the account can afford it, ``order_check`` reports on it and throws
it away, so both always agree. ``process()`` applies the ticks since its last pass: pending
orders fire, SL/TP close positions, orders expire (``broker_triggers``), and accounts below
their stop-out level lose their most losing positions (``broker_funds``, which also books
deposits, withdrawals and credit).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from typing import Any

from simulator import constants as c
from simulator.broker_actions import HANDLERS, Trade
from simulator.broker_exec import Ledger
from simulator.broker_funds import balance_operation, money_deal, stop_out
from simulator.broker_money import Pricing
from simulator.broker_state import AccountState
from simulator.broker_triggers import Triggers
from simulator.broker_views import select_history, select_live, symbol_info_struct, tick_struct
from simulator.market import Market, in_schedule
from simulator.specs import AccountSpec, ServerSpec, SymbolSpec
from simulator.structs import (
    AccountInfo,
    OrderCheckResult,
    OrderSendResult,
    SymbolInfo,
    Tick,
    TradeDeal,
    TradeOrder,
    TradePosition,
    TradeRequest,
)
from simulator.trading_rules import comment_for

FIRST_TICKET = 50_000_000
_DAY_MS = 86_400_000
_SUCCESS = {c.TRADE_RETCODE_DONE, c.TRADE_RETCODE_PLACED}


class Broker:
    def __init__(self, server: ServerSpec, market: Market) -> None:
        self.server = server
        self.market = market
        self._symbols: dict[str, SymbolSpec] = {s.name: s for s in server.symbols}
        self._accounts: dict[int, AccountState] = {}
        self._lock = threading.RLock()
        self._tickets = itertools.count(FIRST_TICKET)
        self._request_ids = itertools.count(1)
        self.pricing = Pricing(self._quote, self._symbols)
        self._triggers = Triggers(self.pricing, self._new_ticket, self._affordable)
        self._processed_ms = market.now_ms()

    # --- accounts and symbols -----------------------------------------------------------

    def add_accounts(self, accounts: Iterable[AccountSpec]) -> None:
        """Open accounts (copies of the specs) with their initial deposit deal, dated at the
        start of the market's history so that it precedes every trade."""
        with self._lock:
            now = int(self.market.history_start_s) * 1000
            for spec in accounts:
                state = AccountState(spec=AccountSpec(**vars(spec)))
                ticket, deposit = self._new_ticket(), c.DEAL_TYPE_BALANCE
                state.deals.append(
                    money_deal(ticket, now, deposit, spec.balance, "Initial deposit")
                )
                self._accounts[spec.login] = state

    def authenticate(self, login: int, password: str) -> str | None:
        state = self._accounts.get(login)
        if state is None:
            return None
        if password == state.spec.password:
            return "master"
        return "investor" if password == state.spec.investor_password else None

    def has_account(self, login: int) -> bool:
        return login in self._accounts

    def currency_of(self, login: int) -> str:
        """The account's deposit currency (fixed at its opening: nothing to process first)."""
        return self._accounts[login].spec.currency

    def symbol(self, name: str) -> SymbolSpec | None:
        return self._symbols.get(name)

    def symbols(self) -> list[SymbolSpec]:
        return list(self._symbols.values())

    def tick_info(self, name: str) -> Tick:
        return tick_struct(self.market.tick(name))

    def symbol_info(self, name: str, selected: bool, currency: str = "USD") -> SymbolInfo:
        """Live SymbolInfo; tick values are given in ``currency`` (the logged-in account's)."""
        spec = self._symbols[name]
        tick, stats = self.tick_info(name), self.market.day_stats(name)
        rate = self.pricing.rate(spec.currency_profit, currency) or 0.0
        tick_value = spec.tick_size * spec.trade_contract_size * rate
        return symbol_info_struct(spec, tick, stats, tick_value, selected, self.server.company)

    def account_info(self, login: int, investor: bool) -> AccountInfo:
        with self._lock:
            self.process()
            state = self._accounts[login]
            spec, money = state.spec, self.pricing.figures(state)
            return AccountInfo(
                login=spec.login,
                trade_mode=spec.trade_mode,
                leverage=spec.leverage,
                limit_orders=spec.limit_orders,
                margin_so_mode=c.ACCOUNT_STOPOUT_MODE_PERCENT,
                trade_allowed=not investor,
                trade_expert=spec.trade_expert,
                margin_mode=spec.margin_mode,
                currency_digits=spec.currency_digits,
                fifo_close=spec.fifo_close,
                margin_so_call=spec.margin_so_call,
                margin_so_so=spec.margin_so_so,
                name=spec.name,
                server=self.server.name,
                currency=spec.currency,
                company=self.server.company,
                **money,
            )

    # --- positions, orders, history -------------------------------------------------------

    def positions(
        self,
        login: int,
        *,
        symbol: str | None = None,
        group: str | None = None,
        ticket: int | None = None,
    ) -> tuple[TradePosition, ...]:
        with self._lock:
            self.process()
            state = self._accounts[login]
            rows = select_live(list(state.positions.values()), symbol, group, ticket)
            digits = state.spec.currency_digits
            return tuple(
                p.struct(
                    self.pricing.close_price(p),
                    self.pricing.position_profit(p, state.spec.currency, digits),
                )
                for p in rows
            )

    def orders(
        self,
        login: int,
        *,
        symbol: str | None = None,
        group: str | None = None,
        ticket: int | None = None,
    ) -> tuple[TradeOrder, ...]:
        with self._lock:
            self.process()
            rows = select_live(list(self._accounts[login].orders.values()), symbol, group, ticket)
            return tuple(o.struct(self.pricing.order_price(o)) for o in rows)

    def history_orders(
        self,
        login: int,
        *,
        date_from: int | None = None,
        date_to: int | None = None,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[TradeOrder, ...]:
        with self._lock:
            self.process()
            rows = select_history(
                self._accounts[login].history_orders,
                lambda o: (o.ticket, o.position_id, o.time_done_ms, o.symbol),
                date_from, date_to, group, ticket, position,
            )  # fmt: skip
            return tuple(o.struct() for o in rows)

    def history_deals(
        self,
        login: int,
        *,
        date_from: int | None = None,
        date_to: int | None = None,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[TradeDeal, ...]:
        with self._lock:
            self.process()
            rows = select_history(  # ticket= is the ORDER ticket of the deals, as in MT5
                self._accounts[login].deals,
                lambda d: (d.order, d.position_id, d.time_ms, d.symbol),
                date_from, date_to, group, ticket, position,
            )  # fmt: skip
            return tuple(d.struct() for d in rows)

    # --- trading --------------------------------------------------------------------------

    def order_check(
        self, login: int, request: dict[str, Any], *, investor: bool
    ) -> OrderCheckResult:
        with self._lock:
            self.process()
            echo = TradeRequest(**request)
            first = next(self._tickets)  # tickets a check allocates are given back
            self._tickets = itertools.count(first)
            try:
                code, trade = self._execute(login, request, investor)
            finally:
                self._tickets = itertools.count(first)
            if trade is None or code not in _SUCCESS:
                return OrderCheckResult(retcode=code, comment=comment_for(code), request=echo)
            return OrderCheckResult(
                retcode=0,
                comment=comment_for(0),
                request=echo,
                **self._checked_figures(self._accounts[login], trade.state),
            )

    def _checked_figures(self, before: AccountState, after: AccountState) -> dict[str, float]:
        """order_check's money: the balance after the trade, today's equity (the checked
        trade's own spread is not a loss yet), the margin after it and what that leaves free."""
        now, then = self.pricing.figures(before), self.pricing.figures(after)
        digits = after.spec.currency_digits
        equity, margin = now["equity"], then["margin"]
        return {
            "balance": then["balance"],
            "equity": equity,
            "profit": round(equity - then["balance"] - then["credit"], digits),
            "margin": margin,
            "margin_free": round(equity - margin, digits),
            "margin_level": round(equity / margin * 100.0, 2) if margin > 0 else 0.0,
        }

    def order_send(self, login: int, request: dict[str, Any], *, investor: bool) -> OrderSendResult:
        with self._lock:
            self.process()
            code, trade = self._execute(login, request, investor)
            if trade is not None and code in _SUCCESS:
                self._accounts[login] = trade.state
            result = trade.result if trade is not None else {}
            if code not in _SUCCESS:
                result = {k: v for k, v in result.items() if k in ("bid", "ask")}
            return OrderSendResult(
                retcode=code,
                comment=comment_for(code),
                request_id=next(self._request_ids),
                request=TradeRequest(**request),
                **result,
            )

    def _execute(
        self, login: int, request: dict[str, Any], investor: bool
    ) -> tuple[int, Trade | None]:
        state = self._accounts[login]
        if investor:
            return c.TRADE_RETCODE_TRADE_DISABLED, None
        if not state.spec.trade_expert:
            return c.TRADE_RETCODE_SERVER_DISABLES_AT, None
        handler = HANDLERS.get(request["action"])
        if handler is None:
            return c.TRADE_RETCODE_INVALID, None
        ledger = Ledger(state.clone(), self.pricing, self._new_ticket, self.market.now_ms())
        trade = Trade(ledger, request, self.symbol, self._quote, self._in_session)
        code = handler(trade)
        if code in _SUCCESS and not self._affordable(state, trade.state):
            code = c.TRADE_RETCODE_NO_MONEY
        return code, trade

    def order_calc_margin(
        self, login: int, order_type: int, symbol: str, volume: float, price: float
    ) -> float | None:
        spec, state = self._symbols.get(symbol), self._accounts.get(login)
        if spec is None or state is None or order_type > c.ORDER_TYPE_SELL_STOP_LIMIT:
            return None
        with self._lock:
            value = self.pricing.margin(
                spec, volume, price, state.spec.leverage, state.spec.currency
            )
        return None if value is None else round(value, state.spec.currency_digits)

    def order_calc_profit(
        self,
        login: int,
        order_type: int,
        symbol: str,
        volume: float,
        price_open: float,
        price_close: float,
    ) -> float | None:
        spec, state = self._symbols.get(symbol), self._accounts.get(login)
        if spec is None or state is None or order_type not in (0, 1):
            return None
        with self._lock:
            value = self.pricing.profit(
                spec,
                order_type == c.ORDER_TYPE_BUY,
                volume,
                price_open,
                price_close,
                state.spec.currency,
            )
        return None if value is None else round(value, state.spec.currency_digits)

    # --- server-side events ---------------------------------------------------------------

    def process(self) -> None:
        """Fire pending orders, SL/TP and expirations for the ticks up to market now."""
        with self._lock:
            now, last = self.market.now_ms(), self._processed_ms
            self._processed_ms = now
            watched: dict[str, list[int]] = {}
            for login, state in self._accounts.items():
                names = {o.symbol for o in state.orders.values()}
                names |= {p.symbol for p in state.positions.values() if p.sl or p.tp}
                for name in names:
                    watched.setdefault(name, []).append(login)
            for name in sorted(watched):
                for start in range(last + 1, now + 1, _DAY_MS):  # day chunks bound the arrays
                    for t in self.market.ticks_range(name, start, min(start + _DAY_MS - 1, now)):
                        self._apply_tick(name, watched[name], t)
                self._apply_tick(name, watched[name], self.market.tick(name))
            for state in self._accounts.values():
                for order in list(state.orders.values()):
                    if order.expires_at_s and order.expires_at_s * 1000 <= now:
                        self._triggers.expire(state, order, now)
                if state.positions:
                    stop_out(state, self.pricing, self.symbol, self._new_ticket, now)

    def fund(self, login: int, kind: str, amount: float, comment: str) -> TradeDeal:
        """A balance operation on ``login`` now (``broker_funds.balance_operation``)."""
        with self._lock:
            self.process()
            deal = balance_operation(
                self._accounts[login],
                self.pricing,
                kind=kind,
                amount=amount,
                comment=comment,
                ticket=self._new_ticket(),
                now_ms=self.market.now_ms(),
            )
            return deal.struct()

    def _apply_tick(self, name: str, logins: list[int], tick: Any) -> None:
        bid, ask, time_ms = float(tick["bid"]), float(tick["ask"]), int(tick["time_msc"])
        if bid <= 0:
            return
        spec = self._symbols[name]
        for login in logins:
            self._accounts[login] = self._triggers.on_tick(
                self._accounts[login], spec, bid, ask, time_ms
            )

    # --- helpers --------------------------------------------------------------------------

    def _new_ticket(self) -> int:
        return next(self._tickets)

    def _quote(self, name: str) -> tuple[float, float] | None:
        try:
            t = self.market.tick(name)
        except KeyError:
            return None
        return float(t["bid"]), float(t["ask"])

    def _in_session(self, spec: SymbolSpec) -> bool:
        return in_schedule(spec.trade_sessions, self.market.now_ms() // 1000)

    def _affordable(self, before: AccountState, after: AccountState) -> bool:
        """The money rule: a trade that adds margin must leave free margin >= 0."""
        old_margin = self.pricing.account_margin(before)
        money = self.pricing.figures(after)
        return money["margin"] <= old_margin + 1e-9 or money["margin_free"] >= 0
