"""The MetaTrader5 package's client-side argument rules (mt5-api-facts.md §1.1 and §2.1).

Everything here is checked in the Python module before a request reaches the terminal:
calling conventions, ``PyArg_ParseTuple``-style positional formats, date arguments, text
limits and the trade-request dict. Problems the package reports through ``last_error()``
raise :class:`CallError`; problems the package raises as Python exceptions raise those.
"""

from __future__ import annotations

import operator
from datetime import datetime
from typing import Any

from simulator import constants as c
from simulator.structs import STRUCT_FIELDS, STRUCT_KINDS

# last_error() texts for codes coming back from the terminal (facts §1.3).
MESSAGES: dict[int, str] = {
    1: "Success",
    -1: "Terminal: Call failed",
    -2: "Terminal: Invalid params",
    -3: "Terminal: Out of memory",
    -4: "Terminal: Not found",
    -5: "Terminal: Incompatible versions, please install the latest version of Terminal "
    "and Python module",
    -6: "Terminal: Authorization failed",
    -7: "Terminal: Unsupported function",
    -8: "Auto-Trading using Python API disabled in Terminal",
    -10000: "IPC call failed",
    -10001: "IPC send failed",
    -10002: "IPC recv failed",
    -10004: "No IPC connection",
    -10005: "IPC timeout",
}
SUCCESS = (1, "Success")
NO_IPC = (-10004, "No IPC connection")

TIMEFRAMES = frozenset(v for k, v in vars(c).items() if k.startswith("TIMEFRAME_"))
_U32, _U64, _I64 = 2**32, 2**64, 2**63
_REQUEST_INT_RANGE = {
    "action": (0, _U32),
    "type": (0, _U32),
    "type_filling": (0, _U32),
    "type_time": (0, _U32),
    "magic": (0, _U64),
    "order": (0, _U64),
    "deviation": (0, _U64),
    "position": (0, _U64),
    "position_by": (0, _U64),
    "expiration": (-_I64, _I64),
}
REQUEST_FIELDS = STRUCT_FIELDS["TradeRequest"]
_REQUEST_KINDS = dict(zip(REQUEST_FIELDS, STRUCT_KINDS["TradeRequest"], strict=True))
_DEFAULTS = {"i": 0, "f": 0.0, "s": ""}
MAX_TEXT = 29  # symbol and comment: 32-wchar buffers, the NUL included in the size query
MAX_GROUP = 1997
MAX_CREDENTIAL = 253


class CallError(Exception):
    """A failure the package reports through last_error() and a None/False result."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = message if message is not None else MESSAGES.get(code, MESSAGES[-1])
        super().__init__(self.code, self.message)


def invalid(message: str) -> CallError:
    """A -2 argument error with the module's own text, e.g. ``Invalid "volume" argument``."""
    return CallError(-2, message)


def check_noargs(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """METH_NOARGS: CPython raises TypeError for any argument."""
    if kwargs:
        raise TypeError(f"{name}() takes no keyword arguments")
    if args:
        raise TypeError(f"{name}() takes no arguments ({len(args)} given)")


def check_positional(name: str, kwargs: dict[str, Any]) -> None:
    """METH_VARARGS: CPython raises TypeError for keyword arguments."""
    if kwargs:
        raise TypeError(f"{name}() takes no keyword arguments")


def _native_error(name: str, error: Exception) -> SystemError:
    """PyArg_ParseTuple raised, yet the module returned None: CPython's SystemError."""
    message = f"<built-in function {name}> returned a result with an exception set"
    system_error = SystemError(message)
    system_error.__cause__ = error
    return system_error


def parse_tuple(name: str, args: tuple[Any, ...], fmt: str) -> list[Any]:
    """Emulate ``PyArg_ParseTuple`` for the formats the package uses (O, i, k, d).

    A wrong count is the module's own ``(-2, 'Invalid arguments')``; a wrong type is a
    TypeError inside PyArg_ParseTuple, which surfaces as a SystemError (facts §1.1).
    """
    if len(args) != len(fmt):
        raise invalid("Invalid arguments")
    values: list[Any] = []
    for code, value in zip(fmt, args, strict=True):
        if code == "O":
            values.append(value)
        elif code in "ik":
            values.append(_as_c_int(name, code, value))
        else:
            values.append(_as_c_double(name, value))
    return values


def _as_c_int(name: str, code: str, value: Any) -> int:
    if isinstance(value, float):
        raise _native_error(name, TypeError("'float' object cannot be interpreted as an integer"))
    try:
        number = operator.index(value)
    except TypeError as error:
        raise _native_error(name, error) from None
    if code == "k":  # unsigned long: no overflow check, wraps to 32 bits (Windows)
        return number % _U32
    if not -(2**31) <= number < 2**31:
        raise _native_error(name, OverflowError("signed integer is greater than maximum"))
    return number


def _as_c_double(name: str, value: Any) -> float:
    if isinstance(value, float):
        return float(value)
    try:
        if hasattr(value, "__float__"):
            return float(value)
        return float(operator.index(value))
    except TypeError:
        error = TypeError(f"must be real number, not {type(value).__name__}")
        raise _native_error(name, error) from None


def wchar_len(text: str) -> int:
    """Length in Windows wchar_t units (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def symbol_arg(value: Any) -> str:
    """A symbol name: a str of at most 29 characters."""
    if not isinstance(value, str) or wchar_len(value) > MAX_TEXT:
        raise invalid('Invalid "symbol" argument')
    return value


def text_arg(value: Any, field: str, limit: int) -> str:
    if not isinstance(value, str) or wchar_len(value) > limit:
        raise invalid(f'Invalid "{field}" argument')
    return value


def int_arg(value: Any, field: str, low: int = 0, high: int = _U64) -> int:
    if not isinstance(value, int) or not low <= value < high:
        raise invalid(f'Invalid "{field}" argument')
    return int(value)


def date_arg(value: Any, field: str) -> int:
    """A date argument: int, float or datetime (via ``.timestamp()``), cut to int32 seconds."""
    if isinstance(value, datetime):
        seconds = int(value.timestamp())
    elif isinstance(value, int | float):
        seconds = int(value)
    else:
        raise invalid(f'Invalid "{field}" argument')
    if not -(2**31) <= seconds < 2**31:
        raise invalid(f'Invalid "{field}" argument')
    return seconds


def timeframe_arg(value: int) -> int:
    if value not in TIMEFRAMES:
        raise CallError(-2)
    return value


def parse_request(request: Any) -> dict[str, Any]:
    """The trade-request dict as the package reads it: all 17 keys, checked in field order.

    Unknown keys are ignored and missing keys default to 0 / 0.0 / ''. Integer fields need
    an ``int`` (bool and IntEnum pass, floats fail), float fields need a ``float`` instance
    (numpy.float64 passes, int fails), text fields at most 29 characters.
    """
    if not isinstance(request, dict):
        raise invalid("Invalid arguments")
    parsed: dict[str, Any] = {}
    for field in REQUEST_FIELDS:
        kind = _REQUEST_KINDS[field]
        if field not in request:
            parsed[field] = _DEFAULTS[kind]
            continue
        value = request[field]
        if kind == "i":
            low, high = _REQUEST_INT_RANGE[field]
            parsed[field] = int_arg(value, field, low, high)
        elif kind == "f":
            if not isinstance(value, float):
                raise invalid(f'Invalid "{field}" argument')
            parsed[field] = float(value)
        else:
            parsed[field] = text_arg(value, field, MAX_TEXT)
    return parsed


def request_arg(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """order_send/order_check: one positional dict, or the fields as keyword arguments."""
    if args and (kwargs or len(args) > 1):
        raise invalid("Invalid arguments")
    return parse_request(args[0] if args else dict(kwargs))


# ------------------------------------------------------------ per-function argument forms

LOGIN_ORDER = ("login", "password", "server")


def check_credential(key: str, value: Any) -> Any:
    if key == "login":
        return int_arg(value, "login")
    if key == "timeout":
        return int_arg(value, "timeout", 0, 2**32)
    return text_arg(value, key, MAX_CREDENTIAL)


def credentials(kwargs: dict[str, Any], positional: dict[str, Any] | None = None) -> dict[str, Any]:
    """login/password/server/timeout: checked keywords over positional values; defaults
    password/server None (saved credentials, any server) and timeout 60 000 ms."""
    found = {"password": None, "server": None, "timeout": 60_000} | (positional or {})
    for key in (*LOGIN_ORDER, "timeout"):
        if key in kwargs:
            found[key] = check_credential(key, kwargs[key])
    return found


def live_filters(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """orders_get/positions_get: keywords only; ticket beats symbol beats group."""
    if args:
        raise invalid("Unnamed arguments not allowed")
    if kwargs.get("ticket") is not None:
        return {"ticket": int_arg(kwargs["ticket"], "ticket")}
    if kwargs.get("symbol") is not None:
        return {"symbol": symbol_arg(kwargs["symbol"])}
    if kwargs.get("group") is not None:
        return {"group": text_arg(kwargs["group"], "group", MAX_GROUP)}
    return {}


def history_dates(args: tuple[Any, ...]) -> dict[str, int]:
    if len(args) != 2:
        raise invalid("Invalid arguments")
    return {"date_from": date_arg(args[0], "date_from"), "date_to": date_arg(args[1], "date_to")}


def history_query(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """history_*_get forms: (date_from, date_to[, group=]) | (ticket=) | (position=)."""
    if args:
        if len(args) != 2:
            raise invalid("Invalid number of arguments")
        query: dict[str, Any] = history_dates(args)
        if kwargs.get("group") is not None:
            query["group"] = text_arg(kwargs["group"], "group", MAX_GROUP)
        return query
    if "ticket" in kwargs:
        return {"ticket": int_arg(kwargs["ticket"], "ticket")}
    if "position" in kwargs:
        return {"position": int_arg(kwargs["position"], "position")}
    raise invalid("Invalid arguments")
