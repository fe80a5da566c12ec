"""Scenario files: a whole simulated world in one JSON (or YAML) file, to reproduce an incident.

::

    {
      "seed": 7,
      "start": "2026-11-25T12:00:00Z",          # the clock is frozen here (true UTC)
      "login": {"login": 10001, "password": "demo-10001", "server": "Sim-Demo"},
      "servers": [{
        "name": "Sim-Demo",                     # a demo server's name extends that server
        "accounts": [{"login": 50001, "password": "pw", "currency": "EUR", "leverage": 30,
                      "balance": 2500, "type": "netting"}],
        "symbols": [{"name": "EURUSD", "execution": "market", "filling": ["IOC"],
                     "ticks_csv": "eurusd.csv", "suffixes": [".m"]},
                    {"name": "GER40", "kind": "index", "price": 24000, "drift": 0.05,
                     "volatility": 0.2, "sessions": "forex",
                     "gaps": [{"at": "2026-11-25T13:00:00Z", "percent": -2}]}]
      }],
      "prices": {"XAUUSD": {"bars_csv": "xau_m1.csv", "timeframe": "M1"}},
      "faults": [{"at": "2026-11-25T12:05:00Z", "fault": "requote"},
                 {"at": "2026-11-25T12:10:00Z", "fault": "disconnect", "seconds": 30},
                 {"at": "2026-11-25T12:20:00Z", "fault": "timeout_after_execute",
                  "seconds": 5},
                 {"at": "2026-11-25T12:30:00Z", "fault": "retcode", "retcode": 10006}]
    }

* Without ``servers`` the world has the demo servers. A server entry named like a demo server
  starts from it (``"keep_demo_symbols"``/``"keep_demo_accounts": false`` start empty); any
  other name starts empty (give ``utc_offset_hours`` and ``company``).
* Symbol entries: ``simulator/scenario_symbols.py``. ``prices`` adds price-path keys to the
  named symbol on every server that has it.
* Accounts: ``login``, ``password``, ``currency``, ``leverage``, ``balance``, ``type``
  (hedging/netting/exchange), ``trade_mode`` (demo/contest/real), ``investor_password``
  (default ``investor-<login>``), ``name``, and any other AccountSpec field.
* Times are epoch seconds or ISO-8601 (a naive one is UTC), except inside CSV files (server
  time unless ``"time_zone": "utc"``). Relative file names are read beside the scenario.
* YAML (``.yaml``/``.yml``) needs PyYAML; JSON needs nothing.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator import constants as c
from simulator.catalog import DEMO_SEED, demo_servers
from simulator.fault_schedule import ScheduledFault, expand
from simulator.scenario_symbols import PRICE_KEYS, Context, symbol_specs, time_ms
from simulator.specs import AccountSpec, ServerSpec
from simulator.world import World

MARGIN_MODES = {"netting": c.ACCOUNT_MARGIN_MODE_RETAIL_NETTING,
                "exchange": c.ACCOUNT_MARGIN_MODE_EXCHANGE,
                "hedging": c.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING}  # fmt: skip
TRADE_MODES = {"demo": c.ACCOUNT_TRADE_MODE_DEMO, "contest": c.ACCOUNT_TRADE_MODE_CONTEST,
               "real": c.ACCOUNT_TRADE_MODE_REAL}  # fmt: skip
TOP_KEYS = {"seed", "start", "login", "servers", "prices", "faults", "description"}
SERVER_KEYS = {"name", "company", "utc_offset_hours", "accounts", "symbols",
               "keep_demo_symbols", "keep_demo_accounts"}  # fmt: skip
ACCOUNT_FIELDS = {f.name for f in dataclasses.fields(AccountSpec)}


@dataclass(frozen=True)
class Scenario:
    """A parsed scenario: what :meth:`world` and :meth:`start` build from it."""

    seed: int
    servers: tuple[ServerSpec, ...]
    start_ms: int | None = None
    login: tuple[int, str, str | None] | None = None
    faults: tuple[ScheduledFault, ...] = ()

    def world(self) -> World:
        """A World with the scenario's servers, seed and faults, its clock frozen at ``start``."""
        world = World(seed=self.seed, servers=list(self.servers))
        world.fault_schedule = self.faults
        if self.start_ms is not None:
            world.clock.freeze(self.start_ms)
        return world

    def start(self, terminal: Any) -> None:
        """Start ``terminal`` logged into the scenario's account (when it names one)."""
        if self.login is not None:
            terminal.start_logged_in(*self.login)


def read_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError:
            raise ValueError(f"{path}: YAML scenarios need PyYAML; use JSON instead") from None
        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a scenario is a mapping")
    return data


def load_scenario(
    source: str | Path | dict[str, Any], folder: str | Path | None = None
) -> Scenario:
    """Parse a scenario file (or an already-read mapping; CSV names are read from ``folder``)."""
    if isinstance(source, dict):
        data, base = source, Path(folder or ".")
    else:
        data, base = read_file(source), Path(folder or Path(source).parent)
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise ValueError(f"unknown scenario keys {sorted(unknown)}; known: {sorted(TOP_KEYS)}")
    start = time_ms(data["start"], "start") if "start" in data else None
    demo = {server.name: server for server in demo_servers()}
    entries = data.get("servers") or [{"name": name} for name in demo]
    prices = data.get("prices", {})
    for name, keys in prices.items():
        if not isinstance(keys, dict) or set(keys) - {*PRICE_KEYS, "volatility"}:
            raise ValueError(f"prices[{name}]: price-path keys only ({', '.join(PRICE_KEYS)})")
    servers = tuple(_server(entry, demo, prices, start, base) for entry in entries)
    faults = [_fault(entry) for entry in data.get("faults", ())]
    return Scenario(
        seed=int(data.get("seed", DEMO_SEED)),
        servers=servers,
        start_ms=start,
        login=_login(data["login"]) if "login" in data else None,
        faults=expand(faults),
    )


def _server(entry: dict[str, Any], demo: dict[str, ServerSpec], prices: dict[str, Any],
            start: int | None, folder: Path) -> ServerSpec:  # fmt: skip
    name = entry.get("name")
    if not isinstance(name, str) or set(entry) - SERVER_KEYS:
        raise ValueError(f"a server entry has a name and only {sorted(SERVER_KEYS)}: {entry!r}")
    base = demo.get(name)
    offset = round(float(entry.get("utc_offset_hours", 2)) * 3600)
    if base is not None and "utc_offset_hours" not in entry:
        offset = base.utc_offset_s
    symbols = {s.name: s for s in base.symbols} if base else {}
    context = Context(dict(symbols), offset, start, folder)
    if not entry.get("keep_demo_symbols", True):
        symbols = {}
    listed = {e.get("name"): e for e in entry.get("symbols", ())}
    for symbol in [*listed, *(n for n in prices if n in symbols and n not in listed)]:
        item = dict(listed.get(symbol) or {"name": symbol}) | prices.get(symbol, {})
        for spec in symbol_specs(item, context):
            symbols[spec.name] = spec
    symbols = {n: _follow_feed(spec, symbols) for n, spec in symbols.items()}
    accounts = list(base.accounts) if base and entry.get("keep_demo_accounts", True) else []
    accounts += [_account(a, name) for a in entry.get("accounts", ())]
    logins = [a.login for a in accounts]
    if len(set(logins)) != len(logins):
        raise ValueError(f"server {name}: an account login appears twice")
    company = entry.get("company", base.company if base else "Simulated Broker Ltd.")
    return ServerSpec(name, company, offset, tuple(symbols.values()), tuple(accounts))


PATH_FIELDS = ("recording", "base_price", "price_today", "drift", "trend_day", "gaps",
               "volatility", "legs")  # fmt: skip


def _follow_feed(spec: Any, symbols: dict[str, Any]) -> Any:
    """A variant quoting another symbol (``feed``, e.g. EURUSD.m) takes that symbol's path."""
    source = symbols.get(spec.feed) if spec.feed else None
    if source is None:
        return spec
    return dataclasses.replace(spec, **{f: getattr(source, f) for f in PATH_FIELDS})


def _account(entry: dict[str, Any], server: str) -> AccountSpec:
    values = dict(entry)
    try:
        login = int(values.pop("login"))
        kind = values.pop("type", "hedging")
        values["margin_mode"] = MARGIN_MODES[kind]
        values["trade_mode"] = TRADE_MODES[values.pop("trade_mode", "demo")]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"account {entry!r}: needs a login, a type in {sorted(MARGIN_MODES)} "
                         f"and a trade_mode in {sorted(TRADE_MODES)}") from None  # fmt: skip
    values.setdefault("investor_password", f"investor-{login}")
    values.setdefault("name", f"Scenario {kind} {values.get('currency', 'USD')} {login}")
    values.setdefault("currency", "USD")
    unknown = set(values) - ACCOUNT_FIELDS
    if unknown or "password" not in values:
        raise ValueError(f"account {login}: needs a password; unknown keys {sorted(unknown)}")
    values.update(login=login, server=server)
    values.setdefault("leverage", 100)
    values["balance"] = float(values.get("balance", 10_000.0))
    return AccountSpec(**values)


def _fault(entry: dict[str, Any]) -> ScheduledFault:
    if not isinstance(entry, dict) or "at" not in entry or "fault" not in entry:
        raise ValueError(f"a fault is {{'at': time, 'fault': kind, ...}}, got {entry!r}")
    return ScheduledFault(
        at_ms=time_ms(entry["at"], "fault"),
        kind=entry["fault"],
        seconds=float(entry.get("seconds", 0.0)),
        retcode=int(entry.get("retcode", 0)),
    )


def _login(entry: Any) -> tuple[int, str, str | None]:
    if not isinstance(entry, dict) or "login" not in entry or "password" not in entry:
        raise ValueError("login is {'login': N, 'password': '...', 'server': '...'}")
    return int(entry["login"]), str(entry["password"]), entry.get("server")
