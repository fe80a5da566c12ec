"""Trade benchmark: the gateway's trade calls against the raw ``order_send`` round trip.

One simulator terminal; a raw RPyC client (ours, the baseline) and a real gateway (uvicorn,
one worker) logged into the same hedging account 10001. Each iteration, interleaved so both
see the same machine load: a raw market open and close, the gateway's open and close without
and with an ``Idempotency-Key``, an SL change and a pending order placed and cancelled (each
against its own raw ``order_send``). p50 over the iterations; targets (issue 15):

* SQLite (WAL, ``synchronous=NORMAL``, the default): open and close <= raw + 2.5 ms;
* PostgreSQL on loopback (``fsync`` and ``synchronous_commit`` on): <= raw + 4 ms;
* the same with an ``Idempotency-Key``.

Also measured for the record: SQLite with ``?synchronous=full`` and PostgreSQL with fsync off
(what the disk's flushes cost), and each store's commit floor (one small INSERT committed on
its own). Per scenario, the gateway's own metrics give the mean server time per route and per
MT5 function (``/metrics`` before and after).

    .venv/bin/python bench/trade_bench.py [--iterations 60]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (
    Figure,
    Figures,
    Gateway,
    PostgresCluster,
    cpu_seconds,
    p50,
    pct,
    sqlite_commit_floor_ms,
    start_sim,
    stopping,
    timed,
)

from gateway.terminal.rpyc_client import RpycTerminal

LOGIN, PASSWORD, SYMBOL, VOLUME = 10001, "demo-10001", "EURUSD", 0.01
DEAL, PENDING, SLTP, REMOVE = 1, 5, 6, 8
BUY, SELL, BUY_LIMIT = 0, 1, 2
OPERATIONS = ("open", "close", "open_key", "close_key", "modify", "place", "cancel")
RAW_OF = {"open": "open", "close": "close", "open_key": "open", "close_key": "close",
          "modify": "modify", "place": "place", "cancel": "cancel"}  # fmt: skip


class Raw:
    """The baseline: our RPyC client's ``order_send`` on the same terminal and account."""

    def __init__(self, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.terminal = RpycTerminal("raw", "127.0.0.1", port)
        self.run(self.terminal.call("initialize"))
        self.run(self.terminal.login(LOGIN, PASSWORD, "Sim-Demo", 60_000))
        tick = self.run(self.terminal.symbol_info_tick(SYMBOL))
        self.bid, self.ask = float(tick["bid"]), float(tick["ask"])

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def send(self, **fields: Any) -> dict[str, Any]:
        request = {"symbol": SYMBOL, "magic": 0, "comment": "raw bench", **fields}
        answer: dict[str, Any] = self.run(self.terminal.order_send(request))
        if answer["retcode"] not in (10008, 10009):
            raise RuntimeError(f"raw order_send refused: {answer}")
        return answer

    def open(self) -> int:
        buy = {"action": DEAL, "type": BUY, "volume": VOLUME, "price": self.ask, "deviation": 20}
        return int(self.send(**buy, type_filling=0)["order"])

    def close(self, ticket: int) -> None:
        sell = {"action": DEAL, "type": SELL, "volume": VOLUME, "price": self.bid}
        self.send(**sell, position=ticket, deviation=20, type_filling=0)

    def modify(self, ticket: int) -> None:
        self.send(action=SLTP, position=ticket, sl=round(self.bid - 0.01, 5), tp=0.0)

    def place(self) -> int:
        price = round(self.ask - 0.01, 5)
        order = {"action": PENDING, "type": BUY_LIMIT, "volume": VOLUME, "price": price}
        return int(self.send(**order, type_filling=2, type_time=0)["order"])

    def cancel(self, ticket: int) -> None:
        self.send(action=REMOVE, order=ticket)

    def close_all(self) -> None:
        self.loop.close()


def gateway_round(api: httpx.Client, raw: Raw, samples: dict[str, list[float]]) -> None:
    """One iteration: each raw call, then the gateway's, timed on the client."""

    def call(name: str, make: Callable[[], httpx.Response], ok: int = 200) -> dict[str, Any]:
        response: httpx.Response | None = None

        def run() -> None:
            nonlocal response
            response = make()

        samples[name].append(timed(run))
        assert response is not None
        if response.status_code != ok:
            raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
        body: dict[str, Any] = response.json()
        return body

    ticket = 0

    def raw_open() -> None:
        nonlocal ticket
        ticket = raw.open()

    samples["raw open"].append(timed(raw_open))
    samples["raw modify"].append(timed(lambda: raw.modify(ticket)))
    samples["raw close"].append(timed(lambda: raw.close(ticket)))
    order = 0

    def raw_place() -> None:
        nonlocal order
        order = raw.place()

    samples["raw place"].append(timed(raw_place))
    samples["raw cancel"].append(timed(lambda: raw.cancel(order)))

    buy = {"symbol": SYMBOL, "order_type": "buy", "volume": VOLUME}
    opened = call("open", lambda: api.post("/trades", json=buy))
    stop = {"stop_loss": round(raw.bid - 0.01, 5)}
    call("modify", lambda: api.patch(f"/positions/{opened['ticket']}", json=stop))
    call("close", lambda: api.delete(f"/positions/{opened['ticket']}"))
    key = {"Idempotency-Key": uuid.uuid4().hex}
    opened = call("open_key", lambda: api.post("/trades", json=buy, headers=key))
    key = {"Idempotency-Key": uuid.uuid4().hex}
    call("close_key", lambda: api.delete(f"/positions/{opened['ticket']}", headers=key))
    pending = {**buy, "order_type": "buy_limit", "price": round(raw.ask - 0.01, 5)}
    placed = call("place", lambda: api.post("/orders", json=pending), ok=201)
    call("cancel", lambda: api.delete(f"/orders/{placed['ticket']}"))


_METRIC = re.compile(r"^(gateway_\w+)_(sum|count)\{(.*)\} ([0-9.e+-]+)$")


def scrape(gateway: Gateway) -> dict[tuple[str, str, str], float]:
    """(metric, labels, sum|count) → value, for the request and MT5 call histograms."""
    text = httpx.get(f"{gateway.url}/metrics", timeout=30).text
    out: dict[tuple[str, str, str], float] = {}
    for line in text.splitlines():
        found = _METRIC.match(line)
        if found and found.group(1) in ("gateway_request_seconds", "gateway_mt5_call_seconds"):
            out[(found.group(1), found.group(3), found.group(2))] = float(found.group(4))
    return out


def breakdown(before: dict[Any, float], after: dict[Any, float], iterations: int) -> dict[str, Any]:
    """Mean server-side time per route and per MT5 function, and calls per iteration."""
    sums: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for (metric, labels, kind), value in after.items():
        sums[(metric, labels)][kind] = value - before.get((metric, labels, kind), 0.0)
    out: dict[str, Any] = {}
    for (metric, labels), values in sorted(sums.items()):
        count = values.get("count", 0.0)
        if count <= 0:
            continue
        name = "route " if metric == "gateway_request_seconds" else "mt5 "
        out[name + labels] = {
            "mean_ms": round(values.get("sum", 0.0) / count * 1000, 3),
            "per_iteration": round(count / iterations, 2),
        }
    return out


def scenario(
    figures: Figures,
    port: int,
    label: str,
    iterations: int,
    *,
    database_url: str | None,
    limit: float | None,
    full: bool = True,
    sqlite_options: str = "",
) -> dict[str, float]:
    """Measure one store configuration; returns the p50 of each operation and baseline."""
    print(f"-- {label}", flush=True)
    samples: dict[str, list[float]] = defaultdict(list)
    raw = Raw(port)
    gateway = Gateway([port], database_url=database_url, sqlite_options=sqlite_options).start()
    with stopping(gateway), gateway.client() as api:
        for _ in range(5):  # warm: connections, caches, compiled statements
            gateway_round(api, raw, defaultdict(list))
        before = scrape(gateway)
        cpu_before = cpu_seconds(gateway.pid)
        for _ in range(iterations):
            gateway_round(api, raw, samples)
        cpu_ms = (cpu_seconds(gateway.pid) - cpu_before) * 1000 / iterations
        profile = breakdown(before, scrape(gateway), iterations)
    raw.close_all()
    section = "trading"
    medians = {name: p50(values) for name, values in samples.items()}
    figures.add(
        Figure(
            section,
            f"{label}: gateway CPU per iteration (7 trade calls)",
            cpu_ms,
            "ms",
            note="CPU time of the gateway process (all threads) over the measured iterations: "
            "what the calls cost it, much less sensitive to the machine's load than latency",
        )
    )
    chosen = OPERATIONS if full else ("open", "close", "open_key", "close_key")
    for op in chosen:
        base_name = f"raw {RAW_OF[op]}"
        keyed = op.endswith("_key")
        target = limit if op in ("open", "close", "open_key", "close_key") else None
        what = op.removesuffix("_key")
        figures.add(
            Figure(
                section,
                f"{label}: {what}{' with Idempotency-Key' if keyed else ''} p50",
                medians[op],
                "ms",
                baseline=medians[base_name],
                baseline_name=f"raw order_send ({RAW_OF[op]}) p50, same run",
                target_kind="over_baseline" if target is not None else "info",
                target=target,
                extra={
                    "p99_ms": round(pct(samples[op], 0.99), 3),
                    "raw_p99_ms": round(pct(samples[base_name], 0.99), 3),
                    "samples": len(samples[op]),
                    **({"server_profile": profile} if op == "open" else {}),
                },
            )
        )
    return medians


def main(args: argparse.Namespace) -> int:
    figures = Figures("trade")
    sim = start_sim(terminals=1)
    with stopping(sim):
        floor = sqlite_commit_floor_ms("NORMAL")
        figures.add(Figure("trading", "SQLite commit floor (WAL, NORMAL)", floor, "ms"))
        scenario(figures, sim.port, "SQLite", args.iterations, database_url=None, limit=2.5)
        if args.sqlite_only:
            figures.save()
            return 0
        floor_full = sqlite_commit_floor_ms("FULL")
        figures.add(Figure("trading", "SQLite commit floor (WAL, FULL)", floor_full, "ms"))
        scenario(
            figures,
            sim.port,
            "SQLite synchronous=full",
            max(10, args.iterations // 3),
            database_url=None,
            limit=None,
            full=False,
            sqlite_options="synchronous=full",
        )
        try:
            cluster = PostgresCluster()
        except RuntimeError as exc:
            print(f"-- PostgreSQL skipped: {exc}")
            figures.save()
            return 0
        with stopping(cluster):
            version = cluster.version()
            commit = cluster.commit_floor_ms()
            figures.add(
                Figure(
                    "trading",
                    "PostgreSQL commit floor (fsync on)",
                    commit,
                    "ms",
                    note=f"PostgreSQL {version}: one INSERT committed on its own",
                )
            )
            pg = scenario(
                figures,
                sim.port,
                "PostgreSQL",
                args.iterations,
                database_url=cluster.new_database(),
                limit=4.0,
                full=False,
            )
            for op in ("open", "close"):
                over = pg[op] - pg[f"raw {op}"] - 2 * commit
                figures.add(
                    Figure(
                        "trading",
                        f"PostgreSQL: {op} overhead beyond its two durable commits",
                        over,
                        "ms",
                        target_kind="max",
                        target=4.0,
                        note="(p50 - raw p50) - 2 x commit floor: the gateway's own cost",
                    )
                )
            cluster.set_fsync(False)
            figures.add(
                Figure(
                    "trading",
                    "PostgreSQL commit floor (fsync off)",
                    cluster.commit_floor_ms(),
                    "ms",
                )
            )
            scenario(
                figures,
                sim.port,
                "PostgreSQL fsync off",
                max(10, args.iterations // 3),
                database_url=cluster.new_database(),
                limit=None,
                full=False,
            )
    figures.save()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--sqlite-only", action="store_true", help="the default store only")
    sys.exit(main(parser.parse_args()))
