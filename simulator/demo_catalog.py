"""The demo symbols as data: one template per kind of instrument, one row per symbol.

``simulator/catalog.py`` builds :class:`~simulator.specs.SymbolSpec` objects from these: a
row's fields override its kind's template. Kinds marked ``pair`` take their currencies from
the name (``XAUUSD``: base XAU, profit USD); forex pairs also get a ``"EUR vs USD"``
description and margin in the base currency. Field names are those of ``SymbolSpec``.
"""

from __future__ import annotations

from simulator import constants as c
from simulator import flags as f
from simulator.specs import ALWAYS_OPEN

Fields = dict[str, object]

FOK, IOC, BOC = f.SYMBOL_FILLING_FOK, f.SYMBOL_FILLING_IOC, f.SYMBOL_FILLING_BOC
FOK_IOC = FOK | IOC
NO_CLOSE_BY = 127 & ~f.SYMBOL_ORDER_CLOSEBY
REQUEST, INSTANT = c.SYMBOL_TRADE_EXECUTION_REQUEST, c.SYMBOL_TRADE_EXECUTION_INSTANT
MARKET, EXCHANGE = c.SYMBOL_TRADE_EXECUTION_MARKET, c.SYMBOL_TRADE_EXECUTION_EXCHANGE

# Index CFD: Monday-Friday 01:00-23:00 server time. Exchange: Monday-Friday 10:00-18:45.
INDEX_WEEK = (((60, 1380),),) * 5 + ((), ())
EXCHANGE_WEEK = (((600, 1125),),) * 5 + ((), ())

KINDS: dict[str, Fields] = {
    "forex": {
        "folder": "Forex",
        "pair": True,
        "digits": 5,
        "volatility": 0.08,
        "spread": 12,
        "ticks_per_minute": 20.0,
        "trade_calc_mode": c.SYMBOL_CALC_MODE_FOREX,
        "trade_mode": c.SYMBOL_TRADE_MODE_FULL,
        "trade_exemode": INSTANT,
        "filling_mode": FOK,
        "margin_hedged": 50_000.0,
        "category": "Forex",
        "swap_long": -6.5,
        "swap_short": 1.2,
    },
    "metal": {
        "folder": "Metals",
        "pair": True,
        "currency_margin": "USD",
        "ticks_per_minute": 20.0,
        "trade_calc_mode": c.SYMBOL_CALC_MODE_CFDLEVERAGE,
        "trade_mode": c.SYMBOL_TRADE_MODE_FULL,
        "category": "Metals",
    },
    "index": {
        "folder": "Indices",
        "currency_base": "USD",
        "currency_profit": "USD",
        "currency_margin": "USD",
        "ticks_per_minute": 20.0,
        "trade_calc_mode": c.SYMBOL_CALC_MODE_CFD,
        "trade_mode": c.SYMBOL_TRADE_MODE_FULL,
        "trade_contract_size": 1.0,
        "category": "Indices",
        "quote_sessions": INDEX_WEEK,
        "trade_sessions": INDEX_WEEK,
    },
    "crypto": {
        "folder": "Crypto",
        "pair": True,
        "currency_margin": "USD",
        "ticks_per_minute": 20.0,
        "trade_calc_mode": c.SYMBOL_CALC_MODE_CFDLEVERAGE,
        "trade_mode": c.SYMBOL_TRADE_MODE_FULL,
        "trade_contract_size": 1.0,
        "category": "Crypto",
        "quote_sessions": ALWAYS_OPEN,
        "trade_sessions": ALWAYS_OPEN,
    },
    "stock": {
        "folder": "Stocks",
        "currency_base": "USD",
        "currency_profit": "USD",
        "currency_margin": "USD",
        "ticks_per_minute": 20.0,
        "trade_calc_mode": c.SYMBOL_CALC_MODE_EXCH_STOCKS,
        "trade_mode": c.SYMBOL_TRADE_MODE_FULL,
        "trade_exemode": EXCHANGE,
        "order_mode": NO_CLOSE_BY,
        "trade_contract_size": 1.0,
        "volume_min": 1.0,
        "volume_step": 1.0,
        "chart_mode": c.SYMBOL_CHART_MODE_LAST,
        "exchange": "SIMEX",
        "category": "Stocks",
        "quote_sessions": EXCHANGE_WEEK,
        "trade_sessions": EXCHANGE_WEEK,
    },
    "future": {
        "folder": "Futures",
        "currency_base": "USD",
        "currency_profit": "USD",
        "currency_margin": "USD",
        "ticks_per_minute": 20.0,
        "trade_calc_mode": c.SYMBOL_CALC_MODE_EXCH_FUTURES,
        "trade_mode": c.SYMBOL_TRADE_MODE_FULL,
        "trade_exemode": EXCHANGE,
        "order_mode": NO_CLOSE_BY,
        "trade_contract_size": 1.0,
        "volume_min": 1.0,
        "volume_step": 1.0,
        "chart_mode": c.SYMBOL_CHART_MODE_LAST,
        "exchange": "SIMEX",
        "category": "Futures",
        "quote_sessions": EXCHANGE_WEEK,
        "trade_sessions": EXCHANGE_WEEK,
    },
}

# (kind, name, price on 2020-01-01, price today, what differs from the kind), in Market Watch
# order. "Today" is 2026-11-01: prices trend from the first level to the second (price_paths).
# Forex symbols execute as the docs' own sample does (Instant execution, FOK only: RETURN and
# any other policy is accepted and filled FOK) unless a row says otherwise; see the README's
# table of execution and filling per symbol.
SYMBOLS: tuple[tuple[str, str, float, float, Fields], ...] = (
    ("forex", "EURUSD", 1.1210, 1.1650, {}),
    ("forex", "GBPUSD", 1.3150, 1.3350, {"trade_stops_level": 10, "trade_freeze_level": 5}),
    ("forex", "USDJPY", 108.70, 154.20, {"digits": 3, "volatility": 0.07}),
    ("forex", "AUDUSD", 0.7010, 0.6650, {"trade_exemode": MARKET, "filling_mode": FOK,
                                         "volume_min": 0.1, "volume_step": 0.1,
                                         "volume_max": 50.0}),
    ("forex", "USDCHF", 0.9690, 0.7950, {"trade_exemode": MARKET, "filling_mode": IOC,
                                         "expiration_mode": 3}),
    ("forex", "EURGBP", 0.8490, 0.8720, {"volume_limit": 5.0, "expiration_mode": 7,
                                         "legs": (("EURUSD", 1), ("GBPUSD", -1))}),
    ("forex", "EURCHF", 1.0850, 0.9270, {"trade_mode": c.SYMBOL_TRADE_MODE_CLOSEONLY,
                                         "legs": (("EURUSD", 1), ("USDCHF", 1))}),
    ("forex", "USDTRY", 5.9500, 43.800, {"trade_mode": c.SYMBOL_TRADE_MODE_DISABLED,
                                         "spread": 300}),
    ("forex", "USDCAD", 1.2990, 1.4030, {}),
    # Crosses are quoted from their legs (price_paths.cross_day): the prices here are what the
    # legs make of them, kept for reading.
    ("forex", "EURJPY", 121.90, 179.60, {"digits": 3, "spread": 20,
                                         "legs": (("EURUSD", 1), ("USDJPY", 1))}),
    ("forex", "GBPJPY", 142.90, 205.80, {"digits": 3, "spread": 25,
                                         "legs": (("GBPUSD", 1), ("USDJPY", 1))}),
    ("forex", "EURCAD", 1.4560, 1.6350, {"spread": 20, "legs": (("EURUSD", 1), ("USDCAD", 1))}),
    ("forex", "EURAUD", 1.5990, 1.7520, {"spread": 20,
                                         "legs": (("EURUSD", 1), ("AUDUSD", -1))}),
    # Broker-suffix and execution variants of EURUSD, quoting the same prices as EURUSD.
    ("forex", "EURUSD.m", 1.1210, 1.1650, {"feed": "EURUSD",
                                           "description": "EUR vs USD (suffix .m)"}),
    ("forex", "EURUSD.ecn", 1.1210, 1.1650, {"feed": "EURUSD", "trade_exemode": MARKET,
                                             "filling_mode": FOK_IOC,
                                             "description": "EUR vs USD (market execution)"}),
    ("metal", "XAUUSD", 1520.0, 4150.0, {
        "description": "Gold vs US Dollar", "digits": 2, "volatility": 0.15, "spread": 30,
        "trade_exemode": INSTANT, "filling_mode": FOK, "expiration_mode": 7,
        "trade_contract_size": 100.0, "volume_max": 20.0, "trade_stops_level": 50,
        "trade_freeze_level": 20, "margin_hedged": 50.0,
    }),
    ("metal", "XAGUSD", 17.90, 51.50, {
        "description": "Silver vs US Dollar (long only)", "digits": 3, "volatility": 0.2,
        "spread": 25, "trade_mode": c.SYMBOL_TRADE_MODE_LONGONLY, "trade_exemode": MARKET,
        "filling_mode": FOK_IOC, "trade_contract_size": 5000.0, "volume_max": 10.0,
    }),
    ("index", "US500", 3230.0, 6850.0, {
        "description": "US 500 Index CFD", "digits": 1, "volatility": 0.18, "spread": 5,
        "trade_exemode": REQUEST, "filling_mode": FOK, "expiration_mode": 3,
        "volume_min": 0.1, "volume_step": 0.1, "volume_max": 50.0, "trade_stops_level": 20,
    }),
    ("crypto", "BTCUSD", 7200.0, 95000.0, {
        "description": "Bitcoin vs US Dollar", "digits": 2, "volatility": 0.7, "spread": 2500,
        "trade_exemode": MARKET, "filling_mode": FOK_IOC, "volume_max": 5.0,
    }),
    # Fictional exchange instruments: no real market to look like, so no trend.
    ("stock", "SIMX", 52.40, 0.0, {
        "description": "Simulated Exchange Share X", "digits": 2, "volatility": 0.3,
        "spread": 2, "filling_mode": 0, "volume_max": 10_000.0,
    }),
    ("future", "SIMF", 12500.0, 0.0, {
        "description": "Simulated Index Future", "digits": 0, "volatility": 0.2, "spread": 1,
        "filling_mode": FOK_IOC | BOC, "trade_tick_size": 5.0, "volume_max": 500.0,
        "margin_initial": 1500.0,
    }),
)  # fmt: skip

# The symbols Sim-Live offers (a subset of Sim-Demo's).
LIVE_SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "US500", "BTCUSD")
