"""What one client may ask of the terminal server (issue 8 items 9 and 10), over real RPyC:
arguments are decoded by exact type before the terminal lock (a client object's methods never
run), and every size has a cap that answers a clear error instead of growing the server."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import rpyc
from terminal_server import limits

from gateway.terminal.rpyc_client import open_connection
from simulator import constants as c

SAFETY_S = 30.0
NOT_CALLED = (0, "not called")
DAY_S = 86400


@pytest.fixture
def conn(sim_server: Any, control: Any) -> Iterator[Any]:
    connection = open_connection(sim_server.host, sim_server.port, timeout_s=SAFETY_S)
    connection._config["sync_request_timeout"] = SAFETY_S
    call = connection.root.call
    assert call("initialize", (), ())[0] is True
    assert call("login", (10001,), (("password", "demo-10001"), ("server", "Sim-Demo")))[0]
    yield connection
    connection.close()


def refused(answer: Any, kind: str = "LimitExceeded") -> str:
    """The message of a refusal of ``kind`` for a call that was not run."""
    (tag, got, message), error = answer
    assert (tag, got, error) == ("E", kind, NOT_CALLED), answer
    return str(message)


# -- 8.9: client objects are never touched -----------------------------------------------------


class Sleeper:
    """A client-side object whose special methods block (and say so) if the server calls them."""

    def __init__(self, called: threading.Event, release: threading.Event) -> None:
        self.called = called
        self.release = release
        self.calls: list[str] = []

    def _block(self, name: str) -> None:
        self.calls.append(name)
        self.called.set()
        self.release.wait(SAFETY_S)

    def __eq__(self, other: object) -> bool:
        self._block("__eq__")
        return False

    def __hash__(self) -> int:
        self._block("__hash__")
        return 0

    def __repr__(self) -> str:
        self._block("__repr__")
        return "Sleeper()"


def test_a_client_object_in_a_batch_is_refused_without_running_its_methods(
    sim_server: Any, control: Any
) -> None:
    called, release = threading.Event(), threading.Event()
    sleeper = Sleeper(called, release)
    # Default client config: the server *could* call the object's __eq__ back through RPyC.
    attacker = rpyc.connect(sim_server.host, sim_server.port, config={"sync_request_timeout": 60})
    other = open_connection(sim_server.host, sim_server.port)
    assert other.root.call("initialize", (), ())[0] is True
    answers: dict[str, Any] = {}

    def attack() -> None:
        # (sleeper, ()) looks like the ("__dict__", pairs) tag of a dict argument.
        calls = tuple(("symbol_info", ((sleeper, ()),), ()) for _ in range(3))
        answers["batch"] = attacker.root.batch(calls)

    def read_terminal_info() -> None:
        answers["terminal_info"] = other.root.call("terminal_info", (), ())

    try:
        attacking = threading.Thread(target=attack)
        attacking.start()
        wait_until = threading.Event()
        while attacking.is_alive() and not called.is_set():
            wait_until.wait(0.02)
        reading = threading.Thread(target=read_terminal_info)
        reading.start()
        reading.join(SAFETY_S)
        finished_while_blocked = "terminal_info" in answers and not release.is_set()
        release.set()
        attacking.join(SAFETY_S)
        assert sleeper.calls == []
        assert finished_while_blocked, "terminal_info waited for the attacker's batch"
        assert answers["terminal_info"][0][0] == "S"
        for answer in answers["batch"]:
            assert "Sleeper is not accepted" in refused(answer, "ArgumentError")
        # The other entry points refuse client objects the same way.
        with pytest.raises(ValueError, match=r"unknown struct type a .*Sleeper"):
            attacker.root.struct_fields(sleeper)
        with pytest.raises(ValueError, match=r"unknown control a .*Sleeper"):
            attacker.root.control(sleeper, ())
        assert "not allowed" in refused(attacker.root.call(sleeper, (), ()), "Refused")
        assert sleeper.calls == []
    finally:
        release.set()
        attacker.close()
        other.close()


# -- 8.10: argument caps -----------------------------------------------------------------------


def nested(depth: int) -> Any:
    value: Any = "EURUSD"
    for _ in range(depth):
        value = (value,)
    return value


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("x" * (limits.MAX_ARG_CHARS + 1),), "a str argument of 4097 characters; at most 4096"),
        ((b"x" * (limits.MAX_ARG_CHARS + 1),), "a bytes argument of 4097 characters"),
        (tuple(range(limits.MAX_ARG_ITEMS + 1)), "a tuple of 65 items; at most 64"),
        ((nested(limits.MAX_ARG_DEPTH),), "nested deeper than 6 tuples"),
        (tuple(tuple(range(60)) for _ in range(20)), "more than 1024 values"),
        ((2**64,), "outside the 64-bit range"),
    ],
    ids=["str", "bytes", "tuple", "depth", "values", "int"],
)
def test_argument_caps(conn: Any, args: tuple[Any, ...], message: str) -> None:
    assert message in refused(conn.root.call("symbol_info", args, ()))


def test_arguments_at_the_caps_are_accepted(conn: Any) -> None:
    answer, error = conn.root.call("symbol_info", ("x" * limits.MAX_ARG_CHARS,), ())
    assert answer is None and error != NOT_CALLED  # ran: no such symbol
    values = tuple(tuple(range(limits.MAX_ARG_ITEMS)) for _ in range(15))  # 15 x 65 values
    for args in ((nested(limits.MAX_ARG_DEPTH - 1),), values, (2**64 - 1,), (-(2**63),)):
        _, error = conn.root.call("symbol_info", args, ())
        assert error != NOT_CALLED, args


def test_a_dict_argument_is_capped_like_the_rest(conn: Any) -> None:
    request = tuple((f"k{i}", i) for i in range(limits.MAX_ARG_ITEMS + 1))
    assert "65 items" in refused(conn.root.call("order_check", (("__dict__", request),), ()))


def test_batch_length_cap(conn: Any) -> None:
    calls = tuple(("version", (), ()) for _ in range(limits.MAX_BATCH_CALLS + 1))
    with pytest.raises(ValueError, match="at most 64 calls"):
        conn.root.batch(calls)
    assert len(conn.root.batch(calls[:-1])) == limits.MAX_BATCH_CALLS


@pytest.mark.parametrize("payload", ["random", "compressible"])
def test_a_message_over_the_size_cap_closes_only_that_connection(
    sim_server: Any, conn: Any, payload: str
) -> None:
    size = limits.MAX_REQUEST_BYTES + 1024
    big = os.urandom(size) if payload == "random" else b"\0" * size
    victim = open_connection(sim_server.host, sim_server.port)
    with pytest.raises(EOFError):
        victim.root.call("symbol_info", (big,), ())
    victim.close()
    assert "connection closed" in sim_server.output()
    assert conn.root.call("version", (), ())[0][0] == "T"  # others are served as before


# -- 8.10: work and answer caps ----------------------------------------------------------------


def test_count_and_range_caps_of_bars_and_ticks(conn: Any) -> None:
    call = conn.root.call
    now = int(call("symbol_info_tick", ("BTCUSD",), ())[0][2][0])
    cases = [
        ("copy_rates_from_pos", ("EURUSD", c.TIMEFRAME_M1, 0, limits.MAX_BARS_PER_CALL + 1)),
        ("copy_rates_from", ("EURUSD", c.TIMEFRAME_H1, now, limits.MAX_BARS_PER_CALL + 1)),
        ("copy_rates_range", ("EURUSD", c.TIMEFRAME_M1, now - 70 * DAY_S, now)),
        ("copy_ticks_from", ("BTCUSD", now - DAY_S, limits.MAX_TICKS_PER_CALL + 1, 1)),
        ("copy_ticks_range", ("BTCUSD", now - 30 * DAY_S, now, c.COPY_TICKS_ALL)),
    ]
    for function, args in cases:
        assert function in refused(call(function, args, ())), function
    kwargs = (("count", float("inf")), ("flags", c.COPY_TICKS_ALL))
    assert "count inf" in refused(call("copy_ticks_from", ("BTCUSD", now), kwargs))
    # Within the caps they run: a week of ticks, 69 days of M1 bars.
    ticks, _ = call("copy_ticks_range", ("BTCUSD", now - 7 * DAY_S, now, c.COPY_TICKS_ALL), ())
    assert ticks[0] == "A"
    bars, _ = call("copy_rates_range", ("EURUSD", c.TIMEFRAME_M1, now - 69 * DAY_S, now), ())
    assert bars[0] == "A"


def test_a_batch_of_month_long_tick_ranges_is_refused_whole(conn: Any) -> None:
    """The observed attack: 8 x copy_ticks_range(30 days) in one batch."""
    now = int(conn.root.call("symbol_info_tick", ("BTCUSD",), ())[0][2][0])
    args = ("BTCUSD", now - 30 * DAY_S, now, c.COPY_TICKS_ALL)
    answers = conn.root.batch(tuple(("copy_ticks_range", args, ()) for _ in range(8)))
    assert all("over the cap of 604800 s" in refused(a) for a in answers)


def test_an_answer_over_the_size_cap_is_an_error_and_stops_the_batch(conn: Any) -> None:
    bars = ("copy_rates_from_pos", ("EURUSD", c.TIMEFRAME_M1, 0, limits.MAX_BARS_PER_CALL), ())
    fit = limits.MAX_ANSWER_BYTES // (limits.MAX_BARS_PER_CALL * 60)  # 60 bytes per bar
    answers = conn.root.batch((bars,) * (fit + 1) + (("version", (), ()),))
    assert [a[0][0] for a in answers[:fit]] == ["A"] * fit
    (tag, kind, message), error = answers[fit]
    assert (tag, kind) == ("E", "LimitExceeded") and error[0] == 1  # it ran: MT5's own error
    assert "at most 67108864 per answer" in message
    assert "not run" in refused(answers[fit + 1])
