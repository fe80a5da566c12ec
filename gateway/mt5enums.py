"""MetaTrader5 numeric codes → the lower-case names the API speaks.

Values from the MetaTrader5 package (mt5-api-facts.md §3, §5). Unknown codes decode to
``"unknown_<n>"`` rather than failing: a newer terminal may send values we do not know yet.
"""

from __future__ import annotations

TIMEFRAMES: dict[str, int] = {
    **{f"M{n}": n for n in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)},
    **{f"H{n}": n | 0x4000 for n in (1, 2, 3, 4, 6, 8, 12)},
    "D1": 24 | 0x4000,
    "W1": 1 | 0x8000,
    "MN1": 1 | 0xC000,
}


def timeframe_seconds(name: str) -> int:
    """Nominal bar length (MN1 counted as 31 days, an upper bound for chunking)."""
    if name.startswith("MN"):
        return int(name[2:]) * 31 * 86400
    return int(name[1:]) * {"M": 60, "H": 3600, "D": 86400, "W": 604800}[name[0]]


COPY_TICKS = {"all": -1, "info": 1, "trade": 2}

POSITION_TYPES = {0: "buy", 1: "sell"}
ORDER_TYPES = {
    0: "buy",
    1: "sell",
    2: "buy_limit",
    3: "sell_limit",
    4: "buy_stop",
    5: "sell_stop",
    6: "buy_stop_limit",
    7: "sell_stop_limit",
    8: "close_by",
}
ORDER_STATES = {
    0: "started",
    1: "placed",
    2: "canceled",
    3: "partial",
    4: "filled",
    5: "rejected",
    6: "expired",
    7: "request_add",
    8: "request_modify",
    9: "request_cancel",
}
ORDER_FILLINGS = {0: "fok", 1: "ioc", 2: "return", 3: "boc"}
ORDER_TIMES = {0: "gtc", 1: "day", 2: "specified", 3: "specified_day"}
ORDER_REASONS = {0: "client", 1: "mobile", 2: "web", 3: "expert", 4: "sl", 5: "tp", 6: "so"}
DEAL_TYPES = {
    0: "buy",
    1: "sell",
    2: "balance",
    3: "credit",
    4: "charge",
    5: "correction",
    6: "bonus",
    7: "commission",
    8: "commission_daily",
    9: "commission_monthly",
    10: "commission_agent_daily",
    11: "commission_agent_monthly",
    12: "interest",
    13: "buy_canceled",
    14: "sell_canceled",
    15: "dividend",
    16: "dividend_franked",
    17: "tax",
}
DEAL_ENTRIES = {0: "in", 1: "out", 2: "inout", 3: "out_by"}
DEAL_REASONS = {
    0: "client",
    1: "mobile",
    2: "web",
    3: "expert",
    4: "sl",
    5: "tp",
    6: "so",
    7: "rollover",
    8: "vmargin",
    9: "split",
}
ACCOUNT_TRADE_MODES = {0: "demo", 1: "contest", 2: "real"}
ACCOUNT_MARGIN_MODES = {0: "netting", 1: "exchange", 2: "hedging"}
ACCOUNT_STOPOUT_MODES = {0: "percent", 1: "money"}
EXECUTION_MODES = {0: "request", 1: "instant", 2: "market", 3: "exchange"}
SYMBOL_TRADE_MODES = {0: "disabled", 1: "long_only", 2: "short_only", 3: "close_only", 4: "full"}
CALC_MODES = {
    0: "forex",
    1: "futures",
    2: "cfd",
    3: "cfd_index",
    4: "cfd_leverage",
    5: "forex_no_leverage",
    32: "exch_stocks",
    33: "exch_futures",
    34: "exch_options",
    36: "exch_options_margin",
    37: "exch_bonds",
    38: "exch_stocks_moex",
    39: "exch_bonds_moex",
    64: "serv_collateral",
}
CHART_MODES = {0: "bid", 1: "last"}
SWAP_MODES = {
    0: "disabled",
    1: "points",
    2: "currency_symbol",
    3: "currency_margin",
    4: "currency_deposit",
    5: "interest_current",
    6: "interest_open",
    7: "reopen_current",
    8: "reopen_bid",
}
GTC_MODES = {0: "gtc", 1: "daily", 2: "daily_no_stops"}
WEEKDAYS = {
    0: "sunday",
    1: "monday",
    2: "tuesday",
    3: "wednesday",
    4: "thursday",
    5: "friday",
    6: "saturday",
}

FILLING_FLAGS = {1: "fok", 2: "ioc", 4: "boc"}
EXPIRATION_FLAGS = {1: "gtc", 2: "day", 4: "specified", 8: "specified_day"}
ORDER_MODE_FLAGS = {
    1: "market",
    2: "limit",
    4: "stop",
    8: "stop_limit",
    16: "sl",
    32: "tp",
    64: "close_by",
}
TICK_FLAGS = {2: "bid", 4: "ask", 8: "last", 16: "volume", 32: "buy", 64: "sell"}


def name(table: dict[int, str], code: int) -> str:
    return table.get(int(code), f"unknown_{int(code)}")


def flags(table: dict[int, str], mask: int) -> list[str]:
    return [label for bit, label in table.items() if int(mask) & bit]


def market_fillings(execution_mode: int, filling_mask: int) -> list[str]:
    """Filling policies a *market* order may use (mt5-api-facts §6.1 matrix)."""
    if execution_mode in (0, 1):  # request / instant: the server fills FOK
        return ["fok"]
    allowed = [f for f in flags(FILLING_FLAGS, filling_mask) if f != "boc"]
    return [*allowed, "return"] if execution_mode == 3 else allowed
