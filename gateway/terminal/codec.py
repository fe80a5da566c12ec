"""The gateway's half of the terminal wire format (the server's is terminal_server/codec.py).

Arguments go out as brine builtins: a dict becomes ``("__dict__", ((key, value), ...))``,
lists become tuples, numpy scalars become Python numbers. Results come back tagged:

    ("S", type, values) → dict (field names fetched once per connection, then cached)
    ("R", type, rows)   → list[dict]
    ("A", descr, data)  → numpy structured array rebuilt from the dtype descr (never pickle)
    ("T"/"L", items)    → tuple / list,   ("D", pairs) → dict
    ("E", kind, text)   → RemoteCallError (the call raised on the terminal side)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

DICT_TAG = "__dict__"
_SCALARS = (type(None), bool, int, float, str, bytes)


class RemoteCallError(Exception):
    """The terminal side raised (``kind`` is the exception class name, or "Refused")."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class WireFormatError(ValueError):
    """The terminal answered something that is not a valid wire value."""


def encode_arg(value: Any) -> Any:
    """One argument as brine builtins (by value); raises TypeError for what cannot travel."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, np.generic):
        return encode_arg(value.item())
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return (DICT_TAG, encode_pairs(value))
    if isinstance(value, list | tuple):
        return tuple(encode_arg(item) for item in value)
    if isinstance(value, dt.datetime):
        raise TypeError("send dates as epoch seconds (int), not datetime")
    raise TypeError(f"a {type(value).__name__} cannot be sent to the terminal")


def encode_pairs(mapping: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    pairs = []
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise TypeError(f"dict keys sent to the terminal must be str, not {type(key).__name__}")
        pairs.append((str(key), encode_arg(value)))
    return tuple(pairs)


def encode_call(
    function: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[str, tuple[Any, ...], tuple[tuple[str, Any], ...]]:
    return (function, tuple(encode_arg(a) for a in args), encode_pairs(kwargs))


def dtype_from_descr(descr: Any) -> np.dtype[Any]:
    """Rebuild a structured dtype from a wire descr; object fields are refused."""
    dtype = np.dtype([_descr_entry(entry) for entry in _expect_tuple(descr)])
    if dtype.hasobject:
        raise WireFormatError("object dtypes are not accepted from the terminal")
    return dtype


def _descr_entry(entry: Any) -> tuple[Any, ...]:
    entry = _expect_tuple(entry)
    if len(entry) < 2 or not isinstance(entry[0], str):
        raise WireFormatError(f"bad dtype descr entry {entry!r}")
    fmt = entry[1]
    if isinstance(fmt, tuple):
        fmt = [_descr_entry(sub) for sub in fmt]
    elif not isinstance(fmt, str):
        raise WireFormatError(f"bad dtype format {fmt!r}")
    return (entry[0], fmt, *entry[2:])


def _expect_tuple(value: Any) -> tuple[Any, ...]:
    if type(value) is not tuple:
        raise WireFormatError(f"expected a tuple on the wire, got {type(value).__name__}")
    return value


class WireDecoder:
    """Decodes results of one connection; ``fetch_fields`` asks the server for a struct's
    field names, and is called at most once per type per decoder."""

    def __init__(self, fetch_fields: Callable[[str], tuple[str, ...]]) -> None:
        self._fetch_fields = fetch_fields
        self._fields: dict[str, tuple[str, ...]] = {}

    def fields(self, typename: str) -> tuple[str, ...]:
        names = self._fields.get(typename)
        if names is None:
            names = tuple(str(n) for n in self._fetch_fields(typename))
            self._fields[typename] = names
        return names

    def decode(self, value: Any) -> Any:
        if type(value) in _SCALARS:
            return value
        value = _expect_tuple(value)
        if not value or not isinstance(value[0], str):
            raise WireFormatError(f"untagged value on the wire: {value!r:.80}")
        tag, body = value[0], value[1:]
        if tag == "S" and len(body) == 2:
            return self._struct(body[0], body[1])
        if tag == "R" and len(body) == 2:
            return [self._struct(body[0], row) for row in _expect_tuple(body[1])]
        if tag == "A" and len(body) == 2 and isinstance(body[1], bytes):
            return np.frombuffer(bytearray(body[1]), dtype=dtype_from_descr(body[0]))
        if tag == "T" and len(body) == 1:
            return tuple(self.decode(item) for item in _expect_tuple(body[0]))
        if tag == "L" and len(body) == 1:
            return [self.decode(item) for item in _expect_tuple(body[0])]
        if tag == "D" and len(body) == 1:
            return {self.decode(k): self.decode(v) for k, v in _expect_tuple(body[0])}
        if tag == "E" and len(body) == 2:
            raise RemoteCallError(str(body[0]), str(body[1]))
        raise WireFormatError(f"unknown wire tag {tag!r}")

    def _struct(self, typename: Any, values: Any) -> dict[str, Any]:
        if not isinstance(typename, str):
            raise WireFormatError("struct type names are str")
        names = self.fields(typename)
        values = _expect_tuple(values)
        if len(names) != len(values):
            raise WireFormatError(f"{typename} has {len(names)} fields, got {len(values)} values")
        return {name: self.decode(item) for name, item in zip(names, values, strict=True)}
