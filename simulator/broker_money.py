"""Money arithmetic: margin and profit by calculation mode, currency conversion, account figures.

Formulas follow mt5-api-facts.md Appendix A. Amounts are computed in the symbol's margin or
profit currency and converted to the account currency with the broker's own quotes: the direct
pair (``EURUSD`` for EUR→USD, at bid), the inverse pair (1/ask), or a cross through USD. A
profit on a symbol whose base currency is the account's (USDJPY on a USD account) converts at
the trade's close price, as the terminal does (the docs' order_calc_profit sample: 300 points
of USDJPY make 276.54 USD bought and 278.09 USD sold).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from simulator import constants as c
from simulator.broker_state import AccountState, Order, Position, is_buy
from simulator.specs import SymbolSpec

LEVERAGED = {c.SYMBOL_CALC_MODE_FOREX, c.SYMBOL_CALC_MODE_CFDLEVERAGE}
PRICED = {
    c.SYMBOL_CALC_MODE_CFD,
    c.SYMBOL_CALC_MODE_CFDINDEX,
    c.SYMBOL_CALC_MODE_CFDLEVERAGE,
    c.SYMBOL_CALC_MODE_EXCH_STOCKS,
}
FUTURES = {c.SYMBOL_CALC_MODE_FUTURES, c.SYMBOL_CALC_MODE_EXCH_FUTURES}


def raw_margin(spec: SymbolSpec, volume: float, price: float, leverage: int) -> float:
    """Margin in the symbol's margin currency (margin rate 1)."""
    mode = spec.trade_calc_mode
    if mode in FUTURES:
        return volume * spec.margin_initial
    amount = volume * spec.trade_contract_size
    if mode in PRICED:
        amount *= price
    if mode in LEVERAGED:
        amount /= max(leverage, 1)
    return amount


def raw_profit(
    spec: SymbolSpec, buy: bool, volume: float, price_open: float, price_close: float
) -> float:
    """Profit in the symbol's profit currency."""
    move = (price_close - price_open) if buy else (price_open - price_close)
    if spec.trade_calc_mode in FUTURES:
        tick_value = spec.tick_size * spec.trade_contract_size
        return move / spec.tick_size * tick_value * volume
    return move * spec.trade_contract_size * volume


class Pricing:
    """Reads quotes from the market and turns volumes and prices into account money."""

    def __init__(
        self, quote: Callable[[str], tuple[float, float] | None], symbols: Mapping[str, SymbolSpec]
    ) -> None:
        self._quote = quote
        self._symbols = symbols
        self._pairs: dict[tuple[str, str], str] = {}
        self._indexed = 0

    def _pair(self, base: str, profit: str) -> str | None:
        if self._indexed != len(self._symbols):
            self._pairs = {}
            for spec in self._symbols.values():
                self._pairs.setdefault((spec.currency_base, spec.currency_profit), spec.name)
            self._indexed = len(self._symbols)
        return self._pairs.get((base, profit))

    def rate(self, src: str, dst: str, *, via_usd: bool = True) -> float | None:
        """How many ``dst`` one ``src`` is worth now, or None without a usable quote."""
        if src == dst:
            return 1.0
        direct = self._pair(src, dst)
        if direct and (q := self._quote(direct)) and q[0] > 0:
            return q[0]
        inverse = self._pair(dst, src)
        if inverse and (q := self._quote(inverse)) and q[1] > 0:
            return 1.0 / q[1]
        if via_usd and "USD" not in (src, dst):
            first, second = (
                self.rate(src, "USD", via_usd=False),
                self.rate("USD", dst, via_usd=False),
            )
            if first is not None and second is not None:
                return first * second
        return None

    def margin(
        self, spec: SymbolSpec, volume: float, price: float, leverage: int, currency: str
    ) -> float | None:
        rate = self.rate(spec.currency_margin, currency)
        return None if rate is None else raw_margin(spec, volume, price, leverage) * rate

    def profit(
        self,
        spec: SymbolSpec,
        buy: bool,
        volume: float,
        price_open: float,
        price_close: float,
        currency: str,
    ) -> float | None:
        if spec.currency_base == currency != spec.currency_profit and price_close > 0:
            rate: float | None = 1.0 / price_close  # the symbol is the rate: at the close price
        else:
            rate = self.rate(spec.currency_profit, currency)
        if rate is None:
            return None
        return raw_profit(spec, buy, volume, price_open, price_close) * rate

    # --- positions and accounts -------------------------------------------------------------

    def order_price(self, order: Order) -> float:
        """The price an order would fill at now: ask for the buy kinds, bid for the sell ones."""
        bid, ask = self._quote(order.symbol) or (0.0, 0.0)
        return ask if is_buy(order.type) else bid

    def close_price(self, position: Position) -> float:
        """The price a position would close at now: bid for a buy, ask for a sell."""
        quote = self._quote(position.symbol) or (0.0, 0.0)
        return quote[0] if position.type == c.POSITION_TYPE_BUY else quote[1]

    def position_profit(self, position: Position, currency: str, digits: int = 2) -> float:
        price = self.close_price(position)
        if price <= 0:
            return 0.0
        spec = self._symbols[position.symbol]
        value = self.profit(
            spec,
            position.type == c.POSITION_TYPE_BUY,
            position.volume,
            position.price_open,
            price,
            currency,
        )
        return round(value or 0.0, digits)

    def account_margin(self, state: AccountState) -> float:
        """Margin of all open positions; opposite volumes on one symbol use margin_hedged."""
        by_symbol: dict[str, list[Position]] = {}
        for position in state.positions.values():
            by_symbol.setdefault(position.symbol, []).append(position)
        total = 0.0
        for symbol, positions in by_symbol.items():
            total += self._symbol_margin(self._symbols[symbol], positions, state)
        return round(total, state.spec.currency_digits)

    def _symbol_margin(
        self, spec: SymbolSpec, positions: list[Position], state: AccountState
    ) -> float:
        sides = {c.POSITION_TYPE_BUY: [0.0, 0.0], c.POSITION_TYPE_SELL: [0.0, 0.0]}
        for p in positions:
            m = (
                self.margin(spec, p.volume, p.price_open, state.spec.leverage, state.spec.currency)
                or 0.0
            )
            sides[p.type][0] += p.volume
            sides[p.type][1] += m
        (buy_vol, buy_m), (sell_vol, sell_m) = sides[0], sides[1]
        hedged = min(buy_vol, sell_vol) if state.hedging else 0.0
        if hedged <= 0:
            return buy_m + sell_m
        per_lot = max(buy_m / buy_vol, sell_m / sell_vol)
        big_vol, big_m = (buy_vol, buy_m) if buy_vol >= sell_vol else (sell_vol, sell_m)
        unhedged = big_m / big_vol * (big_vol - hedged)
        ratio = spec.margin_hedged / spec.trade_contract_size if spec.trade_contract_size else 1
        return unhedged + 2 * hedged * per_lot * ratio

    def figures(self, state: AccountState) -> dict[str, Any]:
        """balance, credit, profit, equity, margin, margin_free, margin_level of an account."""
        spec = state.spec
        digits = spec.currency_digits
        profit = round(
            0.0
            + sum(self.position_profit(p, spec.currency, digits) for p in state.positions.values()),
            digits,
        )
        equity = round(spec.balance + spec.credit + profit, digits)
        margin = self.account_margin(state)
        level = round(equity / margin * 100.0, 2) if margin > 0 else 0.0
        return {
            "balance": round(spec.balance, digits),
            "credit": spec.credit,
            "profit": profit,
            "equity": equity,
            "margin": margin,
            "margin_free": round(equity - margin, digits),
            "margin_level": level,
        }
