"""The lease keeper in one process: pools on the same simulator terminals, each with its own
keeper, on one real PostgreSQL. A terminal given up is drained before its lease is freed; a
lease taken by someone else leaves the rotation; a replica cut off from the store takes its
terminals out before its leases expire, and another replica takes them only after."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import pytest
from server_process import TerminalServerProcess

from gateway.db import normalize_url
from gateway.replicas.keeper import LeaseKeeper
from gateway.replicas.service import own_engine
from gateway.terminal.pool import AccountKey, TerminalPool
from gateway.terminal.rpyc_client import RpycTerminal

pytestmark = [pytest.mark.needs_binary("postgres"), pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def dsn(cluster: Callable[..., Any]) -> Iterator[str]:
    yield cluster().dsn


def plain(dsn: str) -> str:
    return str(normalize_url(dsn).set(drivername="postgresql"))


@contextlib.asynccontextmanager
async def replica(
    dsn: str, sims: TerminalServerProcess, name: str, ttl_s: float = 3.0
) -> AsyncIterator[tuple[TerminalPool, LeaseKeeper]]:
    """A pool on t1 and t2 holding nothing, and its keeper (first share taken), as a replica."""
    terminals = [RpycTerminal(f"t{i + 1}", sims.host, p, timeout_s=10) for i, p in
                 enumerate(sims.ports[:2])]  # fmt: skip
    pool = TerminalPool(terminals, held=False, health_interval_s=60)
    engine = own_engine(dsn)
    keeper = LeaseKeeper(engine, pool.holdings, replica_id=name, address=None, ttl_s=ttl_s)
    await keeper.start()
    try:
        yield pool, keeper
    finally:
        with contextlib.suppress(Exception):
            await keeper.stop(drain_s=1.0)
        await pool.close()
        await engine.dispose()


async def owners(dsn: str) -> dict[str, str | None]:
    """terminal → its live holder, by the database's clock."""
    conn = await asyncpg.connect(plain(dsn))
    try:
        rows = await conn.fetch(
            "SELECT terminal, CASE WHEN expires_at > now() THEN owner END AS owner"
            " FROM terminal_leases"
        )
    finally:
        await conn.close()
    return {r["terminal"]: r["owner"] for r in rows}


async def until(predicate: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    give_up = time.monotonic() + timeout_s
    while not await predicate():
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def session(pool: TerminalPool, login: int) -> Any:
    credentials = lambda: f"bench-{login}"  # noqa: E731
    return pool.session(AccountKey(login, "Sim-Demo"), credentials, pool.deadline(10))


async def test_a_terminal_given_up_is_drained_before_another_replica_takes_it(
    dsn: str, sims: TerminalServerProcess
) -> None:
    async with replica(dsn, sims, "K1") as (pool1, keeper1):
        assert await owners(dsn) == {"t1": "K1", "t2": "K1"}  # alone: both
        sessions = {}
        async with contextlib.AsyncExitStack() as stack:
            for login in (30001, 30002):  # both terminals busy
                used = session(pool1, login)
                terminal = await stack.enter_async_context(used)
                sessions[terminal.name] = (used, terminal)
            async with replica(dsn, sims, "K2") as (pool2, keeper2):
                await keeper1.tick()  # two replicas: one terminal each; K1 gives one up
                given_up = next(n for n in ("t1", "t2") if not pool1.holdings.is_held(n))
                await keeper2.tick()
                # Draining: no new work here, the session goes on, the lease stays K1's.
                assert await owners(dsn) == {"t1": "K1", "t2": "K1"}
                assert pool2.holdings.held() == []
                used, terminal = sessions.pop(given_up)
                assert (await terminal.account_info())["login"] in (30001, 30002)
                await used.__aexit__(None, None, None)  # the session ends
                await keeper1.tick()  # freed now
                await keeper2.tick()
                assert pool2.holdings.held() == [given_up]
                kept = "t1" if given_up == "t2" else "t2"
                assert await owners(dsn) == {given_up: "K2", kept: "K1"}
                for used, _ in sessions.values():
                    await used.__aexit__(None, None, None)
                stack.pop_all()


async def test_a_lease_taken_by_someone_else_leaves_the_rotation(
    dsn: str, sims: TerminalServerProcess
) -> None:
    async with replica(dsn, sims, "K1") as (pool1, keeper1):
        assert pool1.holdings.held() == ["t1", "t2"]
        conn = await asyncpg.connect(plain(dsn))
        try:
            await conn.execute(
                "UPDATE terminal_leases SET owner = 'thief', expires_at = now() + interval '1 min'"
                " WHERE terminal = 't1'"
            )
        finally:
            await conn.close()
        await keeper1.tick()
        assert pool1.holdings.held() == ["t2"]
        assert keeper1.lost == 1


class Cuttable:
    """A TCP relay to PostgreSQL that the test can cut, as a network partition would."""

    def __init__(self, port: int) -> None:
        self._target = port
        self._writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        self._writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self._writers:
            writer.transport.abort()


async def test_a_replica_cut_off_from_the_store_stops_before_its_leases_expire(
    dsn: str, sims: TerminalServerProcess
) -> None:
    url = normalize_url(dsn)
    relay = Cuttable(int(url.port or 5432))
    cut_off_dsn = url.set(port=await relay.start()).render_as_string(hide_password=False)
    ttl_s = 6.0
    async with replica(cut_off_dsn, sims, "K1", ttl_s) as (pool1, _keeper1):
        assert pool1.holdings.held() == ["t1", "t2"]
        relay.cut()
        await until(lambda: _none_held(pool1), ttl_s + 10, "K1 taking its terminals out")
        # K1 stopped using them while the store still says they are K1's ...
        assert await owners(dsn) == {"t1": "K1", "t2": "K1"}
        async with replica(dsn, sims, "K2", ttl_s) as (pool2, _keeper2):
            assert pool2.holdings.held() == []
            # ... and another replica takes them once, and only once, the leases expired.
            await until(lambda: _all_held(pool2), ttl_s + 10, "K2 taking them")
            assert await owners(dsn) == {"t1": "K2", "t2": "K2"}


async def _none_held(pool: TerminalPool) -> bool:
    return not pool.holdings.held()


async def _all_held(pool: TerminalPool) -> bool:
    return pool.holdings.held() == ["t1", "t2"]
