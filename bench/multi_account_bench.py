"""Multi-account benchmark: the terminal pool against the seed design's global lock.

8 bench accounts, 2 simulator terminals whose logins take 0.25 s, 8 concurrent clients each making
25 mixed requests for their own account (account_info, positions_get, a market buy of BTCUSD and
its close). Both runs go to the same terminal server in the same process:

* baseline (the seed design): one global lock; under it, log the terminal into the request's
  account if it holds another one, make the call, unlock;
* pool: ``TerminalPool`` with its defaults (affinity, batching, fairness, two terminals).

Prints total time, switches and requests for each, the speed ratio and switches per request.
Targets: the pool at least 10x faster, fewer than one switch per 10 requests.

    .venv/bin/python bench/multi_account_bench.py [--accounts 8] [--clients 8] [--requests 25]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import benchlib  # noqa: E402

from gateway.terminal.pool import AccountKey, TerminalPool  # noqa: E402
from gateway.terminal.port import TerminalPort  # noqa: E402
from gateway.terminal.rpyc_client import RpycTerminal  # noqa: E402

HOST = "127.0.0.1"
SERVER = "Sim-Demo"
FIRST_LOGIN = 30001
LOGIN_DELAY_S = 0.25
SYMBOL = "BTCUSD"
VOLUME = 0.01
DEAL, BUY, SELL, IOC = 1, 0, 1, 1  # TRADE_ACTION_DEAL, ORDER_TYPE_BUY/SELL, ORDER_FILLING_IOC
NO_IPC = -10004

Call = Callable[[TerminalPort], Awaitable[Any]]


def password(account: AccountKey) -> str:
    return f"bench-{account.login}"


def workload(requests: int) -> list[Callable[[dict[str, int]], Call]]:
    """One client's requests, in order: reads and a buy/close pair, repeating."""

    def account_info(_: dict[str, int]) -> Call:
        return lambda t: t.account_info()

    def positions(_: dict[str, int]) -> Call:
        return lambda t: t.positions_get(symbol=SYMBOL)

    def buy(state: dict[str, int]) -> Call:
        async def send(t: TerminalPort) -> Any:
            result = await t.order_send(order(BUY))
            check(result)
            state["position"] = result["order"]
            return result

        return send

    def close(state: dict[str, int]) -> Call:
        async def send(t: TerminalPort) -> Any:
            result = await t.order_send(order(SELL, position=state.pop("position")))
            check(result)
            return result

        return send

    cycle = [account_info, positions, buy, positions, close]
    return [cycle[i % len(cycle)] for i in range(requests)]


def order(kind: int, position: int = 0) -> dict[str, Any]:
    request: dict[str, Any] = {
        "action": DEAL,
        "symbol": SYMBOL,
        "volume": VOLUME,
        "type": kind,
        "type_filling": IOC,
        "deviation": 1000,
        "magic": 7,
        "comment": "multi-account bench",
    }
    if position:
        request["position"] = position
    return request


def check(result: dict[str, Any]) -> None:
    if result["retcode"] != 10009:
        raise RuntimeError(f"order_send failed: {result['retcode']} {result['comment']}")


@dataclass
class Figures:
    name: str
    seconds: float
    switches: int
    requests: int


class GlobalLock:
    """The seed design: every request behind one lock, switching the account when it differs."""

    def __init__(self, terminal: TerminalPort) -> None:
        self.terminal = terminal
        self.lock = asyncio.Lock()
        self.holds: AccountKey | None = None
        self.switches = 0
        self.initialized = False

    async def run(self, account: AccountKey, call: Call) -> Any:
        async with self.lock:
            if self.holds != account:
                if not self.initialized:
                    await self.terminal.call("initialize")
                    self.initialized = True
                self.holds = None
                await self.terminal.login(account.login, password(account), account.server, 60_000)
                self.holds = account
                self.switches += 1
            return await call(self.terminal)


async def clients(
    accounts: list[AccountKey], requests: int, run: Callable[[AccountKey, Call], Awaitable[Any]]
) -> float:
    async def client(account: AccountKey) -> None:
        state: dict[str, int] = {}
        for make in workload(requests):
            await run(account, make(state))

    started = time.perf_counter()
    await asyncio.gather(*(client(a) for a in accounts))
    return time.perf_counter() - started


async def baseline(port: int, accounts: list[AccountKey], requests: int) -> Figures:
    terminal = RpycTerminal("baseline", HOST, port)
    seed = GlobalLock(terminal)
    try:
        seconds = await clients(accounts, requests, seed.run)
    finally:
        await terminal.close()
    return Figures("global lock (seed)", seconds, seed.switches, len(accounts) * requests)


async def pooled(ports: list[int], accounts: list[AccountKey], requests: int) -> Figures:
    terminals = [RpycTerminal(f"t{i + 1}", HOST, p) for i, p in enumerate(ports)]

    async def credentials_of(account: AccountKey) -> str:
        return password(account)

    async with TerminalPool(terminals) as pool:

        async def run(account: AccountKey, call: Call) -> Any:
            creds = lambda: credentials_of(account)  # noqa: E731
            async with pool.session(account, creds, pool.deadline(120.0)) as terminal:
                return await call(terminal)

        seconds = await clients(accounts, requests, run)
        snap = pool.snapshot()
    return Figures("terminal pool", seconds, snap.switches, snap.served)


def free_ports(count: int) -> list[int]:
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            first = probe.getsockname()[1]
        ports = list(range(first, first + count))
        if all(_free(p) for p in ports):
            return ports
    raise RuntimeError("no free ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def start_server(terminals: int, accounts: int) -> tuple[subprocess.Popen[str], list[int]]:
    ports = free_ports(terminals)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "terminal-image"), str(ROOT)])}
    command = [
        sys.executable, "-m", "terminal_server", "--backend", "sim", "--host", HOST,
        "--port", str(ports[0]), "--terminals", str(terminals), "--profile", "bench",
        "--bench-accounts", str(accounts), "--login-delay", str(LOGIN_DELAY_S),
        "--log-level", "WARNING",
    ]  # fmt: skip
    log_path = Path(tempfile.mkdtemp(prefix="multi-account-bench-")) / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log, text=True)
    give_up = time.monotonic() + 60
    for port in ports:
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > give_up:
                process.kill()
                raise RuntimeError(f"terminal server did not start:\n{log_path.read_text()}")
            time.sleep(0.05)
    return process, ports


def _listening(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except OSError:
        return False
    return True


def report(base: Figures, pool: Figures) -> bool:
    for f in (base, pool):
        print(
            f"{f.name:>20}: {f.seconds:7.2f} s  {f.switches:4d} switches  {f.requests:4d} requests"
            f"  ({f.switches / f.requests:.3f} switches/request)"
        )
    ratio = base.seconds / pool.seconds
    per_request = pool.switches / pool.requests
    print(f"{'speed ratio':>20}: {ratio:.1f}x faster with the pool (target >= 10x)")
    print(f"{'pool switches':>20}: {per_request:.3f} per request (target < 0.1)")
    figures = benchlib.Figures("multi_account")
    section = "multi-account (terminal pool)"
    figures.add(
        benchlib.Figure(
            section,
            f"{pool.requests} mixed requests of 8 accounts on 2 terminals, wall time",
            pool.seconds,
            "s",
            baseline=base.seconds,
            baseline_name="one global lock, switching per request (seed design)",
            target_kind="ratio_min",
            target=10.0,
        )
    )
    figures.add(
        benchlib.Figure(
            section,
            "pool switches per request",
            per_request,
            "switches",
            baseline=base.switches / base.requests,
            baseline_name="global lock switches per request",
            target_kind="max",
            target=0.1,
            note="kept under 0.1 (strictly below) by the standalone run's own check",
        )
    )
    figures.save()
    return ratio >= 10 and per_request < 0.1


async def main(args: argparse.Namespace) -> int:
    accounts = [AccountKey(FIRST_LOGIN + i, SERVER) for i in range(args.accounts)]
    process, ports = start_server(args.terminals, args.accounts)
    try:
        print(
            f"{args.clients} clients x {args.requests} requests, {args.accounts} accounts, "
            f"{args.terminals} simulator terminals, login delay {LOGIN_DELAY_S} s"
        )
        pool = await pooled(ports, accounts[: args.clients], args.requests)
        base = await baseline(ports[0], accounts[: args.clients], args.requests)
    finally:
        process.terminate()
        process.wait(10)
    met = report(base, pool)
    print("targets met" if met else "TARGETS NOT MET")
    return 0 if met or os.environ.get("BENCH_FIGURES_DIR") else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=25)
    parser.add_argument("--terminals", type=int, default=2)
    sys.exit(asyncio.run(main(parser.parse_args())))
