"""The simulated brokers' offer: the demo profile, the bench profile and a printable summary.

``demo_servers()`` is what ``python -m simulator`` and the tests use: two trade servers with a
handful of accounts and ~20 symbols (``demo_catalog``) that together cover every execution
mode, every filling combination, every symbol trade mode, every symbol the official docs'
examples name, a broker-suffix variant and a range of volume/stops/freeze settings.
``bench_servers()`` adds many accounts and thousands of synthetic forex-like symbols.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from simulator import constants as c
from simulator import demo_catalog
from simulator.specs import ALWAYS_OPEN, FOREX_WEEK, AccountSpec, ServerSpec, SymbolSpec

DEMO_SEED = 5
DEMO_SERVER = "Sim-Demo"
LIVE_SERVER = "Sim-Live"
COMPANY = "Simulated Broker Ltd."

LIVE_SYMBOLS = demo_catalog.LIVE_SYMBOLS


def build_symbol(kind: str, name: str, base_price: float, **fields: object) -> SymbolSpec:
    """A symbol of ``kind`` (a template of demo_catalog.KINDS) with ``fields`` overriding it."""
    values = dict(demo_catalog.KINDS[kind])
    folder, pair = values.pop("folder"), values.pop("pair", False)
    if pair:
        base, profit = name[:3], name[3:6]
        values = {
            "currency_base": base,
            "currency_profit": profit,
            "currency_margin": base,
        } | values
        values.setdefault("description", f"{base} vs {profit}")
    values.update(name=name, path=f"{folder}\\{name}", base_price=base_price)
    values.update(fields)
    return SymbolSpec(**values)  # type: ignore[arg-type]


def demo_symbols() -> tuple[SymbolSpec, ...]:
    """The Sim-Demo symbol list (Sim-Live offers a subset), built from demo_catalog.SYMBOLS."""
    return tuple(
        build_symbol(kind, name, price, price_today=today, **fields)
        for kind, name, price, today, fields in demo_catalog.SYMBOLS
    )


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
    """``count`` cheap forex-like symbols ``SYN00001``... quoted in USD (margin in USD), with
    Market execution and FOK|IOC filling."""
    return [
        build_symbol(
            "forex",
            f"SYN{i:05d}",
            round(0.5 + (i % 997) / 500.0, 5),
            path=f"Synthetic\\SYN{i:05d}",
            description=f"Synthetic pair {i}",
            currency_base=f"S{i:05d}",
            currency_profit="USD",
            currency_margin="USD",
            category="Synthetic",
            trade_exemode=demo_catalog.MARKET,
            filling_mode=demo_catalog.FOK_IOC,
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
    """The symbol's filling flags, and what a market order may ask for with them."""
    names = [n for bit, n in ((1, "FOK"), (2, "IOC"), (4, "BOC")) if spec.filling_mode & bit]
    if spec.trade_exemode == c.SYMBOL_TRADE_EXECUTION_EXCHANGE:
        names.append("RETURN")
    text = "|".join(names) or "-"
    if spec.trade_exemode in (c.SYMBOL_TRADE_EXECUTION_INSTANT, c.SYMBOL_TRADE_EXECUTION_REQUEST):
        text += " (any policy, filled FOK)"
    return text


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
