"""Trading statistics from the journal: pure functions over trades and balance operations.

Definitions (each figure is the net of a trade: profit + commission + swap + fee):
- ``win_rate``: trades with net > 0 over all trades; break-even trades count as neither win
  nor loss but stay in ``trades``;
- ``gross_profit``: sum of winning nets (>= 0); ``gross_loss``: sum of losing nets (<= 0);
- ``profit_factor``: gross_profit / -gross_loss (None without losses);
- ``expectancy``: net / trades;
- streaks: the longest runs of consecutive wins or losses, in close-time order;
- drawdown: the largest fall of the balance curve from a running peak. The curve starts at 0,
  steps by every balance operation (deposits, withdrawals, credit, …) and every trade's net at
  its time; ``max_drawdown_pct`` is that fall as a percentage of the peak it fell from;
- ``avg_holding_s``: mean of close time - open time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True)
class TradeFigures:
    close_time: int  # epoch seconds, UTC
    open_time: int
    net: float


class Stats(BaseModel):
    """The figures (the API answers them as they are)."""

    trades: int
    wins: int
    losses: int
    win_rate: float | None
    gross_profit: float
    gross_loss: float
    net: float
    profit_factor: float | None
    expectancy: float | None
    average_win: float | None
    average_loss: float | None
    largest_win: float | None
    largest_loss: float | None
    longest_winning_streak: int
    longest_losing_streak: int
    max_drawdown: float
    max_drawdown_pct: float | None
    avg_holding_s: float | None


def _streaks(nets: Sequence[float]) -> tuple[int, int]:
    best_win = best_loss = run_win = run_loss = 0
    for net in nets:
        run_win = run_win + 1 if net > 0 else 0
        run_loss = run_loss + 1 if net < 0 else 0
        best_win, best_loss = max(best_win, run_win), max(best_loss, run_loss)
    return best_win, best_loss


def drawdown(steps: Sequence[tuple[int, float]]) -> tuple[float, float | None]:
    """Largest fall from a running peak of the curve that starts at 0 and adds each step in
    time order; and that fall as a percentage of its peak (None while the peak is <= 0)."""
    level = peak = 0.0
    worst, worst_pct = 0.0, None
    for _, amount in sorted(steps, key=lambda s: s[0]):
        level += amount
        peak = max(peak, level)
        fall = peak - level
        if fall > worst:
            worst = fall
            worst_pct = fall / peak * 100 if peak > 0 else None
    return worst, worst_pct


def compute(trades: Sequence[TradeFigures], balance_ops: Sequence[tuple[int, float]] = ()) -> Stats:
    ordered = sorted(trades, key=lambda t: t.close_time)
    nets = [t.net for t in ordered]
    wins = [n for n in nets if n > 0]
    losses = [n for n in nets if n < 0]
    gross_profit, gross_loss = sum(wins), sum(losses)
    count = len(nets)
    streak_win, streak_loss = _streaks(nets)
    fall, fall_pct = drawdown([*balance_ops, *((t.close_time, t.net) for t in ordered)])
    return Stats(
        trades=count,
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / count if count else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        net=sum(nets),
        profit_factor=gross_profit / -gross_loss if losses else None,
        expectancy=sum(nets) / count if count else None,
        average_win=gross_profit / len(wins) if wins else None,
        average_loss=gross_loss / len(losses) if losses else None,
        largest_win=max(wins) if wins else None,
        largest_loss=min(losses) if losses else None,
        longest_winning_streak=streak_win,
        longest_losing_streak=streak_loss,
        max_drawdown=fall,
        max_drawdown_pct=fall_pct,
        avg_holding_s=sum(t.close_time - t.open_time for t in ordered) / count if count else None,
    )
