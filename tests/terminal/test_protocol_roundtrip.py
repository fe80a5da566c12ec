"""Every allow-listed MetaTrader5 function through the real server equals a direct simulator call.

The server runs in a subprocess (``python -m terminal_server --backend sim``). The test builds a
second World in-process with the same seed, freezes both clocks at the same instant and runs
the same sequence of calls on both sides, comparing results and ``last_error()`` exactly.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from terminal_server.service import ALLOWED_FUNCTIONS

from gateway.terminal.codec import RemoteCallError, WireDecoder, encode_call
from gateway.terminal.rpyc_client import open_connection
from simulator.module import make_module
from simulator.terminal import SimulatedTerminal
from simulator.world import World

FROZEN_AT = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)  # a Wednesday, markets open
FROZEN_MS = int(FROZEN_AT.timestamp() * 1000)
SERVER_NOW_S = int(FROZEN_AT.timestamp()) + 7200  # Sim-Demo is UTC+2


def plain(value: Any) -> Any:
    """A direct simulator result in the shape the client decodes to."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, tuple) and value and all(hasattr(v, "_asdict") for v in value):
        return [plain(v) for v in value]
    if isinstance(value, tuple) and not value:
        return value
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


def same(remote: Any, local: Any) -> bool:
    if isinstance(local, np.ndarray):
        return (
            isinstance(remote, np.ndarray)
            and remote.dtype == local.dtype
            and remote.tobytes() == local.tobytes()
        )
    if remote == [] and local == ():  # an empty collection of structs decodes to []
        return True
    return type(remote) is type(local) and remote == local


class Pair:
    """The same call on the remote server and on the local twin, compared."""

    def __init__(self, conn: Any, module: Any) -> None:
        root = conn.root
        self.call = root.call
        self.decoder = WireDecoder(lambda name: tuple(root.struct_fields(name)))
        self.mt5 = module
        self.called: set[str] = set()

    def __call__(self, function: str, *args: Any, **kwargs: Any) -> Any:
        encoded, error = self.call(*encode_call(function, args, kwargs))
        self.called.add(function)
        try:
            local = plain(getattr(self.mt5, function)(*args, **kwargs))
        except Exception as exc:  # the same exception must come back, tagged
            with pytest.raises(RemoteCallError) as remote_exc:
                self.decoder.decode(encoded)
            assert (remote_exc.value.kind, remote_exc.value.message) == (
                type(exc).__name__,
                str(exc),
            )
            return None
        remote = self.decoder.decode(encoded)
        local_error = self.mt5.last_error()
        assert same(remote, local), f"{function}{args}: {remote!r:.300} != {local!r:.300}"
        assert tuple(error) == tuple(local_error), f"{function}: {error} != {local_error}"
        return local


@pytest.fixture
def pair(sim_server: Any, control: Any) -> Any:
    control.freeze_time(ms=FROZEN_MS)
    world = World()
    local = SimulatedTerminal(world, name="sim-1")
    local.controls.freeze_time(FROZEN_MS)
    conn = open_connection(sim_server.host, sim_server.port)
    yield Pair(conn, make_module(local))
    conn.close()


def test_every_allowed_function_matches_the_simulator(pair: Pair) -> None:
    mt5 = pair.mt5
    pair("account_info")  # before initialize: No IPC connection on both sides
    pair("initialize")
    pair("login", 10001, password="demo-10001", server="Sim-Demo")
    pair("login", 10001, password="wrong", server="Sim-Demo")
    pair("login", 10001, password="demo-10001", server="Sim-Demo")
    pair("version")
    pair("version", 1)  # NOARGS: TypeError on both sides
    pair("last_error")
    pair("terminal_info")
    pair("account_info")
    pair("symbols_total")
    pair("symbols_get")
    pair("symbols_get", "*USD*,!EUR*")
    pair("symbol_info", "EURUSD")
    pair("symbol_info", "NOSUCH")
    pair("symbol_select", "GBPUSD", True)
    pair("symbol_info_tick", "EURUSD")
    pair("market_book_add", "EURUSD")
    pair("market_book_get", "EURUSD")
    pair("market_book_release", "EURUSD")
    pair("copy_rates_from", "EURUSD", mt5.TIMEFRAME_H1, SERVER_NOW_S, 50)
    pair("copy_rates_from_pos", "EURUSD", mt5.TIMEFRAME_H1, 0, 500)
    pair("copy_rates_range", "EURUSD", mt5.TIMEFRAME_M5, SERVER_NOW_S - 86400, SERVER_NOW_S)
    pair("copy_ticks_from", "EURUSD", SERVER_NOW_S - 3600, 500, mt5.COPY_TICKS_ALL)
    pair("copy_ticks_range", "EURUSD", SERVER_NOW_S - 600, SERVER_NOW_S, mt5.COPY_TICKS_ALL)
    pair("copy_rates_from_pos", "NOSUCH", mt5.TIMEFRAME_H1, 0, 10)
    tick = mt5.symbol_info_tick("EURUSD")
    pair("order_calc_margin", mt5.ORDER_TYPE_BUY, "EURUSD", 0.1, tick.ask)
    pair("order_calc_profit", mt5.ORDER_TYPE_BUY, "EURUSD", 0.1, tick.ask, tick.ask + 0.001)
    buy = {
        "action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
        "type": mt5.ORDER_TYPE_BUY, "price": tick.ask, "deviation": 10, "magic": 7,
        "comment": "roundtrip", "type_filling": mt5.ORDER_FILLING_FOK,
    }  # fmt: skip
    pair("order_check", buy)
    sent = pair("order_send", buy)
    assert sent is not None, mt5.last_error()
    assert sent["retcode"] == mt5.TRADE_RETCODE_DONE
    limit = {
        "action": mt5.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.2,
        "type": mt5.ORDER_TYPE_BUY_LIMIT, "price": round(tick.bid - 0.005, 5),
        "type_filling": mt5.ORDER_FILLING_RETURN, "type_time": mt5.ORDER_TIME_GTC,
    }  # fmt: skip
    pair("order_send", limit)
    pair("order_send", {**buy, "volume": 1})  # an int volume: a client-side argument error
    pair("positions_total")
    positions = pair("positions_get")
    pair("positions_get", symbol="EURUSD")
    pair("positions_get", ticket=positions[0]["ticket"])
    pair("orders_total")
    pair("orders_get")
    pair("orders_get", symbol="GBPUSD")
    week_ago = SERVER_NOW_S - 7 * 86400
    pair("history_orders_total", week_ago, SERVER_NOW_S + 60)
    pair("history_orders_get", week_ago, SERVER_NOW_S + 60)
    pair("history_orders_get", position=positions[0]["identifier"])
    pair("history_deals_total", week_ago, SERVER_NOW_S + 60)
    pair("history_deals_get", week_ago, SERVER_NOW_S + 60, group="EUR*")
    pair("history_deals_get", ticket=sent["order"])
    pair("shutdown")
    pair("account_info")  # after shutdown: failure again
    assert pair.called == ALLOWED_FUNCTIONS
