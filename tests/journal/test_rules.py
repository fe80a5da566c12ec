"""The journal's rules on hand-made deal lists, with every expected figure worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.journal.roundtrips import balance_ops, closing_positions, position_trades
from gateway.journal.stats import TradeFigures, compute


def deal(
    ticket: int, t: int, kind: int, entry: int, volume: float, price: float, **kw: Any
) -> dict[str, Any]:
    base = {"ticket": ticket, "order": ticket, "time": t, "time_msc": t * 1000, "type": kind,
            "entry": entry, "magic": 7, "position_id": kw.pop("position", 1), "reason": 0,
            "volume": volume, "price": price, "commission": 0.0, "swap": 0.0, "profit": 0.0,
            "fee": 0.0, "symbol": "EURUSD", "comment": "", "external_id": ""}  # fmt: skip
    base.update(kw)
    return base


def test_partial_closes_share_the_entry_commission() -> None:
    deals = [
        deal(3, 300, 1, 1, 0.6, 1.1020, profit=120, commission=-4.2, swap=-1, reason=5),
        deal(1, 100, 0, 0, 1.0, 1.1000, commission=-7, comment="gwabc strategy"),
        deal(2, 200, 1, 1, 0.4, 1.1010, profit=40, commission=-2.8),
    ]
    out = position_trades(1, deals)
    assert out.errors == []
    a, b = out.trades
    assert (a.external_id, a.side, a.volume, a.open_price, a.close_price) == (
        "mt5_1_2", "buy", 0.4, 1.1, 1.101)  # fmt: skip
    assert a.commission == pytest.approx(-5.6)  # -2.8 + 0.4 x -7
    assert (a.open_time, a.close_time, a.reason, a.comment) == (
        100,
        200,
        "client",
        "gwabc strategy",
    )
    assert b.external_id == "mt5_1_3"
    assert b.commission == pytest.approx(-8.4)  # -4.2 + 0.6 x -7
    assert (b.swap, b.profit, b.reason) == (-1, 120, "tp")
    assert a.commission + b.commission == pytest.approx(-7 - 2.8 - 4.2)


def test_netting_reversal_closes_then_opens_the_other_way() -> None:
    deals = [
        deal(10, 10, 1, 0, 1.0, 1.20, commission=-7, position=5),
        deal(11, 20, 1, 0, 1.0, 1.30, commission=-7, position=5),
        deal(12, 30, 0, 2, 3.0, 1.24, profit=200, commission=-21, position=5),
        deal(13, 40, 1, 1, 1.0, 1.25, profit=100, commission=-7, reason=4, position=5),
    ]
    first, second = position_trades(5, deals).trades
    assert (first.side, first.volume, first.open_price, first.close_price) == (
        "sell",
        2.0,
        1.25,
        1.24,
    )
    assert (first.open_time, first.profit) == (10, 200)
    assert first.commission == pytest.approx(-28)  # -14 held + 2/3 of -21
    assert (second.side, second.volume, second.open_price, second.open_time) == (
        "buy",
        1.0,
        1.24,
        30,
    )
    assert second.commission == pytest.approx(-14)  # 1/3 of -21 + -7
    assert (second.external_id, second.reason) == ("mt5_5_13", "sl")


def test_close_by_makes_a_trade_on_each_side() -> None:
    buy = [
        deal(20, 1, 0, 0, 1.0, 1.1, position=8),
        deal(22, 5, 1, 3, 1.0, 1.2, position=8, profit=1000),
    ]
    sell = [
        deal(21, 2, 1, 0, 1.0, 1.15, position=9),
        deal(23, 5, 0, 3, 1.0, 1.2, position=9, profit=-500),
    ]
    (b,) = position_trades(8, buy).trades
    (s,) = position_trades(9, sell).trades
    assert (b.side, b.profit, s.side, s.profit) == ("buy", 1000, "sell", -500)


def test_a_close_without_its_opening_is_an_error_not_a_row() -> None:
    out = position_trades(4, [deal(30, 9, 1, 1, 1.0, 1.1, position=4)])
    assert out.trades == []
    assert out.errors[0]["deal"] == 30


def test_balance_operations_are_kept_apart() -> None:
    deals = [deal(1, 5, 2, 0, 0, 0, profit=1000, comment="deposit"), deal(2, 6, 0, 0, 1, 1.1),
             deal(3, 7, 2, 0, 0, 0, profit=-100), deal(4, 8, 3, 0, 0, 0, profit=50),
             deal(5, 9, 13, 0, 1, 1.1)]  # fmt: skip
    ops = balance_ops(deals)
    assert [(o.deal, o.kind, o.amount) for o in ops] == [(1, "balance", 1000), (3, "balance", -100),
                                                         (4, "credit", 50)]  # fmt: skip
    assert closing_positions(deals) == []


def test_statistics_by_hand() -> None:
    # deposit 1,000; nets +100, -50, -30, +200, 0; withdrawal 100; net -20
    trades = [
        TradeFigures(10, 0, 100),
        TradeFigures(20, 10, -50),
        TradeFigures(30, 10, -30),
        TradeFigures(40, 20, 200),
        TradeFigures(50, 40, 0),
        TradeFigures(70, 60, -20),
    ]
    s = compute(trades, [(0, 1000), (60, -100)])
    assert (s.trades, s.wins, s.losses) == (6, 2, 3)
    assert s.win_rate == pytest.approx(2 / 6)
    assert (s.gross_profit, s.gross_loss, s.net) == (300, -100, 200)
    assert s.profit_factor == pytest.approx(3.0)
    assert s.expectancy == pytest.approx(200 / 6)
    assert (s.average_win, s.largest_win, s.largest_loss) == (150, 200, -50)
    assert s.average_loss == pytest.approx(-100 / 3)
    assert (s.longest_winning_streak, s.longest_losing_streak) == (1, 2)  # the 0 breaks a run
    # curve 1000, 1100 (peak), 1050, 1020, 1220 (peak), 1220, 1120, 1100: worst fall 120
    assert s.max_drawdown == pytest.approx(120)
    assert s.max_drawdown_pct == pytest.approx(120 / 1220 * 100)
    assert s.avg_holding_s == pytest.approx((10 + 10 + 20 + 20 + 10 + 10) / 6)


def test_statistics_of_nothing() -> None:
    s = compute([])
    assert (s.trades, s.win_rate, s.profit_factor, s.max_drawdown) == (0, None, None, 0)
