"""Read benchmark: positions, orders, bars and gzip against same-run baselines, and the
throughput of one gateway process.

One simulator terminal, a real gateway (uvicorn, one worker, SQLite) and our raw RPyC client on
the same account (10001, three open positions and two pending orders). Targets (issue 15):

* open positions and pending orders p50 <= account info p50 + 0.3 ms (the gateway's own);
* 10,000 H1 bars end to end p50 <= 15 ms (the raw ``copy_rates_from_pos`` is the baseline);
* gzip negotiated by ``Accept-Encoding`` for bodies of 1 KB and more: the compressed answer's
  size and time against the identity one, and what compressing that body costs at levels 1, 6
  and 9 (zlib, measured here);
* 8 clients against one gateway process: >= 1,500 account reads per second (wrk, loopback),
  reported with the machine and its load.

    .venv/bin/python bench/read_bench.py [--iterations 200] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import zlib
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (
    Figure,
    Figures,
    Gateway,
    cpu_seconds,
    machine_line,
    p50,
    pct,
    start_sim,
    stopping,
    timed,
    wrk,
)

from gateway.terminal.rpyc_client import RpycTerminal

H1 = 16385
IDENTITY = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}


def prepare_holdings(api: httpx.Client) -> None:
    """Three open positions and two pending orders, so the reads carry rows."""
    for side in ("buy", "sell", "buy"):
        body = {"symbol": "EURUSD", "order_type": side, "volume": 0.01}
        api.post("/trades", json=body).raise_for_status()
    tick = api.get("/symbols/EURUSD/tick").json()
    for offset in (0.01, 0.02):
        price = round(tick["ask"] - offset, 5)
        body = {"symbol": "EURUSD", "order_type": "buy_limit", "volume": 0.01, "price": price}
        api.post("/orders", json=body).raise_for_status()


def section_reads(
    figures: Figures, api: httpx.Client, port: int, iterations: int, pid: int
) -> None:
    loop = asyncio.new_event_loop()
    raw = RpycTerminal("raw", "127.0.0.1", port)
    loop.run_until_complete(raw.call("initialize"))
    loop.run_until_complete(raw.login(10001, "demo-10001", "Sim-Demo", 60_000))
    samples: dict[str, list[float]] = defaultdict(list)
    paths = {"account": "/account/info", "positions": "/positions", "orders": "/orders"}
    cpu: dict[str, float] = defaultdict(float)
    for index in range(iterations + 20):
        keep = index >= 20  # the first ones warm caches and connections
        for name, path in paths.items():
            used = cpu_seconds(pid)
            took = timed(lambda path=path: api.get(path, headers=IDENTITY).raise_for_status())
            if keep:
                samples[name].append(took)
                cpu[name] += cpu_seconds(pid) - used
        took = timed(lambda: loop.run_until_complete(raw.account_info()))
        took_pos = timed(lambda: loop.run_until_complete(raw.positions_get()))
        if keep:
            samples["raw account"].append(took)
            samples["raw positions"].append(took_pos)
    loop.run_until_complete(raw.close())
    loop.close()
    section = "reads"
    account = p50(samples["account"])
    figures.add(
        Figure(
            section,
            "GET /account/info p50",
            account,
            "ms",
            baseline=p50(samples["raw account"]),
            baseline_name="raw account_info() p50",
            extra={"p99_ms": pct(samples["account"], 0.99)},
        )
    )
    figures.add(
        Figure(
            section,
            "gateway CPU per account read",
            cpu["account"] * 1000 / iterations,
            "ms",
            note="CPU time of the gateway process (all threads) per request, averaged over "
            f"{iterations}; positions "
            f"{cpu['positions'] * 1000 / iterations:.2f} ms, orders "
            f"{cpu['orders'] * 1000 / iterations:.2f} ms",
        )
    )
    for name in ("positions", "orders"):
        figures.add(
            Figure(
                section,
                f"GET /{name} p50 ({'3 positions' if name == 'positions' else '2 orders'})",
                p50(samples[name]),
                "ms",
                baseline=account,
                baseline_name="GET /account/info p50, same run",
                target_kind="over_baseline",
                target=0.3,
                extra={
                    "p99_ms": pct(samples[name], 0.99),
                    "raw_positions_get_p50_ms": p50(samples["raw positions"]),
                },
            )
        )


def section_bars(figures: Figures, api: httpx.Client, port: int, iterations: int) -> None:
    loop = asyncio.new_event_loop()
    raw = RpycTerminal("raw", "127.0.0.1", port)
    loop.run_until_complete(raw.call("initialize"))
    loop.run_until_complete(raw.login(10001, "demo-10001", "Sim-Demo", 60_000))
    path = "/market-data/EURUSD?timeframe=H1&bars=10000"
    samples: dict[str, list[float]] = defaultdict(list)
    answers: dict[str, httpx.Response] = {}

    def get(name: str, headers: dict[str, str]) -> None:
        answers[name] = api.get(path, headers=headers)
        answers[name].raise_for_status()

    for index in range(iterations + 3):
        raw_took = timed(
            lambda: loop.run_until_complete(raw.copy_rates_from_pos("EURUSD", H1, 0, 10_000))
        )
        plain = timed(lambda: get("identity", IDENTITY))
        packed = timed(lambda: get("gzip", GZIP))
        if index >= 3:
            samples["raw"].append(raw_took)
            samples["identity"].append(plain)
            samples["gzip"].append(packed)
    loop.run_until_complete(raw.close())
    loop.close()
    section = "bars and compression"
    identity = p50(samples["identity"])
    figures.add(
        Figure(
            section,
            "10,000 H1 bars end to end p50 (identity)",
            identity,
            "ms",
            baseline=p50(samples["raw"]),
            baseline_name="raw copy_rates_from_pos(10,000) p50",
            target_kind="max",
            target=15.0,
            extra={"p99_ms": pct(samples["identity"], 0.99)},
        )
    )
    body = answers["identity"].content
    encoding = answers["gzip"].headers.get("content-encoding", "identity")
    wire = int(answers["gzip"].headers.get("content-length") or len(answers["gzip"].content))
    figures.add(
        Figure(
            section,
            f"10,000 H1 bars end to end p50 (Accept-Encoding: gzip -> {encoding})",
            p50(samples["gzip"]),
            "ms",
            baseline=identity,
            baseline_name="the same answer uncompressed p50",
            note=f"{len(body):,} bytes uncompressed, {wire:,} on the wire with {encoding}; "
            "the gateway's own GZipMiddleware (minimum_size=1024, GZIP_LEVEL=1 by default)",
            extra={"encoding": encoding, "bytes_identity": len(body), "bytes_wire": wire},
        )
    )
    for level in (1, 6, 9):
        compressed = b""

        def compress(level: int = level) -> None:
            nonlocal compressed
            packer = zlib.compressobj(level, zlib.DEFLATED, 31)
            compressed = packer.compress(body) + packer.flush()

        took = [timed(compress) for _ in range(5)]
        figures.add(
            Figure(
                section,
                f"gzip level {level} of the 10,000-bar body (1.2 MB), compression alone p50",
                p50(took),
                "ms",
                note=f"{len(compressed):,} bytes ({len(compressed) / len(body):.1%})",
            )
        )
    small = api.get("/account/info", headers=GZIP)
    figures.add(
        Figure(
            section,
            "account info under 1 KB with Accept-Encoding: gzip, bytes sent",
            float(len(small.content)),
            "bytes",
            note=f"content-encoding: {small.headers.get('content-encoding', 'identity')} "
            "(bodies under 1 KB stay uncompressed)",
        )
    )


def section_throughput(figures: Figures, gateway: Gateway, seconds: int) -> None:
    tokens = [gateway.token(f"reader-{i}") for i in range(8)]
    result = wrk(gateway.url, "/api/v1/account/info", tokens, connections=8, seconds=seconds)
    figures.add(
        Figure(
            "throughput",
            "account reads per second, one gateway process, 8 clients (wrk)",
            result.rate,
            "req/s",
            target_kind="min",
            target=1500.0,
            note=f"{machine_line()}; p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
            f"{result.requests} requests, {result.errors} non-2xx, "
            f"{result.socket_errors} socket errors",
            extra=result.as_extra(),
        )
    )


def main(args: argparse.Namespace) -> int:
    figures = Figures("read")
    sim = start_sim(terminals=1)
    gateway = Gateway([sim.port])
    with stopping(sim, gateway):
        gateway.start()
        with gateway.client() as api:
            prepare_holdings(api)
            section_reads(figures, api, sim.port, args.iterations, gateway.pid)
            section_bars(figures, api, sim.port, args.bars)
        section_throughput(figures, gateway, args.seconds)
    figures.save()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--bars", type=int, default=30, help="iterations of the bars figures")
    parser.add_argument("--seconds", type=int, default=8, help="duration of the wrk run")
    sys.exit(main(parser.parse_args()))
