"""The simulated market: determinism, sessions, exact aggregation, forming bars, queries, pushes.

Every test uses a frozen SimClock; reference aggregations are written independently of the
vectorized implementation (plain Python loops over the rows).
"""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from simulator import constants as c
from simulator.clock import SimClock
from simulator.market import MAX_BARS, MAX_TICKS, Market, in_schedule
from simulator.specs import ALWAYS_OPEN, FOREX_WEEK, SymbolSpec
from simulator.structs import RATES_DTYPE, TICKS_DTYPE

OFFSET_S = 7200
H, D = 3600, 86400


def srv(*parts: int) -> int:
    """Server-time epoch seconds for (year, month, day[, hour, minute, second])."""
    return calendar.timegm((*parts, *(0,) * (6 - len(parts))))


NOW_S = srv(2026, 11, 18, 16, 30, 15)  # a Wednesday, server time
NOW_MS = NOW_S * 1000 + 250
EXCHANGE_WEEK = (((600, 840), (900, 1125)),) * 5 + ((), ())  # 10:00-14:00 and 15:00-18:45


def spec(name: str, **kw: object) -> SymbolSpec:
    base = dict(
        name=name, path=f"Test\\{name}", description=name, currency_base=name[:3],
        currency_profit="USD", currency_margin=name[:3], digits=5, base_price=1.1,
        volatility=0.08, spread=10, ticks_per_minute=6.0, trade_calc_mode=0, trade_mode=4,
        trade_exemode=2, filling_mode=3,
    )  # fmt: skip
    base.update(kw)
    return SymbolSpec(**base)  # type: ignore[arg-type]


FX = spec("EURUSD")
BTC = spec("BTCUSD", digits=2, base_price=30_000.0, volatility=0.6, spread=1500,
           quote_sessions=ALWAYS_OPEN, trade_sessions=ALWAYS_OPEN)  # fmt: skip
EXCH = spec("SIMX", digits=2, base_price=120.0, volatility=0.3, spread=3, ticks_per_minute=10.0,
            chart_mode=c.SYMBOL_CHART_MODE_LAST, quote_sessions=EXCHANGE_WEEK)  # fmt: skip
SPECS = (FX, BTC, EXCH)


def make_market(seed: int = 5, now_ms: int = NOW_MS) -> tuple[Market, SimClock]:
    clock = SimClock()
    clock.freeze(now_ms - OFFSET_S * 1000)
    return Market(seed, SPECS, clock, OFFSET_S), clock


@pytest.fixture
def market() -> Market:
    return make_market()[0]


# ---------------------------------------------------------------- reference aggregations
def ref_m1(ticks: np.ndarray, point: float) -> list[tuple]:
    groups: dict[int, list] = {}
    for t in ticks.tolist():
        groups.setdefault(t[5] // 60_000 * 60, []).append(t)
    return [
        (key, rows[0][1], max(r[1] for r in rows), min(r[1] for r in rows), rows[-1][1],
         len(rows), min(round((r[2] - r[1]) / point) for r in rows), sum(r[4] for r in rows))
        for key, rows in groups.items()
    ]  # fmt: skip


def ref_group(bars: np.ndarray, key) -> list[tuple]:  # type: ignore[no-untyped-def]
    groups: dict[int, list] = {}
    for b in bars.tolist():
        groups.setdefault(key(b[0]), []).append(b)
    return [
        (k, rows[0][1], max(r[2] for r in rows), min(r[3] for r in rows), rows[-1][4],
         sum(r[5] for r in rows), min(r[6] for r in rows), sum(r[7] for r in rows))
        for k, rows in groups.items()
    ]  # fmt: skip


def week_start(t: int) -> int:
    day = datetime.fromtimestamp(t, UTC).replace(hour=0, minute=0, second=0)
    return int((day - timedelta(days=(day.weekday() + 1) % 7)).timestamp())


def month_start(t: int) -> int:
    return int(
        datetime.fromtimestamp(t, UTC).replace(day=1, hour=0, minute=0, second=0).timestamp()
    )


# ---------------------------------------------------------------- determinism and dtypes
def test_same_seed_same_history_different_seed_different() -> None:
    a, b, other = make_market()[0], make_market()[0], make_market(seed=6)[0]
    for name in ("EURUSD", "BTCUSD", "SIMX"):
        rates = a.rates_from_pos(name, c.TIMEFRAME_H1, 0, 300)
        assert len(rates) == 300
        assert np.array_equal(rates, b.rates_from_pos(name, c.TIMEFRAME_H1, 0, 300))
        assert not np.array_equal(rates, other.rates_from_pos(name, c.TIMEFRAME_H1, 0, 300))
    ticks = a.ticks_range("EURUSD", (NOW_S - D) * 1000, NOW_MS)
    assert len(ticks) > 1000
    assert np.array_equal(ticks, b.ticks_range("EURUSD", (NOW_S - D) * 1000, NOW_MS))


def test_history_does_not_depend_on_query_order_or_now() -> None:
    a = make_market()[0]
    b = make_market(now_ms=NOW_MS + 5 * D * 1000)[0]  # later "now", queried in another order
    span = (srv(2026, 11, 10), srv(2026, 11, 13, 12))
    b_ticks = b.ticks_range("SIMX", span[0] * 1000, span[1] * 1000)
    b_m5 = b.rates_range("SIMX", c.TIMEFRAME_M5, *span)
    a_m5 = a.rates_range("SIMX", c.TIMEFRAME_M5, *span)
    a_ticks = a.ticks_range("SIMX", span[0] * 1000, span[1] * 1000)
    assert len(a_ticks) > 0 and np.array_equal(a_ticks, b_ticks)
    assert len(a_m5) > 0 and np.array_equal(a_m5, b_m5)


def test_dtypes_are_packed_60_bytes(market: Market) -> None:
    rates = market.rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 10)
    ticks = market.ticks_from("EURUSD", NOW_MS - 60_000, 5)
    assert rates.dtype == RATES_DTYPE and rates.dtype.itemsize == 60
    assert ticks.dtype == TICKS_DTYPE and ticks.dtype.itemsize == 60
    assert market.tick("EURUSD").dtype == TICKS_DTYPE
    assert rates.dtype.names == ("time", "open", "high", "low", "close", "tick_volume",
                                 "spread", "real_volume")  # fmt: skip


# ---------------------------------------------------------------- aggregation
@pytest.mark.parametrize("name", ["EURUSD", "SIMX"])
def test_m1_bars_are_exact_aggregates_of_ticks(market: Market, name: str) -> None:
    point = 10.0 ** -(5 if name == "EURUSD" else 2)
    lo, hi = srv(2026, 11, 16, 9), srv(2026, 11, 16, 16)
    ticks = market.ticks_range(name, lo * 1000, hi * 1000 - 1)
    m1 = market.rates_range(name, c.TIMEFRAME_M1, lo, hi - 1)
    assert len(m1) > 100
    assert m1.tolist() == ref_m1(ticks, point)
    if name == "SIMX":
        assert m1["real_volume"].sum() > 0 and (m1["spread"] >= 1).all()


def test_intraday_timeframes_are_exact_aggregates_of_m1(market: Market) -> None:
    lo, hi = srv(2026, 11, 9), srv(2026, 11, 14)  # Monday to Friday, whole days
    m1 = market.rates_range("EURUSD", c.TIMEFRAME_M1, lo, hi - 1)
    for tf, seconds in ((c.TIMEFRAME_M15, 900), (c.TIMEFRAME_H1, H), (c.TIMEFRAME_H4, 4 * H),
                        (c.TIMEFRAME_D1, D)):  # fmt: skip
        bars = market.rates_range("EURUSD", tf, lo, hi - 1)
        assert bars.tolist() == ref_group(m1, lambda t, s=seconds: t - t % s)
    assert len(market.rates_range("EURUSD", c.TIMEFRAME_D1, lo, hi - 1)) == 5


def test_week_and_month_bars_aggregate_days_and_align(market: Market) -> None:
    lo, hi = srv(2025, 6, 1), srv(2026, 10, 31, 23, 59)
    d1 = market.rates_range("BTCUSD", c.TIMEFRAME_D1, lo, hi)
    w1 = market.rates_range("BTCUSD", c.TIMEFRAME_W1, lo, hi)
    mn1 = market.rates_range("BTCUSD", c.TIMEFRAME_MN1, lo, hi)
    assert w1.tolist() == ref_group(d1, week_start)  # 2025-06-01 is a Sunday
    assert mn1.tolist() == ref_group(d1, month_start)
    assert all(datetime.fromtimestamp(t, UTC).weekday() == 6 for t in w1["time"].tolist())
    assert all(t % D == 0 for t in w1["time"].tolist())
    assert all(datetime.fromtimestamp(t, UTC).day == 1 for t in mn1["time"].tolist())
    assert len(mn1) == 17
    fx_w1 = market.rates_range("EURUSD", c.TIMEFRAME_W1, lo, hi)
    fx_d1 = market.rates_range("EURUSD", c.TIMEFRAME_D1, lo, hi)
    assert fx_w1.tolist() == ref_group(fx_d1, week_start)


# ---------------------------------------------------------------- sessions
def test_forex_is_closed_on_weekends_crypto_is_not(market: Market) -> None:
    sat, mon = srv(2026, 11, 14), srv(2026, 11, 16)
    assert len(market.ticks_range("EURUSD", sat * 1000, mon * 1000 - 1)) == 0
    assert len(market.ticks_range("BTCUSD", sat * 1000, mon * 1000 - 1)) > 1000
    friday = market.ticks_range("EURUSD", srv(2026, 11, 13) * 1000, sat * 1000)
    assert friday["time"].max() < srv(2026, 11, 13, 23, 55)
    assert all(in_schedule(FOREX_WEEK, t) for t in friday["time"].tolist()[::50])


def test_exchange_ticks_only_inside_its_windows(market: Market) -> None:
    ticks = market.ticks_range("SIMX", srv(2026, 11, 16) * 1000, srv(2026, 11, 17) * 1000)
    assert len(ticks) > 1000
    assert all(in_schedule(EXCHANGE_WEEK, t) for t in ticks["time"].tolist())
    minutes = (ticks["time"] % D) // 60
    assert ((minutes >= 840) & (minutes < 900)).sum() == 0  # the lunch break
    assert minutes.min() >= 600 and minutes.max() < 1125


def test_in_schedule_boundaries() -> None:
    assert in_schedule(FOREX_WEEK, srv(2026, 11, 20, 23, 54, 59))  # Friday
    assert not in_schedule(FOREX_WEEK, srv(2026, 11, 20, 23, 55))
    assert not in_schedule(FOREX_WEEK, srv(2026, 11, 21, 12))  # Saturday
    assert in_schedule(FOREX_WEEK, srv(2026, 11, 23))  # Monday 00:00
    assert in_schedule(ALWAYS_OPEN, srv(2026, 11, 22, 3))


# ---------------------------------------------------------------- now and the forming bar
def test_nothing_after_now_and_forming_bar_grows() -> None:
    market, clock = make_market()
    assert market.now_ms() == NOW_MS
    ticks = market.ticks_range("BTCUSD", NOW_MS - 600_000, NOW_MS + 3_600_000)
    assert ticks["time_msc"].max() <= NOW_MS
    tick = market.tick("BTCUSD")
    assert tick["time_msc"] == ticks["time_msc"][-1] and tick["bid"] == ticks["bid"][-1]
    (bar,) = market.rates_from_pos("BTCUSD", c.TIMEFRAME_H1, 0, 1)
    assert bar["time"] == NOW_S - NOW_S % H
    clock.advance(20 * 60_000)
    (later,) = market.rates_from_pos("BTCUSD", c.TIMEFRAME_H1, 0, 1)
    assert later["time"] == bar["time"] and later["open"] == bar["open"]
    assert later["tick_volume"] > bar["tick_volume"]
    grown = market.ticks_range("BTCUSD", NOW_MS - 600_000, NOW_MS + 3_600_000)
    assert np.array_equal(grown[: len(ticks)], ticks) and len(grown) > len(ticks)
    assert market.rates_range("BTCUSD", c.TIMEFRAME_M1, NOW_S + H, NOW_S + 2 * H).size == 0


def test_tick_on_weekend_is_fridays_last() -> None:
    weekend = make_market(now_ms=srv(2026, 11, 21, 12) * 1000)[0]
    last_friday = weekend.ticks_range("EURUSD", srv(2026, 11, 20) * 1000, srv(2026, 11, 21) * 1000)
    assert weekend.tick("EURUSD").tolist() == last_friday[-1].tolist()
    assert weekend.day_stats("EURUSD")["volume"] == len(last_friday)


# ---------------------------------------------------------------- query boundaries
def test_rates_from_pos_counts_back_from_the_forming_bar(market: Market) -> None:
    bars = market.rates_from_pos("EURUSD", c.TIMEFRAME_M5, 0, 50)
    assert len(bars) == 50 and (np.diff(bars["time"]) > 0).all()
    newest = int(market.tick("EURUSD")["time"])
    assert bars["time"][-1] == newest - newest % 300  # the forming bar (bars need a tick)
    shifted = market.rates_from_pos("EURUSD", c.TIMEFRAME_M5, 10, 40)
    assert np.array_equal(shifted, bars[:40])
    assert len(market.rates_from_pos("EURUSD", c.TIMEFRAME_M5, 0, 0)) == 0
    everything = market.rates_from_pos("EURUSD", c.TIMEFRAME_MN1, 0, 1000)
    assert everything["time"][0] == srv(2020, 1, 1) and len(everything) == 83
    assert len(market.rates_from_pos("EURUSD", c.TIMEFRAME_MN1, 90, 5)) == 0


def test_rates_from_takes_bars_opened_at_or_before_date(market: Market) -> None:
    date = srv(2026, 11, 17, 10, 30)
    bars = market.rates_from("EURUSD", c.TIMEFRAME_H1, date, 30)
    assert len(bars) == 30 and bars["time"][-1] == srv(2026, 11, 17, 10)
    exact = market.rates_from("EURUSD", c.TIMEFRAME_H1, srv(2026, 11, 17, 10), 30)
    assert np.array_equal(exact, bars)
    before = market.rates_from("EURUSD", c.TIMEFRAME_H1, srv(2026, 11, 17, 10) - 1, 29)
    assert np.array_equal(before, bars[:29])
    future = market.rates_from("EURUSD", c.TIMEFRAME_H1, NOW_S + 30 * D, 3)
    assert np.array_equal(future, market.rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 3))
    monday = market.rates_from("EURUSD", c.TIMEFRAME_H1, srv(2026, 11, 16, 0, 30), 2)
    assert monday["time"].tolist() == [srv(2026, 11, 13, 23), srv(2026, 11, 16)]


def test_rates_range_is_inclusive(market: Market) -> None:
    lo, hi = srv(2026, 11, 17, 8), srv(2026, 11, 17, 12)
    bars = market.rates_range("EURUSD", c.TIMEFRAME_H1, lo, hi)
    assert bars["time"].tolist() == [lo + i * H for i in range(5)]
    inner = market.rates_range("EURUSD", c.TIMEFRAME_H1, lo + 1, hi - 1)
    assert np.array_equal(inner, bars[1:4])
    assert market.rates_range("EURUSD", c.TIMEFRAME_H1, hi, lo).size == 0


def test_ticks_range_and_ticks_from_boundaries(market: Market) -> None:
    day = market.ticks_range("EURUSD", srv(2026, 11, 17) * 1000, srv(2026, 11, 18) * 1000 - 1)
    t1, t2 = int(day["time_msc"][100]), int(day["time_msc"][200])
    inclusive = market.ticks_range("EURUSD", t1, t2)
    assert inclusive["time_msc"][0] == t1 and inclusive["time_msc"][-1] == t2
    assert np.array_equal(market.ticks_from("EURUSD", t1, 50), inclusive[:50])
    after = market.ticks_from("EURUSD", t1 + 1, 5)
    assert after["time_msc"][0] > t1
    friday_late = srv(2026, 11, 13, 23, 50) * 1000  # runs over the weekend into Monday
    over = market.ticks_from("EURUSD", friday_late, 3000)
    assert len(over) == 3000 and over["time"][-1] >= srv(2026, 11, 16)
    tail = market.ticks_from("EURUSD", NOW_MS - 30_000, 10_000)
    assert 0 < len(tail) < 10_000 and tail["time_msc"][-1] <= NOW_MS
    assert len(market.ticks_from("EURUSD", 0, 3)) == 3  # from the start of history
    assert market.ticks_from("EURUSD", 0, 1)["time"][0] >= market.history_start_s


def test_copy_ticks_flags(market: Market) -> None:
    lo, hi = srv(2026, 11, 17, 10) * 1000, srv(2026, 11, 17, 12) * 1000
    fx = market.ticks_range("EURUSD", lo, hi)
    assert len(market.ticks_range("EURUSD", lo, hi, c.COPY_TICKS_TRADE)) == 0
    assert np.array_equal(market.ticks_range("EURUSD", lo, hi, c.COPY_TICKS_INFO), fx)
    assert ((fx["flags"] & (c.TICK_FLAG_BID | c.TICK_FLAG_ASK)) != 0).all()
    assert (fx["last"] == 0).all() and (fx["volume"] == 0).all()
    ex = market.ticks_range("SIMX", lo, hi)
    trades = market.ticks_range("SIMX", lo, hi, c.COPY_TICKS_TRADE)
    info = market.ticks_range("SIMX", lo, hi, c.COPY_TICKS_INFO)
    assert 0 < len(trades) < len(ex) and 0 < len(info) < len(ex)
    assert len(np.union1d(trades["time_msc"], info["time_msc"])) == len(np.unique(ex["time_msc"]))
    last, vol = c.TICK_FLAG_LAST | c.TICK_FLAG_VOLUME, trades["flags"]
    assert ((vol & last) == last).all() and (trades["volume"] > 0).all()
    buys, sells = (vol & c.TICK_FLAG_BUY) != 0, (vol & c.TICK_FLAG_SELL) != 0
    assert (buys ^ sells).all() and buys.any() and sells.any()
    assert (trades["last"][buys] == trades["ask"][buys]).all()
    assert (trades["last"][sells] == trades["bid"][sells]).all()
    assert (trades["volume_real"] == trades["volume"]).all()
    with pytest.raises(ValueError):
        market.ticks_range("SIMX", lo, hi, 8)


# ---------------------------------------------------------------- pushes
def test_push_price_moves_the_tick_and_later_prices() -> None:
    market, clock = make_market()
    untouched = make_market()[0]
    before = market.rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 300)
    target = round(float(market.tick("EURUSD")["bid"]) * 1.1, 5)
    pushed = market.push_price("EURUSD", target)
    assert pushed["bid"] == target and pushed["ask"] == round(target + 10 * 1e-5, 5)
    assert pushed["time_msc"] == NOW_MS
    assert market.tick("EURUSD").tolist() == pushed.tolist()
    clock.advance(2 * H * 1000)
    later = market.ticks_range("EURUSD", NOW_MS + 1, NOW_MS + 2 * H * 1000)
    assert abs(later["bid"] / target - 1).max() < 0.02
    other = untouched.push_price("EURUSD", 1.0, 1.2)  # explicit ask, in another market
    assert other["ask"] == 1.2
    untouched.clock.advance(2 * H * 1000)  # type: ignore[attr-defined]
    assert abs(untouched.tick("EURUSD")["bid"] / market.tick("EURUSD")["bid"] - 1) > 0.05
    after = market.rates_range("EURUSD", c.TIMEFRAME_M1, NOW_S - D, int(before["time"][-2]))
    assert np.array_equal(after[-299:], before[:299])  # closed bars before the push unchanged
    assert abs(market.rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 1)["open"][0] / target - 1) < 0.02
    assert np.array_equal(make_market()[0].rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 300), before)
    with pytest.raises(ValueError):
        market.push_price("EURUSD", 1.2, 1.1)


def test_day_stats(market: Market) -> None:
    today = market.ticks_range("SIMX", srv(2026, 11, 18) * 1000, NOW_MS)
    yesterday = market.ticks_range("SIMX", srv(2026, 11, 17) * 1000, srv(2026, 11, 18) * 1000 - 1)
    stats = market.day_stats("SIMX")
    trades = today[(today["flags"] & c.TICK_FLAG_LAST) != 0]
    assert stats["volume"] == len(today)
    assert stats["bidhigh"] == today["bid"].max() and stats["asklow"] == today["ask"].min()
    assert stats["session_open"] == today["bid"][0]
    assert stats["session_close"] == yesterday["bid"][-1]
    assert stats["last"] == trades["last"][-1] and stats["lasthigh"] == trades["last"].max()
    change = (today["bid"][-1] - yesterday["bid"][-1]) / yesterday["bid"][-1] * 100
    assert stats["price_change"] == pytest.approx(change, abs=1e-4)
    assert market.day_stats("EURUSD")["last"] == 0.0


# ---------------------------------------------------------------- history and errors
def test_history_reaches_back_more_than_two_years(market: Market) -> None:
    start = NOW_S - 2 * 365 * D - 10 * D
    daily = market.rates_range("EURUSD", c.TIMEFRAME_D1, start, NOW_S)
    assert daily["time"][0] - start < 4 * D and len(daily) > 520
    assert market.history_start_s == srv(2020, 1, 1)
    first = market.rates_range("BTCUSD", c.TIMEFRAME_M1, 0, srv(2020, 1, 1, 0, 5))
    assert first["time"][0] == srv(2020, 1, 1)
    assert abs(first["open"][0] / 30_000 - 1) < 0.01
    assert market.rates_range("BTCUSD", c.TIMEFRAME_D1, 0, srv(2019, 12, 31, 23)).size == 0
    prices = market.rates_range("EURUSD", c.TIMEFRAME_MN1, 0, NOW_S)
    assert (prices["low"] > 0.5).all() and (prices["high"] < 2.5).all()


def test_errors(market: Market) -> None:
    with pytest.raises(KeyError):
        market.tick("NOPE")
    with pytest.raises(KeyError):
        market.rates_from_pos("NOPE", c.TIMEFRAME_H1, 0, 1)
    with pytest.raises(ValueError):
        market.rates_from_pos("EURUSD", 7, 0, 1)
    with pytest.raises(ValueError):
        market.rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, MAX_BARS + 1)
    with pytest.raises(ValueError):
        market.rates_from("EURUSD", c.TIMEFRAME_H1, NOW_S, -1)
    with pytest.raises(ValueError):
        market.ticks_from("EURUSD", 0, MAX_TICKS + 1)
    with pytest.raises(ValueError):
        market.rates_range("EURUSD", c.TIMEFRAME_M1, 0, NOW_S)  # far more than MAX_BARS


def test_add_symbols_is_lazy_and_usable() -> None:
    market = make_market()[0]
    many = [spec(f"S{i:04d}") for i in range(2000)]
    market.add_symbols(many)
    assert market.tick("S1999")["bid"] > 0
    assert market.tick("S0001")["bid"] != market.tick("S0002")["bid"]


# ---------------------------------------------------------------- clock
def test_clock_freeze_set_advance_unfreeze() -> None:
    clock = SimClock()
    assert not clock.frozen
    clock.freeze(1_000_000)
    assert clock.frozen and clock.now_ms() == 1_000_000
    time.sleep(0.002)
    assert clock.now_ms() == 1_000_000
    clock.advance(500)
    assert clock.now_ms() == 1_000_500
    clock.set(5_000)
    assert clock.now_ms() == 5_000 and clock.frozen
    with pytest.raises(ValueError):
        clock.advance(-1)
    clock.unfreeze()
    assert not clock.frozen
    first = clock.now_ms()
    assert 5_000 <= first < 5_000 + 3_600_000 and clock.now_ms() >= first
    clock.set(10**12)
    assert not clock.frozen and clock.now_ms() >= 10**12
    clock.freeze()
    assert clock.frozen and clock.now_ms() == clock.now_ms()
