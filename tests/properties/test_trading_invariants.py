"""Trading invariants of the simulator, checked with hypothesis through its MetaTrader5-like
module only (``simulator.module.make_module``), the way a bot sees it. The clock is the
simulator's test control (prices move when it advances).

After every step of a random session of market orders, partial and full closes, pending orders
placed and cancelled, and time passing, on a hedging or a netting account:

* equity = balance + floating profit + credit;
* floating profit = the positions' profit and swap;
* a deal's volume never exceeds its order's, nor do an order's deals together;
* a netting account holds at most one position per symbol;
* the history totals equal the number of records the get-functions return, and so do
  positions_total / orders_total;

and closing everything (positions and pending orders) returns the margin to 0.

``PROPERTY_EXAMPLES`` sets the number of sessions (default 40; ``make test-stress`` runs more).
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from simulator.module import make_module
from simulator.terminal import SimulatedTerminal
from simulator.world import World

TUESDAY_NOON_MS = 1_764_072_000_000  # every market of the demo catalog open
WEEK_MS = 7 * 86_400_000
ACCOUNTS = {"hedging": (10001, "demo-10001"), "netting": (10003, "demo-10003")}
SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "BTCUSD", "EURUSD.ecn"]
FAR = 2_000_000_000  # history window end (2033): everything
EPS = 1e-6

steps = st.one_of(
    st.tuples(st.just("open"), st.sampled_from(SYMBOLS), st.booleans(), st.integers(1, 30)),
    st.tuples(st.just("close"), st.integers(0, 50), st.booleans(), st.integers(1, 30)),
    st.tuples(st.just("pending"), st.sampled_from(SYMBOLS), st.booleans(), st.integers(1, 10)),
    st.tuples(st.just("cancel"), st.integers(0, 50), st.booleans(), st.integers(0, 0)),
    st.tuples(st.just("wait"), st.integers(1, 48 * 60), st.booleans(), st.integers(0, 0)),
)


class Session:
    """One simulated terminal logged into one account."""

    def __init__(self, account: str) -> None:
        self.terminal = SimulatedTerminal(World())
        self.terminal.controls.freeze_time(TUESDAY_NOON_MS)
        self.now_ms = TUESDAY_NOON_MS  # waits may carry the clock into a weekend's closed market
        self.mt5 = make_module(self.terminal)
        login, password = ACCOUNTS[account]
        assert self.mt5.initialize(login=login, password=password, server="Sim-Demo")
        self.done = 0  # requests the simulator executed or placed

    def count(self, result: Any) -> Any:
        if result is not None and result.retcode in (10008, 10009):
            self.done += 1
        return result

    def send(self, request: dict[str, Any]) -> Any:
        """order_send, trying the filling policies a symbol may refuse (10030) in turn."""
        result = None
        for filling in (self.mt5.ORDER_FILLING_FOK, self.mt5.ORDER_FILLING_IOC,
                        self.mt5.ORDER_FILLING_RETURN):  # fmt: skip
            result = self.mt5.order_send({**request, "type_filling": filling})
            if result is None or result.retcode != self.mt5.TRADE_RETCODE_INVALID_FILL:
                return self.count(result)
        return result

    def market(self, symbol: str, buy: bool, volume: float, position: int = 0) -> Any:
        tick = self.mt5.symbol_info_tick(symbol)
        request = {
            "action": self.mt5.TRADE_ACTION_DEAL,
            "symbol": symbol,
            "volume": volume,
            "type": self.mt5.ORDER_TYPE_BUY if buy else self.mt5.ORDER_TYPE_SELL,
            "price": tick.ask if buy else tick.bid,
            "deviation": 1000,
        }
        if position:
            request["position"] = position
        return self.send(request)

    def step(self, kind: str, a: Any, b: bool, n: int) -> None:
        mt5 = self.mt5
        if kind == "open":
            info = mt5.symbol_info(a)
            self.market(a, b, round(info.volume_min * n, 8))
        elif kind == "close":
            positions = mt5.positions_get() or ()
            if positions:
                p = positions[a % len(positions)]
                info = mt5.symbol_info(p.symbol)
                part = round(max(info.volume_min, p.volume / n), 2)
                volume = p.volume if b or part >= p.volume else part
                self.market(p.symbol, p.type == mt5.POSITION_TYPE_SELL, volume, p.ticket)
        elif kind == "pending":
            info, tick = mt5.symbol_info(a), mt5.symbol_info_tick(a)
            gap = info.point * (1000 + info.trade_stops_level)
            price = round(tick.ask - gap if b else tick.bid + gap, info.digits)
            self.send(
                {
                    "action": mt5.TRADE_ACTION_PENDING,
                    "symbol": a,
                    "volume": round(info.volume_min * n, 8),
                    "type": mt5.ORDER_TYPE_BUY_LIMIT if b else mt5.ORDER_TYPE_SELL_LIMIT,
                    "price": price,
                }
            )
        elif kind == "cancel":
            orders = mt5.orders_get() or ()
            if orders:
                order = orders[a % len(orders)]
                mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": order.ticket})
        else:  # time passes: prices move, swaps may be charged, pending orders may trigger
            self.advance(a * 60_000)

    def advance(self, ms: int) -> None:
        self.terminal.controls.advance_time(ms)
        self.now_ms += ms

    def close_everything(self) -> None:
        """Close all at the next Tuesday noon: every market open, whatever the waits did."""
        mt5 = self.mt5
        self.advance((TUESDAY_NOON_MS - self.now_ms) % WEEK_MS)
        for order in mt5.orders_get() or ():
            mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": order.ticket})
        for p in mt5.positions_get() or ():
            result = self.market(p.symbol, p.type == mt5.POSITION_TYPE_SELL, p.volume, p.ticket)
            assert result is not None and result.retcode == mt5.TRADE_RETCODE_DONE, result


def check_invariants(mt5: Any) -> None:
    account = mt5.account_info()
    positions = mt5.positions_get() or ()
    orders = mt5.orders_get() or ()
    assert abs(account.equity - (account.balance + account.profit + account.credit)) < 0.011
    floating = sum(p.profit + p.swap for p in positions)
    assert abs(account.profit - floating) < 0.011 * max(1, len(positions))
    assert mt5.positions_total() == len(positions)
    assert mt5.orders_total() == len(orders)
    history_orders = mt5.history_orders_get(0, FAR) or ()
    history_deals = mt5.history_deals_get(0, FAR) or ()
    assert mt5.history_orders_total(0, FAR) == len(history_orders)
    assert mt5.history_deals_total(0, FAR) == len(history_deals)
    volume_of = {o.ticket: o.volume_initial for o in history_orders}
    volume_of.update({o.ticket: o.volume_initial for o in orders})
    dealt: dict[int, float] = defaultdict(float)
    for deal in history_deals:
        if deal.order:
            assert deal.order in volume_of, f"deal {deal.ticket} of an unknown order"
            assert deal.volume <= volume_of[deal.order] + EPS
            dealt[deal.order] += deal.volume
    for order, volume in dealt.items():
        assert volume <= volume_of[order] + EPS, (
            f"order {order}: {volume} dealt of {volume_of[order]}"
        )
    if account.margin_mode != mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING:
        symbols = [p.symbol for p in positions]
        assert len(symbols) == len(set(symbols)), f"netting with two positions: {symbols}"


@settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(account=st.sampled_from(sorted(ACCOUNTS)), session=st.lists(steps, max_size=25))
@example(  # waits carry the clock to Saturday noon, where the forex market is closed
    account="hedging", session=[("open", "EURUSD", True, 1)] + [("wait", 48 * 60, True, 0)] * 2
)
def test_trading_invariants_hold_through_any_session(
    account: str, session: list[tuple[str, Any, bool, int]]
) -> None:
    sim = Session(account)
    check_invariants(sim.mt5)
    for step in session:
        sim.step(*step)
        check_invariants(sim.mt5)
    event(f"requests executed: {min(sim.done, 5)}{'+' if sim.done >= 5 else ''}")
    sim.close_everything()
    check_invariants(sim.mt5)
    final = sim.mt5.account_info()
    assert sim.mt5.positions_total() == 0 and sim.mt5.orders_total() == 0
    assert abs(final.margin) < EPS, f"margin {final.margin} with nothing open"
    assert abs(final.equity - (final.balance + final.credit)) < 0.011


KNOWN_SESSION = [
    ("open", "EURUSD", True, 3),
    ("open", "EURUSD", True, 2),
    ("wait", 600, True, 0),
    ("open", "EURUSD", False, 1),
    ("close", 0, False, 2),
    ("pending", "XAUUSD", True, 1),
    ("open", "BTCUSD", False, 4),
    ("open", "EURUSD.ecn", True, 1),
]


def test_the_sessions_really_trade() -> None:
    """The steps execute (the properties are not vacuous): a known session on each account."""
    for account in ACCOUNTS:
        sim = Session(account)
        for step in KNOWN_SESSION:
            sim.step(*step)
            check_invariants(sim.mt5)
        assert sim.done == len([s for s in KNOWN_SESSION if s[0] != "wait"]), account
        positions = sim.mt5.positions_get()
        expected = 3 if account == "netting" else 5  # netting: EURUSD, BTCUSD, EURUSD.ecn
        assert len(positions) == expected, (account, positions)
        assert sim.mt5.account_info().margin > 0
        sim.close_everything()
        assert sim.mt5.account_info().margin == 0
