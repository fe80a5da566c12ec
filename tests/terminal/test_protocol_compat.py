"""mt5linux compatibility mode: the stock ``mt5linux==0.1.9`` client against the simulator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

mt5linux = pytest.importorskip("mt5linux")


def test_stock_mt5linux_client_works_against_compat_mode(sim_server: Any, control: Any) -> None:
    assert "CLASSIC COMPATIBILITY MODE" in sim_server.output()
    mt5 = mt5linux.MetaTrader5(host=sim_server.host, port=sim_server.compat_port)
    assert mt5.initialize()
    assert mt5.login(10001, password="demo-10001", server="Sim-Demo")
    account = mt5.account_info()
    assert (account.login, account.currency) == (10001, "USD")
    tick = mt5.symbol_info_tick("EURUSD")
    assert tick.ask > tick.bid > 0
    bars = mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_H1, 0, 100)
    assert isinstance(bars, np.ndarray) and len(bars) == 100
    assert bars.dtype.names == ("time", "open", "high", "low", "close", "tick_volume",
                                "spread", "real_volume")  # fmt: skip
    result = mt5.order_send(
        {
            "action": mt5.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "volume": 0.1,
            "type": mt5.ORDER_TYPE_BUY,
            "price": tick.ask,
            "deviation": 10,
            "magic": 77,
            "comment": "mt5linux",
            "type_filling": mt5.ORDER_FILLING_FOK,
        }
    )
    assert result.retcode == mt5.TRADE_RETCODE_DONE
    # The order went to terminal 1 of the same server: the restricted port sees it too.
    positions = [p.magic for p in mt5.positions_get(symbol="EURUSD")]
    assert positions == [77]


def test_compat_mode_shares_terminal_one_with_the_restricted_port(
    sim_server: Any, control: Any
) -> None:
    import asyncio

    from gateway.terminal.rpyc_client import RpycTerminal

    mt5 = mt5linux.MetaTrader5(host=sim_server.host, port=sim_server.compat_port)
    assert mt5.initialize()
    assert mt5.login(10002, password="demo-10002", server="Sim-Demo")

    async def restricted_view() -> Any:
        t = RpycTerminal("t1", sim_server.host, sim_server.port)
        info = await t.account_info()
        await t.close()
        return info

    assert asyncio.run(restricted_view())["login"] == 10002  # one terminal, one session


def test_compat_mode_is_refused_for_the_real_backend() -> None:
    from server_process import run_terminal_server_cli

    result = run_terminal_server_cli(
        ["--backend", "real", "--classic-compat-port", "1", "--port", "2"]
    )
    assert result.returncode == 2 and "only for --backend sim" in result.stderr
