"""The simulated brokers' offer: the demo profile, the bench profile and a printable summary.

``demo_servers()`` is what ``python -m simulator`` and the tests use: two trade servers with a
handful of accounts and ~14 symbols that together cover every execution mode, every filling
combination, every symbol trade mode and a range of volume/stops/freeze settings.
``bench_servers()`` adds many accounts and thousands of synthetic forex-like symbols.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from simulator import constants as c
from simulator import flags as f
from simulator.specs import ALWAYS_OPEN, FOREX_WEEK, AccountSpec, ServerSpec, SymbolSpec

DEMO_SEED = 5
DEMO_SERVER = "Sim-Demo"
LIVE_SERVER = "Sim-Live"
COMPANY = "Simulated Broker Ltd."

FOK_IOC = f.SYMBOL_FILLING_FOK | f.SYMBOL_FILLING_IOC
ALL_EXPIRATIONS = 15
NO_CLOSE_BY = 127 & ~f.SYMBOL_ORDER_CLOSEBY

# Index CFD: Monday-Friday 01:00-23:00 server time. Exchange: Monday-Friday 10:00-18:45.
INDEX_WEEK = (((60, 1380),),) * 5 + ((), ())
EXCHANGE_WEEK = (((600, 1125),),) * 5 + ((), ())


def _forex(name: str, base: float, digits: int = 5, **kw: object) -> SymbolSpec:
    fields: dict[str, object] = {
        "name": name,
        "path": f"Forex\\{name}",
        "description": f"{name[:3]} vs {name[3:]}",
        "currency_base": name[:3],
        "currency_profit": name[3:],
        "currency_margin": name[:3],
        "digits": digits,
        "base_price": base,
        "volatility": 0.08,
        "spread": 12,
        "ticks_per_minute": 20.0,
        "trade_calc_mode": c.SYMBOL_CALC_MODE_FOREX,
        "trade_mode": c.SYMBOL_TRADE_MODE_FULL,
        "trade_exemode": c.SYMBOL_TRADE_EXECUTION_MARKET,
        "filling_mode": FOK_IOC,
        "margin_hedged": 50_000.0,
        "category": "Forex",
        "swap_long": -6.5,
        "swap_short": 1.2,
    }
    fields.update(kw)
    return SymbolSpec(**fields)  # type: ignore[arg-type]


def demo_symbols() -> tuple[SymbolSpec, ...]:
    """The Sim-Demo symbol list (Sim-Live offers a subset)."""
    return (
        _forex("EURUSD", 1.1210),
        _forex("GBPUSD", 1.3150, trade_stops_level=10, trade_freeze_level=5),
        _forex("USDJPY", 108.70, digits=3, volatility=0.07),
        _forex(
            "AUDUSD",
            0.7010,
            filling_mode=f.SYMBOL_FILLING_FOK,
            volume_min=0.1,
            volume_step=0.1,
            volume_max=50.0,
        ),
        _forex("USDCHF", 0.9690, filling_mode=f.SYMBOL_FILLING_IOC, expiration_mode=3),
        _forex("EURGBP", 0.8490, volume_limit=5.0, expiration_mode=7),
        _forex("EURCHF", 1.0850, trade_mode=c.SYMBOL_TRADE_MODE_CLOSEONLY),
        _forex("USDTRY", 5.9500, trade_mode=c.SYMBOL_TRADE_MODE_DISABLED, spread=300),
        SymbolSpec(
            name="XAUUSD",
            path="Metals\\XAUUSD",
            description="Gold vs US Dollar",
            currency_base="XAU",
            currency_profit="USD",
            currency_margin="USD",
            digits=2,
            base_price=1520.0,
            volatility=0.15,
            spread=30,
            ticks_per_minute=20.0,
            trade_calc_mode=c.SYMBOL_CALC_MODE_CFDLEVERAGE,
            trade_mode=c.SYMBOL_TRADE_MODE_FULL,
            trade_exemode=c.SYMBOL_TRADE_EXECUTION_INSTANT,
            filling_mode=f.SYMBOL_FILLING_FOK,
            expiration_mode=7,
            trade_contract_size=100.0,
            volume_max=20.0,
            trade_stops_level=50,
            trade_freeze_level=20,
            margin_hedged=50.0,
            category="Metals",
        ),
        SymbolSpec(
            name="XAGUSD",
            path="Metals\\XAGUSD",
            description="Silver vs US Dollar (long only)",
            currency_base="XAG",
            currency_profit="USD",
            currency_margin="USD",
            digits=3,
            base_price=17.90,
            volatility=0.2,
            spread=25,
            ticks_per_minute=20.0,
            trade_calc_mode=c.SYMBOL_CALC_MODE_CFDLEVERAGE,
            trade_mode=c.SYMBOL_TRADE_MODE_LONGONLY,
            trade_exemode=c.SYMBOL_TRADE_EXECUTION_MARKET,
            filling_mode=FOK_IOC,
            trade_contract_size=5000.0,
            volume_max=10.0,
            category="Metals",
        ),
        SymbolSpec(
            name="US500",
            path="Indices\\US500",
            description="US 500 Index CFD",
            currency_base="USD",
            currency_profit="USD",
            currency_margin="USD",
            digits=1,
            base_price=3230.0,
            volatility=0.18,
            spread=5,
            ticks_per_minute=20.0,
            trade_calc_mode=c.SYMBOL_CALC_MODE_CFD,
            trade_mode=c.SYMBOL_TRADE_MODE_FULL,
            trade_exemode=c.SYMBOL_TRADE_EXECUTION_REQUEST,
            filling_mode=f.SYMBOL_FILLING_FOK,
            expiration_mode=3,
            trade_contract_size=1.0,
            volume_min=0.1,
            volume_step=0.1,
            volume_max=50.0,
            trade_stops_level=20,
            category="Indices",
            quote_sessions=INDEX_WEEK,
            trade_sessions=INDEX_WEEK,
        ),
        SymbolSpec(
            name="BTCUSD",
            path="Crypto\\BTCUSD",
            description="Bitcoin vs US Dollar",
            currency_base="BTC",
            currency_profit="USD",
            currency_margin="USD",
            digits=2,
            base_price=7200.0,
            volatility=0.7,
            spread=2500,
            ticks_per_minute=20.0,
            trade_calc_mode=c.SYMBOL_CALC_MODE_CFDLEVERAGE,
            trade_mode=c.SYMBOL_TRADE_MODE_FULL,
            trade_exemode=c.SYMBOL_TRADE_EXECUTION_MARKET,
            filling_mode=FOK_IOC,
            trade_contract_size=1.0,
            volume_max=5.0,
            category="Crypto",
            quote_sessions=ALWAYS_OPEN,
            trade_sessions=ALWAYS_OPEN,
        ),
        SymbolSpec(
            name="SIMX",
            path="Stocks\\SIMX",
            description="Simulated Exchange Share X",
            currency_base="USD",
            currency_profit="USD",
            currency_margin="USD",
            digits=2,
            base_price=52.40,
            volatility=0.3,
            spread=2,
            ticks_per_minute=20.0,
            trade_calc_mode=c.SYMBOL_CALC_MODE_EXCH_STOCKS,
            trade_mode=c.SYMBOL_TRADE_MODE_FULL,
            trade_exemode=c.SYMBOL_TRADE_EXECUTION_EXCHANGE,
            filling_mode=0,
            order_mode=NO_CLOSE_BY,
            trade_contract_size=1.0,
            volume_min=1.0,
            volume_step=1.0,
            volume_max=10_000.0,
            chart_mode=c.SYMBOL_CHART_MODE_LAST,
            exchange="SIMEX",
            category="Stocks",
            quote_sessions=EXCHANGE_WEEK,
            trade_sessions=EXCHANGE_WEEK,
        ),
        SymbolSpec(
            name="SIMF",
            path="Futures\\SIMF",
            description="Simulated Index Future",
            currency_base="USD",
            currency_profit="USD",
            currency_margin="USD",
            digits=0,
            base_price=12500.0,
            volatility=0.2,
            spread=1,
            ticks_per_minute=20.0,
            trade_calc_mode=c.SYMBOL_CALC_MODE_EXCH_FUTURES,
            trade_mode=c.SYMBOL_TRADE_MODE_FULL,
            trade_exemode=c.SYMBOL_TRADE_EXECUTION_EXCHANGE,
            filling_mode=FOK_IOC | f.SYMBOL_FILLING_BOC,
            order_mode=NO_CLOSE_BY,
            trade_contract_size=1.0,
            trade_tick_size=5.0,
            volume_min=1.0,
            volume_step=1.0,
            volume_max=500.0,
            margin_initial=1500.0,
            chart_mode=c.SYMBOL_CHART_MODE_LAST,
            exchange="SIMEX",
            category="Futures",
            quote_sessions=EXCHANGE_WEEK,
            trade_sessions=EXCHANGE_WEEK,
        ),
    )


LIVE_SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "US500", "BTCUSD")


def _account(
    login: int,
    server: str,
    prefix: str,
    currency: str,
    leverage: int,
    balance: float,
    margin_mode: int,
    **kw: object,
) -> AccountSpec:
    kind = "hedging" if margin_mode == c.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING else "netting"
    return AccountSpec(
        login=login,
        server=server,
        name=f"Sim {kind} {currency} {login}",
        password=f"{prefix}-{login}",
        investor_password=f"investor-{login}",
        currency=currency,
        leverage=leverage,
        balance=balance,
        margin_mode=margin_mode,
        **kw,  # type: ignore[arg-type]
    )


def demo_servers() -> list[ServerSpec]:
    """Sim-Demo (UTC+2) and Sim-Live (UTC+3) with their demo accounts."""
    hedging, netting = c.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING, c.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
    symbols = demo_symbols()
    demo = ServerSpec(
        name=DEMO_SERVER,
        company=COMPANY,
        utc_offset_s=7200,
        symbols=symbols,
        accounts=(
            _account(10001, DEMO_SERVER, "demo", "USD", 100, 10_000.0, hedging),
            _account(10002, DEMO_SERVER, "demo", "EUR", 30, 5_000.0, hedging),
            _account(10003, DEMO_SERVER, "demo", "USD", 100, 10_000.0, netting),
        ),
    )
    live = ServerSpec(
        name=LIVE_SERVER,
        company=COMPANY,
        utc_offset_s=10800,
        symbols=tuple(s for s in symbols if s.name in LIVE_SYMBOLS),
        accounts=(
            _account(
                20001,
                LIVE_SERVER,
                "live",
                "USD",
                100,
                10_000.0,
                hedging,
                trade_mode=c.ACCOUNT_TRADE_MODE_REAL,
            ),
        ),
    )
    return [demo, live]


def synthetic_symbols(count: int) -> list[SymbolSpec]:
    """``count`` cheap forex-like symbols ``SYN00001``... quoted in USD (margin in USD)."""
    return [
        _forex(
            f"SYN{i:05d}",
            round(0.5 + (i % 997) / 500.0, 5),
            path=f"Synthetic\\SYN{i:05d}",
            description=f"Synthetic pair {i}",
            currency_base=f"S{i:05d}",
            currency_profit="USD",
            currency_margin="USD",
            category="Synthetic",
            ticks_per_minute=0.5,  # quiet pairs: thousands of them stay cheap to quote
        )
        for i in range(1, count + 1)
    ]


def bench_servers(accounts: int, symbols: int) -> list[ServerSpec]:
    """The demo profile plus ``accounts`` hedging USD accounts (logins 30001..., password
    ``bench-<login>``) and ``symbols`` synthetic symbols on Sim-Demo."""
    demo, live = demo_servers()
    extra = tuple(
        _account(
            30001 + i,
            DEMO_SERVER,
            "bench",
            "USD",
            100,
            10_000.0,
            c.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
        )
        for i in range(accounts)
    )
    demo = dataclasses.replace(
        demo,
        accounts=demo.accounts + extra,
        symbols=demo.symbols + tuple(synthetic_symbols(symbols)),
    )
    return [demo, live]


_EXEMODES = {0: "request", 1: "instant", 2: "market", 3: "exchange"}
_TRADE_MODES = {0: "disabled", 1: "long only", 2: "short only", 3: "close only", 4: "full"}
_MARGIN_MODES = {0: "netting", 1: "exchange", 2: "hedging"}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _filling(spec: SymbolSpec) -> str:
    names = [n for bit, n in ((1, "FOK"), (2, "IOC"), (4, "BOC")) if spec.filling_mode & bit]
    if spec.trade_exemode == c.SYMBOL_TRADE_EXECUTION_EXCHANGE:
        names.append("RETURN")
    return "|".join(names) or "-"


def _sessions(schedule: tuple[tuple[tuple[int, int], ...], ...]) -> str:
    if schedule == ALWAYS_OPEN:
        return "24/7"
    if schedule == FOREX_WEEK:
        return "Mon 00:00-Fri 23:55"
    days = [i for i, windows in enumerate(schedule) if windows]
    windows = {schedule[i] for i in days}
    if len(windows) == 1 and days == list(range(days[0], days[-1] + 1)):
        text = ",".join(
            f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in schedule[days[0]]
        )
        return f"{_DAYS[days[0]]}-{_DAYS[days[-1]]} {text}"
    return f"{len(days)} days/week"


def _table(headers: list[str], rows: Iterable[list[str]]) -> list[str]:
    rows = list(rows)
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return out


def describe(servers: Iterable[ServerSpec], max_rows: int = 40) -> str:
    """A human-readable summary of servers, accounts and symbols (long lists are cut)."""
    lines: list[str] = []
    for server in servers:
        hours = server.utc_offset_s / 3600
        lines += [f"Server {server.name}  ({server.company}, server time = UTC{hours:+g}h)", ""]
        accounts = [
            [
                str(a.login),
                _MARGIN_MODES.get(a.margin_mode, "?"),
                a.currency,
                f"1:{a.leverage}",
                f"{a.balance:.2f}",
                a.password,
                a.investor_password,
            ]
            for a in server.accounts
        ]
        lines += _table(
            ["login", "type", "currency", "leverage", "balance", "password", "investor password"],
            accounts[:max_rows],
        )
        if len(accounts) > max_rows:
            lines.append(f"... and {len(accounts) - max_rows} more accounts")
        lines.append("")
        symbols = [
            [
                s.name,
                _EXEMODES.get(s.trade_exemode, "?"),
                _filling(s),
                _TRADE_MODES.get(s.trade_mode, "?"),
                f"{s.volume_min:g}-{s.volume_max:g}/{s.volume_step:g}",
                str(s.trade_stops_level),
                str(s.trade_freeze_level),
                _sessions(s.trade_sessions),
            ]
            for s in server.symbols
        ]
        lines += _table(
            [
                "symbol",
                "execution",
                "filling",
                "trade mode",
                "volume min-max/step",
                "stops",
                "freeze",
                "trade sessions",
            ],
            symbols[:max_rows],
        )
        if len(symbols) > max_rows:
            lines.append(f"... and {len(symbols) - max_rows} more symbols")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
