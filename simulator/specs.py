"""Static descriptions of what a simulated broker offers: symbols, sessions and accounts.

These are plain data. ``simulator/catalog.py`` builds the default demo profile from them, the
price engine (``simulator/market.py``) reads the price-model and session fields, and the
trading engine (``simulator/broker.py``) reads the trading fields. All times are in the broker
server's clock ("server time": wall-clock of the server zone, written as epoch numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A weekly schedule: for each weekday (0 = Monday ... 6 = Sunday, like datetime.weekday()),
# a tuple of (start_minute, end_minute) windows in server time, end exclusive, 0..1440.
WeekSchedule = tuple[tuple[tuple[int, int], ...], ...]

ALWAYS_OPEN: WeekSchedule = tuple(((0, 1440),) for _ in range(7))
# Forex-style week: Monday 00:00 to Friday 23:55 server time, closed on weekends.
FOREX_WEEK: WeekSchedule = (
    ((0, 1440),),
    ((0, 1440),),
    ((0, 1440),),
    ((0, 1440),),
    ((0, 1435),),
    (),
    (),
)


@dataclass(frozen=True)
class SymbolSpec:
    """One tradable instrument. Field names follow SymbolInfo where one exists."""

    name: str
    path: str
    description: str
    currency_base: str
    currency_profit: str
    currency_margin: str
    digits: int
    # price model (simulator/market.py)
    base_price: float  # price level around 2020-01-01, the start of generated history
    volatility: float  # annualised volatility of log price, e.g. 0.08 for EURUSD
    spread: int  # typical spread in points
    ticks_per_minute: float  # mean number of quote ticks per minute while quotes run
    # trading (simulator/broker.py)
    trade_calc_mode: int
    trade_mode: int
    trade_exemode: int
    filling_mode: int  # SYMBOL_FILLING_* bitmask
    order_mode: int = 127  # SYMBOL_ORDER_* bitmask
    expiration_mode: int = 15  # SYMBOL_EXPIRATION_* bitmask
    trade_contract_size: float = 100_000.0
    trade_tick_size: float = 0.0  # 0 means one point
    volume_min: float = 0.01
    volume_max: float = 100.0
    volume_step: float = 0.01
    volume_limit: float = 0.0
    trade_stops_level: int = 0
    trade_freeze_level: int = 0
    margin_initial: float = 0.0
    margin_hedged: float = 0.0
    swap_long: float = 0.0
    swap_short: float = 0.0
    chart_mode: int = 0  # SYMBOL_CHART_MODE_BID
    exchange: str = ""
    category: str = ""
    quote_sessions: WeekSchedule = FOREX_WEEK
    trade_sessions: WeekSchedule = FOREX_WEEK
    visible: bool = True
    price_today: float = 0.0  # level around 2026-11-01 that prices trend to (0: no trend)
    feed: str = ""  # quote the price path of this symbol instead (a broker-suffix variant)
    # A cross quoted from other symbols of the server: log price = sum of sign x leg log price,
    # e.g. EURJPY = (("EURUSD", 1), ("USDJPY", 1)); EURAUD = (("EURUSD", 1), ("AUDUSD", -1)).
    legs: tuple[tuple[str, int], ...] = ()
    # Scenario price paths (simulator/scenario_prices.py). With ``trend_day`` set, the seeded
    # walk follows a line through log(price_today) on that server day with ``drift`` (log per
    # year) instead of the demo's 2020-to-today line. ``gaps`` are (server ms, factor) jumps
    # applied to every later price. A ``recording`` replaces the seeded path altogether.
    drift: float = 0.0
    trend_day: int = 0
    gaps: tuple[tuple[int, float], ...] = ()
    recording: Any = field(default=None, compare=False, repr=False)

    @property
    def point(self) -> float:
        return round(10.0**-self.digits, self.digits)

    @property
    def tick_size(self) -> float:
        return self.trade_tick_size or self.point


@dataclass
class AccountSpec:
    """An account as the broker holds it. Mutable: balance changes as deals close."""

    login: int
    server: str
    name: str
    password: str
    investor_password: str
    currency: str
    leverage: int
    balance: float
    margin_mode: int  # ACCOUNT_MARGIN_MODE_*
    trade_mode: int = 0  # ACCOUNT_TRADE_MODE_DEMO
    currency_digits: int = 2
    limit_orders: int = 200
    margin_so_call: float = 50.0
    margin_so_so: float = 30.0
    trade_expert: bool = True
    fifo_close: bool = False
    credit: float = 0.0


@dataclass(frozen=True)
class ServerSpec:
    """A broker trade server: its name, company, clock offset and what it offers."""

    name: str
    company: str
    utc_offset_s: int  # server time = UTC + this offset (no DST in the simulator)
    symbols: tuple[SymbolSpec, ...]
    accounts: tuple[AccountSpec, ...] = field(default=())
