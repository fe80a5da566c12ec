"""Quotes and bars of one broker server: one poll per interval, whoever is listening.

Every ``interval_s`` the poller asks one terminal already logged into the server (any account,
no switch: ``pool.market_data`` without a fallback) for the latest tick of every followed symbol
and the last two bars of every followed (symbol, timeframe), all in one round trip. Only what
changed is published: a quote when its tick changed; the forming bar when it changed, and when
a new bar starts, the previous one once more as ``closed``. Quotes and forming bars conflate;
closed bars do not. If no terminal is on the server, ``market_status`` says so (and again when
one is back); the poller keeps trying each interval at no cost (the pool answers at once).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from gateway import mt5enums as e
from gateway.events.bus import Notice, Publisher
from gateway.events.schema import dumps
from gateway.market.service import BAR_COLUMNS, rows_out
from gateway.terminal.errors import MT5Error, TerminalError
from gateway.terminal.pool import NoTerminalForServer, PoolError, TerminalPool
from gateway.terminal.port import Call, TerminalPort
from gateway.terminal.servertime import ServerClocks, TimeBasis

log = logging.getLogger("gateway.stream")

BarKey = tuple[str, str]  # (symbol, timeframe name)


def quote_topic(server: str, symbol: str) -> str:
    return f"quotes/{server}/{symbol}"


def bar_topic(server: str, symbol: str, timeframe: str) -> str:
    return f"bars/{server}/{symbol}/{timeframe}"


def market_topic(server: str) -> str:
    return f"market/{server}"


class MarketPoller:
    def __init__(
        self,
        server: str,
        *,
        pool: TerminalPool,
        clocks: ServerClocks,
        bus: Publisher,
        interval_s: float,
        timeout_s: float = 5.0,
    ) -> None:
        self.server = server
        self._pool, self._clocks, self._bus = pool, clocks, bus
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self.symbols: Counter[str] = Counter()
        self.bars: Counter[BarKey] = Counter()
        self.quotes: dict[str, Notice] = {}  # the latest quote of each symbol
        self.forming: dict[BarKey, tuple[int, Notice]] = {}  # bar open time, its notice
        self.status: Notice | None = None
        self.polls = 0  # polls that reached a terminal
        self._ticks: dict[str, tuple[Any, ...]] = {}
        self._wake = asyncio.Event()
        self._available: bool | None = None

    @property
    def idle(self) -> bool:
        return not self.symbols and not self.bars

    def follow(self, symbols: list[str], bars: list[BarKey]) -> None:
        self.symbols.update(symbols)
        self.bars.update(bars)
        self._wake.set()

    def unfollow(self, symbols: list[str], bars: list[BarKey]) -> None:
        self.symbols.subtract(symbols)
        self.bars.subtract(bars)
        for symbol in [s for s, n in self.symbols.items() if n <= 0]:
            del self.symbols[symbol]
            self.quotes.pop(symbol, None)
            self._ticks.pop(symbol, None)
        for key in [k for k, n in self.bars.items() if n <= 0]:
            del self.bars[key]
            self.forming.pop(key, None)

    async def check_symbols(self, symbols: list[str]) -> list[str]:
        """The symbols the server does not know (the others are put in Market Watch)."""
        unknown = []
        deadline = self._pool.deadline(self._timeout_s)
        async with self._pool.market_data(self.server, deadline) as terminal:
            for symbol in symbols:
                try:
                    await terminal.symbol_select(symbol, True)
                except MT5Error:
                    unknown.append(symbol)
        return unknown

    async def run(self) -> None:
        while True:
            started = time.monotonic()
            if self.idle:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("market poll of %s failed", self.server)
            await asyncio.sleep(max(0.0, self._interval_s - (time.monotonic() - started)))

    async def poll(self) -> None:
        symbols = list(self.symbols)
        bars = list(self.bars)
        calls: list[Call] = [("symbol_info_tick", (s,), {}) for s in symbols]
        calls += [("copy_rates_from_pos", (s, e.TIMEFRAMES[tf], 0, 2), {}) for s, tf in bars]
        deadline = self._pool.deadline(self._timeout_s)
        try:
            async with self._pool.market_data(self.server, deadline) as terminal:
                basis = await self._clocks.basis(terminal, self.server)
                answers = await self._fetch(terminal, calls)
        except NoTerminalForServer:
            await self._set_status(False, "no terminal is logged into this broker server")
            return
        except (PoolError, TerminalError) as exc:
            await self._set_status(False, f"market data unavailable ({type(exc).__name__})")
            return
        self.polls += 1
        await self._set_status(True, None)
        observed_ms = int(time.time() * 1000)
        for symbol, tick in zip(symbols, answers[: len(symbols)], strict=True):
            if tick is not None:
                await self._quote(symbol, tick, basis, observed_ms)
        for key, rates in zip(bars, answers[len(symbols) :], strict=True):
            if rates is not None and len(rates):
                await self._bar(key, rows_out(rates, BAR_COLUMNS, basis))

    async def _fetch(self, terminal: TerminalPort, calls: list[Call]) -> list[Any]:
        """All answers in one round trip; if one call fails, each alone (failures → None)."""
        try:
            return await terminal.batch(calls)
        except MT5Error:
            pass
        answers: list[Any] = []
        for call in calls:
            try:
                answers.append((await terminal.batch([call]))[0])
            except MT5Error:
                answers.append(None)
        return answers

    async def _quote(
        self, symbol: str, tick: dict[str, Any], basis: TimeBasis, observed_ms: int
    ) -> None:
        fingerprint = (tick["time_msc"], tick["bid"], tick["ask"], tick["last"])
        if self._ticks.get(symbol) == fingerprint:
            return
        self._ticks[symbol] = fingerprint
        shift = basis.offset_s or 0
        message = {
            "type": "quote",
            "server": self.server,
            "symbol": symbol,
            "bid": tick["bid"],
            "ask": tick["ask"],
            "last": tick["last"],
            "volume": tick["volume"],
            "time": int(tick["time"]) - shift,
            "time_msc": int(tick["time_msc"]) - shift * 1000,
            "time_basis": basis.label,
            "observed_ms": observed_ms,
        }
        notice = Notice(dumps(message), f"q/{self.server}/{symbol}")
        self.quotes[symbol] = notice
        await self._bus.publish(quote_topic(self.server, symbol), notice)

    async def _bar(self, key: BarKey, rows: list[dict[str, Any]]) -> None:
        symbol, timeframe = key
        topic = bar_topic(self.server, symbol, timeframe)
        newest = rows[-1]
        known = self.forming.get(key)
        if known is not None and known[0] != newest["time"]:
            closed = next((r for r in rows if r["time"] == known[0]), None)
            if closed is not None:
                await self._bus.publish(topic, Notice(dumps(self._bar_message(key, closed, True))))
        text = dumps(self._bar_message(key, newest, False))
        if known is not None and known[1].text == text:
            return
        notice = Notice(text, f"b/{self.server}/{symbol}/{timeframe}")
        self.forming[key] = (newest["time"], notice)
        await self._bus.publish(topic, notice)

    def _bar_message(self, key: BarKey, bar: dict[str, Any], closed: bool) -> dict[str, Any]:
        return {
            "type": "bar",
            "server": self.server,
            "symbol": key[0],
            "timeframe": key[1],
            "closed": closed,
            "bar": bar,
        }

    async def _set_status(self, available: bool, detail: str | None) -> None:
        if self._available == available:
            return
        self._available = available
        message = {
            "type": "market_status",
            "server": self.server,
            "available": available,
            "detail": detail,
        }
        self.status = Notice(dumps(message), f"m/{self.server}")
        await self._bus.publish(market_topic(self.server), self.status)
