"""Balance operations and the stop-out, through the terminal's controls and MT5 functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulator import constants as c
from simulator.module import make_module
from simulator.terminal import SimulatedTerminal
from simulator.world import World

NOW_MS = int(datetime(2024, 3, 13, 12, 0, tzinfo=UTC).timestamp() * 1000)  # a Wednesday
FAR = NOW_MS // 1000 + 10 * 86400


def _login(world: World, login: int) -> tuple[object, SimulatedTerminal]:
    term = SimulatedTerminal(world)
    mt5 = make_module(term)
    assert mt5.initialize(login=login, password=f"demo-{login}", server="Sim-Demo") is True
    return mt5, term


@pytest.fixture
def world() -> World:
    w = World()
    w.clock.freeze(NOW_MS)
    return w


def _market(mt5: object, symbol: str, side: int, volume: float) -> object:
    tick = mt5.symbol_info_tick(symbol)  # type: ignore[attr-defined]
    price = tick.ask if side == c.ORDER_TYPE_BUY else tick.bid
    request = {"action": c.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume,
               "type": side, "price": price, "deviation": 20}  # fmt: skip
    result = mt5.order_send(request)  # type: ignore[attr-defined]
    assert result.retcode == c.TRADE_RETCODE_DONE, result
    return result


def test_deposit_withdraw_and_credit_are_deals_that_move_the_money(world: World) -> None:
    mt5, term = _login(world, 10001)
    controls = term.controls
    deposit = controls.deposit(amount=2500.0, comment="wire in")
    assert (deposit.type, deposit.entry, deposit.order, deposit.position_id) == (
        c.DEAL_TYPE_BALANCE, c.DEAL_ENTRY_IN, 0, 0)  # fmt: skip
    assert (deposit.volume, deposit.price, deposit.symbol, deposit.profit) == (0.0, 0.0, "", 2500.0)
    assert (deposit.comment, deposit.reason, deposit.time_msc) == (
        "wire in", c.DEAL_REASON_CLIENT, NOW_MS + 7200_000)  # fmt: skip
    withdrawal = controls.withdraw(amount=500.0)
    assert (withdrawal.type, withdrawal.profit) == (c.DEAL_TYPE_BALANCE, -500.0)
    credit = controls.credit(amount=300.0)
    assert (credit.type, credit.profit) == (c.DEAL_TYPE_CREDIT, 300.0)
    info = mt5.account_info()  # type: ignore[attr-defined]
    assert (info.balance, info.credit, info.equity) == (12000.0, 300.0, 12300.0)
    deals = mt5.history_deals_get(0, FAR)  # type: ignore[attr-defined]
    assert [d.ticket for d in deals[-3:]] == [deposit.ticket, withdrawal.ticket, credit.ticket]
    assert len({d.ticket for d in deals}) == len(deals)  # tickets shared with trades, never reused


def test_funds_refused_when_impossible(world: World) -> None:
    mt5, term = _login(world, 10001)
    controls = term.controls
    with pytest.raises(ValueError, match="> 0"):
        controls.deposit(amount=0)
    with pytest.raises(ValueError, match="> 0"):
        controls.withdraw(amount=-5)
    with pytest.raises(ValueError, match="free margin"):
        controls.withdraw(amount=10_000.01)
    with pytest.raises(ValueError, match="below 0"):
        controls.credit(amount=-1)
    with pytest.raises(ValueError, match="unknown login"):
        controls.deposit(amount=1, login=99, server="Sim-Demo")
    assert mt5.account_info().balance == 10000.0  # type: ignore[attr-defined]


def test_another_account_on_the_server_by_login(world: World) -> None:
    _, term = _login(world, 10001)
    term.controls.deposit(amount=100.0, login=10003, server="Sim-Demo")
    netting, _ = _login(world, 10003)
    assert netting.account_info().balance == 10100.0  # type: ignore[attr-defined]


@pytest.mark.parametrize("login", [10001, 10003])
def test_stop_out_closes_the_most_losing_position_first(world: World, login: int) -> None:
    mt5, term = _login(world, login)
    _market(mt5, "EURUSD", c.ORDER_TYPE_BUY, 5.0)
    if login == 10001:
        _market(mt5, "GBPUSD", c.ORDER_TYPE_BUY, 1.0)
    eurusd = mt5.symbol_info_tick("EURUSD")  # type: ignore[attr-defined]
    # 5 lots lose 500 000 × the drop: the margin level falls under 30 %
    term.controls.push_price(server="", symbol="EURUSD", bid=eurusd.bid - 0.0175)
    info = mt5.account_info()  # type: ignore[attr-defined]
    assert info.margin_level == 0.0 or info.margin_level >= info.margin_so_so
    positions = mt5.positions_get()  # type: ignore[attr-defined]
    assert [p.symbol for p in positions] == (["GBPUSD"] if login == 10001 else [])
    deals = mt5.history_deals_get(0, FAR)  # type: ignore[attr-defined]
    (so,) = [d for d in deals if d.reason == c.DEAL_REASON_SO]
    assert (so.symbol, so.entry, so.type, so.volume) == (
        "EURUSD", c.DEAL_ENTRY_OUT, c.DEAL_TYPE_SELL, 5.0)  # fmt: skip
    assert so.comment.startswith("[so ") and so.comment.endswith("%]")
    assert so.profit < -8000
    (order,) = mt5.history_orders_get(ticket=so.order)  # type: ignore[attr-defined]
    assert order.reason == c.ORDER_REASON_SO
    assert info.balance == pytest.approx(10000.0 + so.profit)


def test_no_stop_out_above_the_level(world: World) -> None:
    mt5, term = _login(world, 10001)
    _market(mt5, "EURUSD", c.ORDER_TYPE_BUY, 5.0)
    eurusd = mt5.symbol_info_tick("EURUSD")  # type: ignore[attr-defined]
    term.controls.push_price(server="", symbol="EURUSD", bid=eurusd.bid - 0.0150)
    info = mt5.account_info()  # type: ignore[attr-defined]
    assert info.margin_so_so < info.margin_level < 100
    assert len(mt5.positions_get()) == 1  # type: ignore[attr-defined]
