"""Broadcast benchmark (issue 12): one order to 50 accounts on 4 terminals whose logins take
0.25 s, against the naive loop that logs one terminal into each account in turn and sends.

* baseline: our RPyC client on one terminal: for each account, ``login`` then ``order_send``;
* broadcast: ``POST /api/v1/broadcasts`` (admin) to the 50 stored accounts of 50 users, polled
  until finished; switches from the gateway's pool metrics.

Wall time and switches of both; every target must be filled.

    .venv/bin/python bench/broadcast_bench.py [--accounts 50]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Account, Figure, Figures, Gateway, seed_accounts, start_sim, stopping

from gateway.terminal.rpyc_client import RpycTerminal

FIRST_LOGIN = 30001
LOGIN_DELAY_S = 0.25
TERMINALS = 4
ADMIN = "bench-admin"


def naive(port: int, accounts: int) -> tuple[float, int]:
    """One terminal, one switch per account: (seconds, switches)."""

    async def run() -> tuple[float, int]:
        terminal = RpycTerminal("naive", "127.0.0.1", port)
        await terminal.call("initialize")
        started = time.perf_counter()
        for i in range(accounts):
            login = FIRST_LOGIN + i
            await terminal.login(login, f"bench-{login}", "Sim-Demo", 60_000)
            tick = await terminal.symbol_info_tick("EURUSD")
            answer = await terminal.order_send(
                {
                    "action": 1,
                    "symbol": "EURUSD",
                    "volume": 0.01,
                    "type": 0,
                    "price": tick["ask"],
                    "deviation": 20,
                    "type_filling": 0,
                    "magic": 12,
                    "comment": "naive broadcast",
                }
            )
            if answer["retcode"] != 10009:
                raise RuntimeError(f"naive order refused: {answer}")
        seconds = time.perf_counter() - started
        await terminal.close()
        return seconds, accounts

    return asyncio.run(run())


def switches(gateway: Gateway) -> int:
    text = httpx.get(f"{gateway.url}/metrics", timeout=30).text
    found = re.search(r"^gateway_pool_switches_total ([0-9.e+]+)$", text, re.M)
    return int(float(found.group(1))) if found else 0


def main(args: argparse.Namespace) -> int:
    figures = Figures("broadcast")
    sim = start_sim(
        terminals=TERMINALS, profile="bench", accounts=args.accounts, login_delay=LOGIN_DELAY_S
    )
    with stopping(sim):
        naive_s, naive_switches = naive(sim.ports[0], args.accounts)
        gateway = Gateway(sim.ports, settings={"ADMIN_USER_IDS": ADMIN})
        people = [
            Account(f"bc-{i}", FIRST_LOGIN + i, f"bench-{FIRST_LOGIN + i}")
            for i in range(args.accounts)
        ]
        seed_accounts(gateway.database_url, gateway.encryption_key, people)
        with stopping(gateway), gateway.start().client(ADMIN) as admin:
            before = switches(gateway)
            body = {
                "order": {"symbol": "EURUSD", "order_type": "buy", "volume": 0.01, "magic": 13},
                "targets": {"accounts": [p.id for p in people]},
                "sizing": {"mode": "fixed", "value": 0.01},
            }
            started = time.perf_counter()
            created = admin.post("/broadcasts", json=body)
            created.raise_for_status()
            broadcast_id = created.json()["id"]
            while True:
                view = admin.get(f"/broadcasts/{broadcast_id}").json()
                if view["finished_at"] is not None:
                    break
                if time.perf_counter() - started > 300:
                    raise RuntimeError(f"broadcast not finished: {view['progress']}")
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            used = switches(gateway) - before
    progress = view["progress"]
    section = "broadcast (50 accounts, 4 terminals, 0.25 s logins)"
    figures.add(
        Figure(
            section,
            f"broadcast to {args.accounts} accounts, wall time",
            seconds,
            "s",
            baseline=naive_s,
            baseline_name="naive loop: one terminal, login + order_send per account",
            note=f"progress {progress}",
            extra={"progress": progress},
        )
    )
    figures.add(
        Figure(
            section,
            "broadcast switches (account logins)",
            float(used),
            "switches",
            baseline=float(naive_switches),
            baseline_name="naive loop switches",
            target_kind="max",
            target=float(args.accounts),
            note="at most one login per account",
        )
    )
    figures.add(
        Figure(
            section,
            "broadcast targets filled",
            float(progress["filled"]),
            "accounts",
            target_kind="min",
            target=float(args.accounts),
        )
    )
    figures.save()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50)
    sys.exit(main(parser.parse_args()))
