"""Result types shaped like the MetaTrader5 package's: struct sequences and packed numpy dtypes.

The package's named results are PyStructSequence types: tuple subclasses with attribute access,
a ``TypeName(field=value, ...)`` repr and one extra method, ``_asdict()``. They have no
``_fields``/``_replace`` (they are not collections.namedtuple). Field order is exactly the
package's (mt5-api-facts.md section 2); ``STRUCT_FIELDS`` is the single source of that order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

STRUCT_FIELDS: dict[str, tuple[str, ...]] = {
    "AccountInfo": (
        "login",
        "trade_mode",
        "leverage",
        "limit_orders",
        "margin_so_mode",
        "trade_allowed",
        "trade_expert",
        "margin_mode",
        "currency_digits",
        "fifo_close",
        "balance",
        "credit",
        "profit",
        "equity",
        "margin",
        "margin_free",
        "margin_level",
        "margin_so_call",
        "margin_so_so",
        "margin_initial",
        "margin_maintenance",
        "assets",
        "liabilities",
        "commission_blocked",
        "name",
        "server",
        "currency",
        "company",
    ),
    "TerminalInfo": (
        "community_account",
        "community_connection",
        "connected",
        "dlls_allowed",
        "trade_allowed",
        "tradeapi_disabled",
        "email_enabled",
        "ftp_enabled",
        "notifications_enabled",
        "mqid",
        "build",
        "maxbars",
        "codepage",
        "ping_last",
        "community_balance",
        "retransmission",
        "company",
        "name",
        "language",
        "path",
        "data_path",
        "commondata_path",
    ),
    "SymbolInfo": (
        "custom",
        "chart_mode",
        "select",
        "visible",
        "session_deals",
        "session_buy_orders",
        "session_sell_orders",
        "volume",
        "volumehigh",
        "volumelow",
        "time",
        "digits",
        "spread",
        "spread_float",
        "ticks_bookdepth",
        "trade_calc_mode",
        "trade_mode",
        "start_time",
        "expiration_time",
        "trade_stops_level",
        "trade_freeze_level",
        "trade_exemode",
        "swap_mode",
        "swap_rollover3days",
        "margin_hedged_use_leg",
        "expiration_mode",
        "filling_mode",
        "order_mode",
        "order_gtc_mode",
        "option_mode",
        "option_right",
        "bid",
        "bidhigh",
        "bidlow",
        "ask",
        "askhigh",
        "asklow",
        "last",
        "lasthigh",
        "lastlow",
        "volume_real",
        "volumehigh_real",
        "volumelow_real",
        "option_strike",
        "point",
        "trade_tick_value",
        "trade_tick_value_profit",
        "trade_tick_value_loss",
        "trade_tick_size",
        "trade_contract_size",
        "trade_accrued_interest",
        "trade_face_value",
        "trade_liquidity_rate",
        "volume_min",
        "volume_max",
        "volume_step",
        "volume_limit",
        "swap_long",
        "swap_short",
        "margin_initial",
        "margin_maintenance",
        "session_volume",
        "session_turnover",
        "session_interest",
        "session_buy_orders_volume",
        "session_sell_orders_volume",
        "session_open",
        "session_close",
        "session_aw",
        "session_price_settlement",
        "session_price_limit_min",
        "session_price_limit_max",
        "margin_hedged",
        "price_change",
        "price_volatility",
        "price_theoretical",
        "price_greeks_delta",
        "price_greeks_theta",
        "price_greeks_gamma",
        "price_greeks_vega",
        "price_greeks_rho",
        "price_greeks_omega",
        "price_sensitivity",
        "basis",
        "category",
        "currency_base",
        "currency_profit",
        "currency_margin",
        "bank",
        "description",
        "exchange",
        "formula",
        "isin",
        "name",
        "page",
        "path",
    ),
    "Tick": ("time", "bid", "ask", "last", "volume", "time_msc", "flags", "volume_real"),
    "BookInfo": ("type", "price", "volume", "volume_dbl"),
    "TradeOrder": (
        "ticket",
        "time_setup",
        "time_setup_msc",
        "time_done",
        "time_done_msc",
        "time_expiration",
        "type",
        "type_time",
        "type_filling",
        "state",
        "magic",
        "position_id",
        "position_by_id",
        "reason",
        "volume_initial",
        "volume_current",
        "price_open",
        "sl",
        "tp",
        "price_current",
        "price_stoplimit",
        "symbol",
        "comment",
        "external_id",
    ),
    "TradePosition": (
        "ticket",
        "time",
        "time_msc",
        "time_update",
        "time_update_msc",
        "type",
        "magic",
        "identifier",
        "reason",
        "volume",
        "price_open",
        "sl",
        "tp",
        "price_current",
        "swap",
        "profit",
        "symbol",
        "comment",
        "external_id",
    ),
    "TradeDeal": (
        "ticket",
        "order",
        "time",
        "time_msc",
        "type",
        "entry",
        "magic",
        "position_id",
        "reason",
        "volume",
        "price",
        "commission",
        "swap",
        "profit",
        "fee",
        "symbol",
        "comment",
        "external_id",
    ),
    "TradeRequest": (
        "action",
        "magic",
        "order",
        "symbol",
        "volume",
        "price",
        "stoplimit",
        "sl",
        "tp",
        "deviation",
        "type",
        "type_filling",
        "type_time",
        "expiration",
        "comment",
        "position",
        "position_by",
    ),
    "OrderSendResult": (
        "retcode",
        "deal",
        "order",
        "volume",
        "price",
        "bid",
        "ask",
        "comment",
        "request_id",
        "retcode_external",
        "request",
    ),
    "OrderCheckResult": (
        "retcode",
        "balance",
        "equity",
        "profit",
        "margin",
        "margin_free",
        "margin_level",
        "comment",
        "request",
    ),
}

# Python type of every field, by the package's C type: int, float, bool or str.
_SYMBOL_KINDS = "bibb" + "i" * 9 + "b" + "i" * 10 + "b" + "i" * 6
STRUCT_KINDS: dict[str, str] = {
    "AccountInfo": "iiiiibbiib" + "f" * 14 + "ssss",
    "TerminalInfo": "b" * 10 + "iiii" + "ff" + "s" * 6,
    "SymbolInfo": _SYMBOL_KINDS + "f" * 52 + "s" * 13,
    "Tick": "ifffiiif",
    "BookInfo": "ifif",
    "TradeOrder": "i" * 14 + "f" * 7 + "sss",
    "TradePosition": "i" * 9 + "f" * 7 + "sss",
    "TradeDeal": "i" * 9 + "f" * 6 + "sss",
    "TradeRequest": "iiisfffffiiiiisii",
    "OrderSendResult": "iiiffffsiir",
    "OrderCheckResult": "iffffffsr",
}
_DEFAULTS = {"i": 0, "f": 0.0, "b": False, "s": "", "r": None}


# What every result type gets: a constructor (a sequence, or fields by name with defaults),
# ``_asdict()`` and the package's repr. Each type derives from tuple directly and reports
# module ``builtins``, like a PyStructSequence made by a C extension: its MRO is
# (type, tuple, object), rpyc on a client resolves the class by that module name, and pickle
# fails to find it by name (PicklingError), as with the real package.


def _new(cls: type[tuple[Any, ...]], values: Any = None, /, **fields: Any) -> tuple[Any, ...]:
    names: tuple[str, ...] = cls._struct_fields  # type: ignore[attr-defined]
    if values is None:
        kinds = STRUCT_KINDS[cls.__name__]
        values = [fields.pop(n, _DEFAULTS[k]) for n, k in zip(names, kinds, strict=True)]
        if fields:
            raise TypeError(f"unknown fields for {cls.__name__}: {sorted(fields)}")
    values = tuple(values)
    if len(values) != len(names):
        raise TypeError(f"{cls.__name__} needs {len(names)} values, got {len(values)}")
    return tuple.__new__(cls, values)


def _asdict(self: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(self._struct_fields, self, strict=True))  # type: ignore[attr-defined]


def _repr(self: tuple[Any, ...]) -> str:
    names = self._struct_fields  # type: ignore[attr-defined]
    inner = ", ".join(f"{n}={v!r}" for n, v in zip(names, self, strict=True))
    return f"{type(self).__name__}({inner})"


def _field(index: int) -> property:
    return property(lambda self: tuple.__getitem__(self, index))


def _make(name: str) -> type[tuple[Any, ...]]:
    fields = STRUCT_FIELDS[name]
    ns: dict[str, Any] = {
        "__slots__": (),
        "__module__": "builtins",
        "__qualname__": name,
        "__new__": _new,
        "__repr__": _repr,
        "_asdict": _asdict,
        "_struct_fields": fields,  # read by the terminal server to list field names
        "n_fields": len(fields),
        "n_sequence_fields": len(fields),
        "n_unnamed_fields": 0,
        "__match_args__": fields,
    }
    ns.update((field, _field(index)) for index, field in enumerate(fields))
    return type(name, (tuple,), ns)


AccountInfo = _make("AccountInfo")
TerminalInfo = _make("TerminalInfo")
SymbolInfo = _make("SymbolInfo")
Tick = _make("Tick")
BookInfo = _make("BookInfo")
TradeOrder = _make("TradeOrder")
TradePosition = _make("TradePosition")
TradeDeal = _make("TradeDeal")
TradeRequest = _make("TradeRequest")
OrderSendResult = _make("OrderSendResult")
OrderCheckResult = _make("OrderCheckResult")

STRUCT_TYPES: dict[str, type[tuple[Any, ...]]] = {
    t.__name__: t
    for t in (
        AccountInfo,
        TerminalInfo,
        SymbolInfo,
        Tick,
        BookInfo,
        TradeOrder,
        TradePosition,
        TradeDeal,
        TradeRequest,
        OrderSendResult,
        OrderCheckResult,
    )
}

# Packed (align=False) structured dtypes, itemsize 60 each (mt5-api-facts.md section 3).
RATES_DTYPE = np.dtype(
    [
        ("time", "<i8"),
        ("open", "<f8"),
        ("high", "<f8"),
        ("low", "<f8"),
        ("close", "<f8"),
        ("tick_volume", "<u8"),
        ("spread", "<i4"),
        ("real_volume", "<u8"),
    ]
)
TICKS_DTYPE = np.dtype(
    [
        ("time", "<i8"),
        ("bid", "<f8"),
        ("ask", "<f8"),
        ("last", "<f8"),
        ("volume", "<u8"),
        ("time_msc", "<i8"),
        ("flags", "<u4"),
        ("volume_real", "<f8"),
    ]
)
