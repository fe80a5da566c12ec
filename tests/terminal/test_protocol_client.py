"""RpycTerminal against the real terminal server (simulator backend): the port's methods,
batches, typed errors, and the fault paths (hung calls, dropped connections)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from gateway.terminal.errors import MT5Error, TerminalTimeout, TerminalUnreachable
from gateway.terminal.rpyc_client import RpycTerminal
from simulator import constants as c
from simulator.structs import RATES_DTYPE, STRUCT_FIELDS, TICKS_DTYPE


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def logged_in(server: Any, port: int | None = None, **options: Any) -> RpycTerminal:
    terminal = RpycTerminal("t1", server.host, port or server.port, **options)
    await terminal.call("initialize")
    await terminal.login(10001, "demo-10001", "Sim-Demo", 60_000)
    return terminal


@pytest.fixture
def server(sim_server: Any, control: Any) -> Iterator[Any]:
    yield sim_server


def test_typed_methods_return_plain_values(server: Any) -> None:
    async def scenario() -> None:
        t = await logged_in(server)
        account = await t.account_info()
        assert list(account) == list(STRUCT_FIELDS["AccountInfo"])
        assert (account["login"], account["currency"]) == (10001, "USD")
        assert (await t.terminal_info())["connected"] is True
        assert await t.broker_connected() is True
        symbols = await t.symbols_get("EURUSD,GBPUSD")
        assert sorted(s["name"] for s in symbols) == ["EURUSD", "GBPUSD"]
        assert (await t.symbol_info("EURUSD"))["digits"] == 5
        tick = await t.symbol_info_tick("EURUSD")
        assert tick["ask"] > tick["bid"] > 0
        await t.symbol_select("USDJPY")
        bars = await t.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 1000)
        assert bars.dtype == RATES_DTYPE and len(bars) == 1000 and bars.flags.writeable
        assert np.all(np.diff(bars["time"]) > 0)
        window = await t.copy_rates_range(
            "EURUSD", c.TIMEFRAME_H1, int(bars["time"][10]), int(bars["time"][20])
        )
        assert window.tobytes() == bars[10:21].tobytes()
        ticks = await t.copy_ticks_from("EURUSD", int(bars["time"][-2]), 50, c.COPY_TICKS_ALL)
        assert ticks.dtype == TICKS_DTYPE and len(ticks) == 50
        span = await t.copy_ticks_range(
            "EURUSD", int(ticks["time"][0]), int(ticks["time"][-1]) + 1, c.COPY_TICKS_ALL
        )
        assert span.dtype == TICKS_DTYPE and span[:50].tobytes() == ticks.tobytes()
        margin = await t.order_calc_margin(c.ORDER_TYPE_BUY, "EURUSD", 0.1, tick["ask"])
        assert isinstance(margin, float) and margin > 0
        profit = await t.order_calc_profit(
            c.ORDER_TYPE_BUY, "EURUSD", 0.1, tick["ask"], tick["ask"] + 0.001
        )
        assert profit == pytest.approx(10.0)
        await t.close()

    run(scenario())


def test_order_send_with_a_dict_then_history(server: Any) -> None:
    async def scenario() -> None:
        t = await logged_in(server)
        tick = await t.symbol_info_tick("EURUSD")
        request = {
            "action": c.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
            "type": c.ORDER_TYPE_BUY, "price": tick["ask"], "deviation": 10,
            "magic": 42, "comment": "from the gateway", "type_filling": c.ORDER_FILLING_FOK,
        }  # fmt: skip
        check = await t.order_check(request)
        assert (check["retcode"], check["comment"]) == (0, "Done")
        result = await t.order_send(request)
        assert result["retcode"] == c.TRADE_RETCODE_DONE
        assert result["request"]["comment"] == "from the gateway"  # nested struct → dict
        positions = await t.positions_get(symbol="EURUSD")
        assert [p["magic"] for p in positions] == [42]
        assert await t.positions_get(ticket=positions[0]["ticket"]) == positions
        assert await t.orders_get() == []
        by_position = await t.history_deals_get(position=positions[0]["identifier"])
        assert [d["order"] for d in by_position] == [result["order"]]
        orders = await t.history_orders_get(ticket=result["order"])
        assert [o["ticket"] for o in orders] == [result["order"]]
        deals = await t.history_deals_get(0, int(tick["time"]) + 60)
        assert deals[0]["type"] == c.DEAL_TYPE_BALANCE and deals[-1]["magic"] == 42
        await t.close()

    run(scenario())


def test_failure_values_raise_mt5_error_with_last_error(server: Any) -> None:
    async def scenario() -> None:
        t = RpycTerminal("t1", server.host, server.port)
        await t.call("shutdown")
        with pytest.raises(MT5Error) as no_ipc:
            await t.account_info()
        assert (no_ipc.value.code, no_ipc.value.mt5_message) == (-10004, "No IPC connection")
        await t.call("initialize")
        with pytest.raises(MT5Error) as bad_login:
            await t.login(10001, "wrong", "Sim-Demo", 60_000)
        assert (bad_login.value.function, bad_login.value.code) == ("login", -6)
        with pytest.raises(MT5Error) as bad_request:
            await t.order_send({"action": c.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 1})
        assert bad_request.value.code == -2
        with pytest.raises(TypeError, match="takes no arguments"):
            await t.call("account_info", 1)
        with pytest.raises(ValueError, match="not allowed"):
            await t.call("eval", "__import__('os')")
        with pytest.raises(TypeError, match="epoch seconds"):
            import datetime as dt

            await t.call("copy_rates_from", "EURUSD", 1, dt.datetime(2026, 1, 1), 10)
        await t.close()

    run(scenario())


def test_batch_runs_calls_in_order_in_one_round_trip(server: Any) -> None:
    async def scenario() -> None:
        t = await logged_in(server)
        account, positions, tick, bars, version = await t.batch(
            [
                ("account_info", (), {}),
                ("positions_get", (), {"symbol": "EURUSD"}),
                ("symbol_info_tick", ("EURUSD",), {}),
                ("copy_rates_from_pos", ("EURUSD", c.TIMEFRAME_M1, 0, 10), {}),
                ("version", (), {}),
            ]
        )
        assert account["login"] == 10001 and positions == [] and tick["bid"] > 0
        assert len(bars) == 10 and bars.dtype == RATES_DTYPE
        assert isinstance(version, tuple) and len(version) == 3
        with pytest.raises(MT5Error) as failed:
            await t.batch([("account_info", (), {}), ("symbol_info", ("NOSUCH",), {})])
        assert failed.value.function == "symbol_info"
        await t.close()

    run(scenario())


def test_ping_and_state(server: Any) -> None:
    async def scenario() -> None:
        t = RpycTerminal("t1", server.host, server.port)
        assert t.state == "disconnected"
        await t.ping()
        assert t.state == "connected" and t.connects == 1
        await t.close()
        assert t.state == "disconnected"

    run(scenario())


def test_hung_call_times_out_and_the_terminal_recovers(server: Any, control: Any) -> None:
    async def scenario() -> None:
        short = await logged_in(server, timeout_s=0.5)
        patient = RpycTerminal("t1-patient", server.host, server.port, timeout_s=60)
        control.hang_calls(seconds=2.0)
        with pytest.raises(TerminalTimeout):
            await short.account_info()
        assert short.state == "disconnected" and short.last_error_at is not None
        control.hang_calls(seconds=0)
        # The hung call still holds the terminal; the patient client waits its turn.
        assert (await patient.account_info())["login"] == 10001
        assert (await short.account_info())["login"] == 10001  # reconnected by itself
        assert short.connects == 2
        await short.close()
        await patient.close()

    run(scenario())


def test_timeout_after_execute_leaves_the_order_in_place(server: Any, control: Any) -> None:
    async def scenario() -> None:
        t = await logged_in(server, timeout_s=0.5)
        tick = await t.symbol_info_tick("EURUSD")
        control.timeout_after_execute(seconds=1.5)
        request = {
            "action": c.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
            "type": c.ORDER_TYPE_SELL, "price": tick["bid"], "deviation": 10, "magic": 9,
        }  # fmt: skip
        with pytest.raises(TerminalTimeout):
            await t.order_send(request)
        patient = RpycTerminal("t1-patient", server.host, server.port, timeout_s=60)
        positions = await patient.positions_get(symbol="EURUSD")
        assert [(p["magic"], p["type"]) for p in positions] == [(9, c.POSITION_TYPE_SELL)]
        await t.close()
        await patient.close()

    run(scenario())


def test_dropped_connection_is_unreachable_then_reconnects(server: Any, control: Any) -> None:
    async def scenario() -> None:
        t = await logged_in(server)
        assert t.connects == 1
        assert control.drop_connections() >= 1
        with pytest.raises(TerminalUnreachable):
            await t.account_info()
        assert t.state == "disconnected"
        # The terminal session (login) lives in the server, not in the connection.
        assert (await t.account_info())["login"] == 10001
        assert t.connects == 2
        await t.close()

    run(scenario())


def test_unreachable_server_backs_off() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from server_process import free_ports

    async def scenario() -> None:
        t = RpycTerminal("nowhere", "127.0.0.1", free_ports(1)[0], connect_timeout_s=1)
        with pytest.raises(TerminalUnreachable, match="cannot connect"):
            await t.ping()
        with pytest.raises(TerminalUnreachable, match="next connection attempt"):
            await t.ping()  # within the backoff window: no new attempt
        assert t.state == "disconnected" and t.connects == 0
        await t.close()

    run(scenario())


def test_two_terminals_share_one_world(sim_server: Any, control: Any) -> None:
    async def scenario() -> None:
        one = await logged_in(sim_server)
        two = await logged_in(sim_server, port=sim_server.ports[1])
        tick = await one.symbol_info_tick("EURUSD")
        result = await one.order_send(
            {
                "action": c.TRADE_ACTION_DEAL,
                "symbol": "EURUSD",
                "volume": 0.1,
                "type": c.ORDER_TYPE_BUY,
                "price": tick["ask"],
                "deviation": 10,
                "magic": 5,
            }
        )
        assert result["retcode"] == c.TRADE_RETCODE_DONE
        # Same account on another terminal of the same world sees the position.
        assert [p["magic"] for p in await two.positions_get()] == [5]
        await one.close()
        await two.close()

    run(scenario())


def test_struct_fields_match_the_package(sim_server: Any) -> None:
    from gateway.terminal.rpyc_client import open_connection

    conn = open_connection(sim_server.host, sim_server.port)
    for name, fields in STRUCT_FIELDS.items():
        assert tuple(conn.root.struct_fields(name)) == fields
    with pytest.raises(ValueError, match="unknown struct type"):
        conn.root.struct_fields("os")
    conn.close()
