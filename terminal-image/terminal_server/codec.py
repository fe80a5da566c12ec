"""Values on the wire: everything crosses RPyC by value, as brine builtins only.

RPyC sends only exact ``None/bool/int/float/str/bytes`` and tuples of them by value; anything
else (dicts, lists, numpy values, MT5's struct sequences) would travel as a remote reference
and cost a round trip per touch. So results are converted here, once, into tagged tuples:

    ("S", typename, values)       one MT5 struct (values in field order; nested structs tagged)
    ("R", typename, rows)         a tuple of structs of one type ("" for an empty collection)
    ("A", descr, data)            a numpy array: dtype descr and the raw bytes of its items
    ("T", items) / ("L", items)   a plain tuple / list
    ("D", pairs)                  a dict as (key, value) pairs
    ("E", kind, message)          the call raised (kind: the exception class name, or "Refused")

Arguments arrive the same way: builtins and tuples, with a dict sent as
``("__dict__", ((key, value), ...))``. Nothing else is accepted, and only within the caps of
``limits`` (lengths, nesting, number of values).
"""

import numpy as np

from terminal_server import limits

DICT_TAG = "__dict__"
_SCALARS = (type(None), bool, int, float, str, bytes)
_CONVERTIBLE = ((bool, bool), (int, int), (float, float), (str, str), (bytes, bytes))

# Functions whose result is a collection of structs, so an empty tuple still says "rows".
COLLECTION_FUNCTIONS = frozenset(
    (
        "symbols_get", "positions_get", "orders_get", "history_orders_get",
        "history_deals_get", "market_book_get",
    )
)


class ArgumentError(TypeError):
    """An argument that cannot cross the wire by value."""


def is_struct(value):
    """True for MT5 struct sequences (tuple subclasses with ``_asdict``)."""
    return isinstance(value, tuple) and type(value) is not tuple and hasattr(value, "_asdict")


def encode(value):
    """Convert one result value into brine builtins (see the module docstring)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if isinstance(value, np.ndarray):
        return ("A", dtype_descr(value.dtype), np.ascontiguousarray(value).tobytes())
    if isinstance(value, np.generic):
        return encode(value.item())
    if is_struct(value):
        return ("S", kind.__name__, tuple(encode(item) for item in value))
    if isinstance(value, (tuple, list)):
        return _encode_sequence(value)
    if isinstance(value, dict):
        return ("D", tuple((encode(k), encode(v)) for k, v in value.items()))
    for base, convert in _CONVERTIBLE:
        if isinstance(value, base):  # IntEnum, str subclasses and the like
            return convert(value)
    raise TypeError("cannot send a %s by value" % kind.__name__)


def _encode_sequence(value):
    items = tuple(value)
    if items and all(is_struct(item) and type(item) is type(items[0]) for item in items):
        rows = tuple(tuple(encode(field) for field in item) for item in items)
        return ("R", type(items[0]).__name__, rows)
    tag = "L" if isinstance(value, list) else "T"
    return (tag, tuple(encode(item) for item in items))


def encode_result(function, value):
    """Encode a function's result; an empty collection of structs stays recognisable."""
    if function in COLLECTION_FUNCTIONS and isinstance(value, tuple) and not value:
        return ("R", "", ())
    return encode(value)


def encode_error(kind, message):
    return ("E", kind, message)


def dtype_descr(dtype):
    """``dtype.descr`` as nested tuples (brine-able); rebuilt with ``np.dtype`` on the client."""
    return tuple(_descr_entry(entry) for entry in dtype.descr)


def _descr_entry(entry):
    name, fmt = entry[0], entry[1]
    if isinstance(fmt, list):
        fmt = tuple(_descr_entry(sub) for sub in fmt)
    return (name, fmt) + tuple(tuple(part) for part in entry[2:])


def decode_arg(value, depth=0, budget=None):
    """Rebuild one argument. Only exact builtins and tuples are accepted, tested by type
    identity: a client object (an RPyC netref) is refused without touching it, so none of its
    methods (``__eq__``, ``__hash__``, ``__repr__``...) ever runs here."""
    if budget is None:
        budget = limits.ArgumentBudget()
    budget.take()
    kind = type(value)
    for scalar in _SCALARS:
        if kind is scalar:
            limits.check_scalar(kind, value)
            return value
    if kind is tuple:
        limits.check_tuple(value, depth + 1)
        if len(value) == 2 and type(value[0]) is str and value[0] == DICT_TAG:
            if type(value[1]) is tuple:
                return decode_dict(value[1], depth + 1, budget)
        return tuple(decode_arg(item, depth + 1, budget) for item in value)
    raise ArgumentError("an argument of type %s is not accepted (only None, bool, int, float, "
                        "str, bytes and tuples travel by value)" % kind.__name__)


def decode_dict(pairs, depth=0, budget=None):
    if budget is None:
        budget = limits.ArgumentBudget()
    limits.check_tuple(pairs, depth + 1)
    result = {}
    for pair in pairs:
        if type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not str:
            raise ArgumentError("a dict travels as ((str key, value), ...) pairs")
        budget.take()
        limits.check_scalar(str, pair[0])
        result[pair[0]] = decode_arg(pair[1], depth + 2, budget)
    return result


def decode_args(args, kwargs_pairs):
    """``(args tuple, kwargs pairs)`` from the wire → ``(tuple, dict)`` ready for a call."""
    if type(args) is not tuple:
        raise ArgumentError("positional arguments travel as a tuple")
    if type(kwargs_pairs) is not tuple:
        raise ArgumentError("keyword arguments travel as a tuple of (name, value) pairs")
    budget = limits.ArgumentBudget()
    limits.check_tuple(args, 1)
    return (tuple(decode_arg(item, 1, budget) for item in args),
            decode_dict(kwargs_pairs, 0, budget))


def describe(value):
    """A short, safe description of a client value for error messages: the repr of a short
    str or an int, otherwise only its type name (never a method of a client object)."""
    kind = type(value)
    if kind is int or (kind is str and len(value) <= 64):
        return repr(value)
    return "a %s" % kind.__name__
