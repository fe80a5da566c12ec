"""The wire format on its own: the server's encoder against the gateway's decoder."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from terminal_server import codec as server_codec

from gateway.terminal import codec as client_codec
from simulator import structs


def decoder() -> client_codec.WireDecoder:
    return client_codec.WireDecoder(lambda name: structs.STRUCT_FIELDS[name])


def through_the_wire(value: Any, function: str = "x") -> Any:
    return decoder().decode(server_codec.encode_result(function, value))


def test_structs_become_dicts_in_field_order_with_nested_structs() -> None:
    request = structs.TradeRequest(action=1, symbol="EURUSD", volume=0.1)
    result = structs.OrderSendResult(retcode=10009, comment="Request executed", request=request)
    decoded = through_the_wire(result)
    assert list(decoded) == list(structs.STRUCT_FIELDS["OrderSendResult"])
    assert decoded["request"] == request._asdict()


def test_collections_become_lists_even_when_empty() -> None:
    rows = (structs.TradePosition(ticket=1), structs.TradePosition(ticket=2))
    assert [p["ticket"] for p in through_the_wire(rows, "positions_get")] == [1, 2]
    assert through_the_wire((), "positions_get") == []
    assert through_the_wire((500, 4000, "1 Jan 2026"), "version") == (500, 4000, "1 Jan 2026")


def test_arrays_keep_their_packed_dtype_and_bytes() -> None:
    bars = np.zeros(3, dtype=structs.RATES_DTYPE)
    bars["time"] = [1, 2, 3]
    bars["close"] = [1.5, 2.5, 3.5]
    decoded = through_the_wire(bars)
    assert decoded.dtype == structs.RATES_DTYPE and decoded.dtype.itemsize == 60
    assert decoded.tobytes() == bars.tobytes()
    assert through_the_wire(np.zeros(0, dtype=structs.TICKS_DTYPE)).dtype == structs.TICKS_DTYPE


def test_numpy_scalars_and_enums_become_builtins() -> None:
    import enum

    class Kind(enum.IntEnum):
        A = 3

    encoded = server_codec.encode((np.float64(1.5), np.int64(2), Kind.A, True))
    assert encoded == ("T", (1.5, 2, 3, True))
    assert [type(v) for v in encoded[1]] == [float, int, int, bool]


def test_what_cannot_be_encoded_is_an_error() -> None:
    with pytest.raises(TypeError):
        server_codec.encode(object())


def test_arguments_round_trip_by_value() -> None:
    request = {"action": 1, "volume": np.float64(0.1), "symbol": "EURUSD", "comment": "x"}
    wire = client_codec.encode_call("order_send", (request,), {"flag": [1, 2]})
    args, kwargs = server_codec.decode_args(wire[1], wire[2])
    assert args == ({"action": 1, "volume": 0.1, "symbol": "EURUSD", "comment": "x"},)
    assert type(args[0]["volume"]) is float
    assert kwargs == {"flag": (1, 2)}


def test_the_server_refuses_anything_but_builtins() -> None:
    with pytest.raises(server_codec.ArgumentError):
        server_codec.decode_args(([1],), ())
    with pytest.raises(server_codec.ArgumentError):
        server_codec.decode_args((), ((1, 2),))
    with pytest.raises(server_codec.ArgumentError):
        server_codec.decode_args((("__dict__", ((1, 2),)),), ())


def test_the_client_refuses_datetimes_and_objects() -> None:
    import datetime as dt

    with pytest.raises(TypeError, match="epoch seconds"):
        client_codec.encode_arg(dt.datetime(2026, 1, 1))
    with pytest.raises(TypeError):
        client_codec.encode_arg(object())
    with pytest.raises(TypeError):
        client_codec.encode_arg({1: 2})


def test_the_client_refuses_object_dtypes_and_untagged_values() -> None:
    with pytest.raises(client_codec.WireFormatError):
        decoder().decode(("A", (("x", "|O"),), b"\0" * 8))
    with pytest.raises(client_codec.WireFormatError):
        decoder().decode(("?", 1))
    with pytest.raises(client_codec.WireFormatError):
        decoder().decode(("S", "Tick", (1, 2)))  # wrong number of fields


def test_field_names_are_fetched_once_per_decoder() -> None:
    asked: list[str] = []

    def fetch(name: str) -> tuple[str, ...]:
        asked.append(name)
        return structs.STRUCT_FIELDS[name]

    wire_decoder = client_codec.WireDecoder(fetch)
    tick = server_codec.encode(structs.Tick(time=1, bid=1.0, ask=1.1))
    for _ in range(3):
        assert wire_decoder.decode(tick)["ask"] == 1.1
    assert asked == ["Tick"]


def test_remote_exceptions_are_decoded_as_errors() -> None:
    with pytest.raises(client_codec.RemoteCallError) as raised:
        decoder().decode(server_codec.encode_error("TypeError", "bad"))
    assert (raised.value.kind, raised.value.message) == ("TypeError", "bad")
