"""A scenario's symbols: entries that change demo symbols or add new ones, with their sessions,
suffix variants and price paths (recorded CSV, or the seeded engine with drift, volatility and
gaps). ``simulator/scenario.py`` reads the file; this module turns one symbol entry into specs.

An entry names a symbol. It starts from ``like`` (a symbol of the base server), from the base
server's symbol of the same name, or from ``kind`` (a demo_catalog template, with ``price``),
and then sets fields. Friendly keys: ``execution`` (request/instant/market/exchange),
``filling`` (list of FOK/IOC/BOC), ``sessions``/``quote_sessions``/``trade_sessions``
("forex", "always", or ``{"mon": [["08:00", "17:00"]], ...}``), ``stops_level``,
``freeze_level``, ``suffixes`` (variants such as ``EURUSD.m`` that quote the same prices).
Any other key must be a :class:`~simulator.specs.SymbolSpec` field name.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulator import demo_catalog, flags
from simulator.bars import tf_minutes
from simulator.catalog import build_symbol
from simulator.price_paths import DAY_MS, ORIGIN_DAY, TODAY_DAY
from simulator.recordings import load_bars, load_ticks, parse_time
from simulator.specs import ALWAYS_OPEN, FOREX_WEEK, SymbolSpec, WeekSchedule

EXECUTIONS = {"request": 0, "instant": 1, "market": 2, "exchange": 3}
FILLINGS = {"FOK": flags.SYMBOL_FILLING_FOK, "IOC": flags.SYMBOL_FILLING_IOC,
            "BOC": flags.SYMBOL_FILLING_BOC}  # fmt: skip
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIMEFRAMES = {"M1": 1, "M2": 2, "M3": 3, "M4": 4, "M5": 5, "M6": 6, "M10": 10, "M12": 12,
              "M15": 15, "M20": 20, "M30": 30, "H1": 16385, "H2": 16386, "H3": 16387,
              "H4": 16388, "H6": 16390, "H8": 16392, "H12": 16396, "D1": 16408}  # fmt: skip
PRICE_KEYS = ("ticks_csv", "bars_csv", "timeframe", "time_zone", "price", "drift", "gaps")
FRIENDLY = ("name", "like", "kind", "execution", "filling", "sessions", "quote_sessions",
            "trade_sessions", "stops_level", "freeze_level", "suffixes", *PRICE_KEYS)  # fmt: skip
SPEC_FIELDS = {f.name for f in dataclasses.fields(SymbolSpec)}


@dataclasses.dataclass(frozen=True)
class Context:
    """What a symbol entry is read against: its server's base symbols, clock and folder."""

    base: dict[str, SymbolSpec]
    utc_offset_s: int
    start_ms: int | None  # the scenario's start, true UTC
    folder: Path


def time_ms(value: Any, what: str) -> int:
    """True-UTC epoch ms from epoch seconds, ISO-8601 text or a datetime (YAML gives those);
    a naive time is UTC."""
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return round(value.timestamp() * 1000)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{what}: a time is epoch seconds or ISO-8601 text, got {value!r}")
    return parse_time(str(value))


def schedule(value: Any, what: str) -> WeekSchedule:
    if value in ("forex", "weekdays"):
        return FOREX_WEEK
    if value in ("always", "24/7"):
        return ALWAYS_OPEN
    if not isinstance(value, dict) or set(value) - set(DAYS):
        raise ValueError(f"{what}: 'forex', 'always' or {{day: [[from, to], ...]}} by {DAYS}")
    return tuple(tuple(_window(w, what) for w in value.get(day, ())) for day in DAYS)


def _window(window: Any, what: str) -> tuple[int, int]:
    try:
        start, end = (int(t[:2]) * 60 + int(t[3:5]) for t in window)
    except (TypeError, ValueError):
        raise ValueError(f'{what}: a window is ["HH:MM", "HH:MM"], got {window!r}') from None
    end = 1440 if end == 0 else end
    if not 0 <= start < end <= 1440:
        raise ValueError(f"{what}: window {window!r} is empty or out of the day")
    return start, end


def symbol_specs(entry: dict[str, Any], ctx: Context) -> list[SymbolSpec]:
    """The spec an entry describes, followed by its suffix variants."""
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"a symbol entry needs a name: {entry!r}")
    unknown = set(entry) - set(FRIENDLY) - SPEC_FIELDS
    if unknown:
        raise ValueError(f"symbol {name}: unknown keys {sorted(unknown)}")
    spec = _start(entry, name, ctx)
    changes = {k: v for k, v in entry.items() if k in SPEC_FIELDS and k != "name"}
    changes.update(_friendly(entry, name))
    try:
        spec = dataclasses.replace(spec, **changes)
    except TypeError as error:
        raise ValueError(f"symbol {name}: {error}") from None
    spec = _price_path(spec, entry, ctx)
    variants = [
        dataclasses.replace(spec, name=name + suffix, path=spec.path + suffix, feed=name,
                            description=f"{spec.description} (suffix {suffix})")
        for suffix in entry.get("suffixes", ())
    ]  # fmt: skip
    return [spec, *variants]


def _start(entry: dict[str, Any], name: str, ctx: Context) -> SymbolSpec:
    like = entry.get("like")
    if like is not None:
        if like not in ctx.base:
            raise ValueError(f"symbol {name}: like {like!r} is not a symbol of the server")
        folder = ctx.base[like].path.rpartition("\\")[0]
        return dataclasses.replace(ctx.base[like], name=name, path=f"{folder}\\{name}")
    if name in ctx.base and "kind" not in entry:
        return ctx.base[name]
    kind = entry.get("kind")
    if kind not in demo_catalog.KINDS or "price" not in entry:
        raise ValueError(f"symbol {name}: a new symbol needs 'like', or 'kind' (one of "
                         f"{sorted(demo_catalog.KINDS)}) and 'price'")  # fmt: skip
    defaults = {"description": name, "digits": 2, "volatility": 0.2, "spread": 10,
                "trade_exemode": EXECUTIONS["market"], "filling_mode": FILLINGS["FOK"]}  # fmt: skip
    template = demo_catalog.KINDS[kind]
    missing = {k: v for k, v in defaults.items() if k not in template}
    return build_symbol(kind, name, float(entry["price"]), **missing)


def _friendly(entry: dict[str, Any], name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "execution" in entry:
        if entry["execution"] not in EXECUTIONS:
            raise ValueError(f"symbol {name}: execution is one of {sorted(EXECUTIONS)}")
        out["trade_exemode"] = EXECUTIONS[entry["execution"]]
    if "filling" in entry:
        policies = entry["filling"]
        if not isinstance(policies, list) or set(policies) - set(FILLINGS):
            raise ValueError(f"symbol {name}: filling is a list of {sorted(FILLINGS)}")
        out["filling_mode"] = sum(FILLINGS[p] for p in set(policies))
    if "sessions" in entry:
        out["quote_sessions"] = out["trade_sessions"] = schedule(entry["sessions"], name)
    for key in ("quote_sessions", "trade_sessions"):
        if key in entry:
            out[key] = schedule(entry[key], f"{name} {key}")
    for key, field in (("stops_level", "trade_stops_level"),
                       ("freeze_level", "trade_freeze_level")):  # fmt: skip
        if key in entry:
            out[field] = int(entry[key])
    return out


def _price_path(spec: SymbolSpec, entry: dict[str, Any], ctx: Context) -> SymbolSpec:
    """Apply a recorded CSV, or the seeded engine's price/drift/gaps, to ``spec``."""
    name = spec.name
    shift = ctx.utc_offset_s * 1000 if entry.get("time_zone", "server") == "utc" else 0
    if entry.get("time_zone", "server") not in ("server", "utc"):
        raise ValueError(f"symbol {name}: time_zone is 'server' or 'utc'")
    if "ticks_csv" in entry and "bars_csv" in entry:
        raise ValueError(f"symbol {name}: give ticks_csv or bars_csv, not both")
    recording = None
    if "ticks_csv" in entry:
        recording = load_ticks(ctx.folder / entry["ticks_csv"], shift)
    elif "bars_csv" in entry:
        timeframe = TIMEFRAMES.get(entry.get("timeframe", "M1"))
        if timeframe is None:
            raise ValueError(f"symbol {name}: timeframe is one of {sorted(TIMEFRAMES)}")
        minutes = tf_minutes(timeframe) or 1
        recording = load_bars(ctx.folder / entry["bars_csv"], minutes, spec.point, spec.spread,
                              shift)  # fmt: skip
    if recording is not None:
        return dataclasses.replace(spec, recording=recording, base_price=recording.first_bid,
                                   price_today=0.0, legs=(), feed="")  # fmt: skip
    changes: dict[str, Any] = {}
    if "price" in entry or "drift" in entry:
        price = float(entry.get("price", spec.price_today or spec.base_price))
        drift = float(entry.get("drift", 0.0))
        start = ctx.start_ms + ctx.utc_offset_s * 1000 if ctx.start_ms else None
        day = start // DAY_MS if start else TODAY_DAY
        years = (day - ORIGIN_DAY) / 365.25
        changes = {"price_today": price, "drift": drift, "trend_day": day, "legs": (),
                   "base_price": price * math.exp(-drift * years)}  # fmt: skip
    if "gaps" in entry:
        gaps = []
        for gap in entry["gaps"]:
            at = time_ms(gap.get("at"), f"{name} gap") + ctx.utc_offset_s * 1000
            gaps.append((at, 1.0 + float(gap["percent"]) / 100.0))
        changes["gaps"] = tuple(gaps)
    return dataclasses.replace(spec, **changes) if changes else spec
