"""What the load and fault suite shares: its size, real processes (simulator terminals, the
gateway under uvicorn, PostgreSQL) that can be killed and brought back, clients that retry an
``Idempotency-Key`` until its answer is final, and a look at the simulator's own history.

Size: ``STRESS_SIZE=full`` (``make test-stress``) runs every scenario at the size issue 15 names
(200 clients, 1,000 keys, 10 minutes of memory sampling); anything else is the reduced size
``make test`` runs in CI. No assertion is about speed: durations only bound the runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
for extra in (REPO / "bench", REPO / "tests" / "terminal"):
    if str(extra) not in sys.path:
        sys.path.append(str(extra))

import loadgen  # noqa: E402
from benchlib import Gateway, PostgresCluster, pg_bindir, stopping  # noqa: E402
from server_process import free_ports, start_terminal_server  # noqa: E402
from sim_control import SimControl  # noqa: E402

from gateway.terminal.rpyc_client import RpycTerminal  # noqa: E402

FULL = os.environ.get("STRESS_SIZE", "") == "full"


def weekday_noon_ms(now: float | None = None) -> int:
    """Noon UTC of the weekday nearest to now (Saturday: Friday's, Sunday: Monday's), when every
    market of the catalog is open. The clock stays close to the real one, as a broker's does:
    the gateway's look-ups after a restart search a window of days around the real time."""
    day = datetime.fromtimestamp(now if now is not None else time.time(), UTC).date()
    shift = {5: -1, 6: 1}.get(day.weekday(), 0)
    noon = datetime.combine(day + timedelta(days=shift), dt_time(12, 0), tzinfo=UTC)
    return int(noon.timestamp() * 1000)


FROZEN_MS = weekday_noon_ms()
ADMIN = "stress-admin"
ARTIFACTS = REPO / "tests" / "artifacts"
FINAL_WAIT_S = 180.0  # bound on waiting for keys to settle after the faults stop


def size(ci: Any, full: Any) -> Any:
    """The reduced (CI) or the full value of a knob."""
    return full if FULL else ci


def report(name: str, data: dict[str, Any]) -> None:
    """Keep a scenario's figures (growth, counts) in tests/artifacts/ and print them."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"stress-{name}.json").write_text(json.dumps(data, indent=1))
    print(f"stress {name}: {json.dumps(data)}")


# -- processes ----------------------------------------------------------------------------------


class Sim:
    """The simulator's terminal server: ``terminals`` terminals sharing one world (one broker),
    its clock frozen on a weekday noon."""

    def __init__(self, terminals: int = 2, *, login_delay: float = 0.0) -> None:
        args = ["--login-delay", str(login_delay)] if login_delay else []
        self.server = start_terminal_server(terminals=terminals, extra_args=args)
        self.ports = list(self.server.ports)
        with self.control(0) as control:
            control.freeze_time(ms=FROZEN_MS)

    def control(self, index: int) -> SimControl:
        return SimControl("127.0.0.1", self.ports[index])

    def stop(self) -> None:
        self.server.stop()


class Proxy:
    """A terminal's address (``port``) forwarding to a simulator terminal: :meth:`kill` is the
    terminal dying, :meth:`start` it coming back on the same address."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_ports(1)[0]
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Proxy:
        script = Path(__file__).resolve().parent / "tcp_proxy.py"
        self.process = subprocess.Popen(
            [sys.executable, str(script), str(self.port), str(self.target)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("ready:"):
            raise RuntimeError(f"proxy did not start: {line!r}")
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    stop = kill


def gateway(
    ports: list[int],
    *,
    database_url: str | None = None,
    default_login: int = 10001,
    **settings: str,
) -> Gateway:
    """A gateway on these terminals with settings that make faults show quickly."""
    base = {
        "TERMINAL_TIMEOUT_S": "2",
        "TERMINAL_CONNECT_TIMEOUT_S": "1",
        "POOL_HEALTH_INTERVAL_S": "0.25",
        "REQUEST_TIMEOUT_S": "10",
        "ADMIN_USER_IDS": ADMIN,
    }
    workdir = Path(tempfile.mkdtemp(prefix="mt5gw-stress-"))  # kept: its log explains failures
    return Gateway(
        ports,
        database_url=database_url,
        default_login=default_login,
        settings={**base, "LOG_LEVEL": "INFO", **settings},
        workdir=workdir,
    )


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def pool_terminals(admin: httpx.Client) -> dict[str, bool]:
    """Terminal name → in rotation, from the admin pool view."""
    pool = admin.get("/admin/pool").json()["pool"]
    return {t["name"]: bool(t["healthy"]) for t in pool["terminals"]}


def wait_for(condition: Callable[[], bool], timeout_s: float, pause_s: float = 0.05) -> float:
    """Poll until ``condition()``; seconds it took, or raise after ``timeout_s``."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"condition not reached within {timeout_s} s")
        time.sleep(pause_s)


# -- the simulator's own record -----------------------------------------------------------------


def history_orders(port: int, login: int, password: str) -> list[dict[str, Any]]:
    """Every order in the account's history, read straight from the simulator."""

    async def read() -> list[dict[str, Any]]:
        terminal = RpycTerminal("auditor", "127.0.0.1", port)
        try:
            await terminal.call("initialize")
            await terminal.login(login, password, "Sim-Demo", 60_000)
            now = FROZEN_MS // 1000
            return list(await terminal.history_orders_get(now - 30 * 86400, now + 30 * 86400))
        finally:
            await terminal.close()

    return asyncio.run(read())


def orders_by_magic(orders: list[dict[str, Any]]) -> Counter[int]:
    return Counter(int(o["magic"]) for o in orders)


# -- clients that settle their keys -------------------------------------------------------------

RETRY = (409, 429, 503, 504)  # in progress, busy, unavailable, outcome unknown: same key again


@dataclass
class KeyOutcome:
    key: str
    magic: int
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    seen: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    missing_retry_after: int = 0


async def settle_key(
    conn: loadgen.Connection,
    outcome: KeyOutcome,
    body: dict[str, Any],
    *,
    deadline: float,
    path: str = "/api/v1/trades",
) -> None:
    """Send with the key until the answer is final (2xx or a refusal that is not a retry)."""
    headers = {"Idempotency-Key": outcome.key}
    while time.monotonic() < deadline:
        outcome.attempts += 1
        try:
            status, data, retry_after = await conn.request("POST", path, body, headers)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            outcome.transport_errors += 1
            await conn.close()
            conn.writer = None
            await asyncio.sleep(0.2)
            continue
        outcome.seen[status] += 1
        if status in RETRY:
            if status in (429, 503) and not retry_after:
                outcome.missing_retry_after += 1
            await asyncio.sleep(0.1)
            continue
        outcome.status = status
        outcome.body = json.loads(data) if data else {}
        return
    outcome.status = -1  # never final within the bound


async def settle_keys(
    port: int,
    tokens: list[str],
    outcomes: list[KeyOutcome],
    make_body: Callable[[KeyOutcome], dict[str, Any]],
    *,
    bound_s: float,
) -> None:
    """Each token a client working through its share of ``outcomes`` one key at a time."""
    deadline = time.monotonic() + bound_s
    shares = [outcomes[i :: len(tokens)] for i in range(len(tokens))]

    async def client(token: str, share: list[KeyOutcome]) -> None:
        conn = loadgen.Connection("127.0.0.1", port, token)
        try:
            for outcome in share:
                await settle_key(conn, outcome, make_body(outcome), deadline=deadline)
        finally:
            await conn.close()

    await asyncio.gather(*(client(t, s) for t, s in zip(tokens, shares, strict=True)))


def netting_order(outcome: KeyOutcome) -> dict[str, Any]:
    """A 0.01-lot market order on the netting account, buys and sells alternating so the
    position stays small whatever the number of keys; the key's own magic marks its order."""
    side = "buy" if outcome.magic % 2 == 0 else "sell"
    return {"symbol": "EURUSD", "order_type": side, "volume": 0.01, "magic": outcome.magic}


def assert_one_order_per_key(outcomes: list[KeyOutcome], orders: list[dict[str, Any]]) -> None:
    """Every key final; a filled key has exactly one order in the simulator's history (its
    ticket the answer's), a refused one none, and no order belongs to no key."""
    counts = orders_by_magic(orders)
    ours = {o.magic for o in outcomes}
    unsettled = [o.key for o in outcomes if o.status == -1]
    assert not unsettled, f"{len(unsettled)} keys never got a final answer: {unsettled[:5]}"
    for outcome in outcomes:
        expected = 1 if 200 <= outcome.status < 300 else 0
        assert counts[outcome.magic] == expected, (
            f"key {outcome.key}: {counts[outcome.magic]} orders, final answer "
            f"{outcome.status} {outcome.body}"
        )
        if expected:
            (order,) = [o for o in orders if int(o["magic"]) == outcome.magic]
            assert int(order["ticket"]) == int(outcome.body["order"]), outcome.body
    strays = [m for m in counts if m not in ours and m >= MAGIC_BASE]
    assert not strays, f"orders with no key: {strays[:5]}"


MAGIC_BASE = 500_000


def pg_available() -> bool:
    return pg_bindir() is not None


__all__ = ["Gateway", "PostgresCluster", "Proxy", "Sim", "gateway", "stopping"]
