"""Helpers of the stream tests: a gateway with the stream installed, a WebSocket peer, seeding.

The gateway is the real app (``create_app``, which installs the stream) under real uvicorn;
the WebSocket client is the ``websockets`` library; the terminal is the real simulator terminal
server over RPyC.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from helpers import HS256_SECRET, GatewayServer, JwksServer, claims, sign
from prometheus_client.parser import text_string_to_metric_families
from server_process import TerminalServerProcess
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gateway.config import Settings
from gateway.db import make_engine, make_sessionmaker, session_scope, upgrade_database
from gateway.main import create_app
from gateway.store import accounts
from gateway.store.crypto import Keyring

# Tuesday 2025-11-25 12:00:00 UTC (14:00 server time): every market of the catalog is open.
FROZEN_MS = 1_764_072_000_000
TRADER, OTHER, SINGLE = "trader-1", "other-1", "single-1"
TEST_STREAM = {
    "stream_quote_interval_s": 0.05,
    "stream_account_interval_s": 0.1,
    "stream_away_poll_s": 0.0,
    "stream_watch_linger_s": 0.5,
}


@dataclass(frozen=True)
class Accounts:
    hedging: str  # trader's 10001 (USD, hedging); also the configured account, warm at start
    netting: str  # trader's 10003 (USD, netting)
    foreign: str  # the other user's 10002


async def seed(url: str, keyring: Keyring) -> Accounts:
    await upgrade_database(url)
    engine = make_engine(url)
    try:
        async with session_scope(make_sessionmaker(engine)) as s:
            a = await accounts.save(
                s, keyring, user_id=TRADER, login=10001, server="Sim-Demo",
                password="demo-10001", is_default=True,
            )  # fmt: skip
            b = await accounts.save(
                s, keyring, user_id=TRADER, login=10003, server="Sim-Demo", password="demo-10003"
            )
            c = await accounts.save(
                s, keyring, user_id=OTHER, login=10002, server="Sim-Demo", password="demo-10002"
            )
            return Accounts(a.id, b.id, c.id)
    finally:
        await engine.dispose()


def gateway_settings(
    jwks: JwksServer, sim: TerminalServerProcess, url: str, key: str, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "environment": "production",
        "supabase_url": jwks.supabase_url,
        "supabase_jwt_secret": HS256_SECRET,
        "terminals": f"t1={sim.host}:{sim.port}",
        "server_utc_offsets": "Sim-Demo=7200",
        "terminal_timeout_s": 3.0,
        "terminal_connect_timeout_s": 5.0,  # health pings too: a loaded CI box is slow
        "jwks_min_refresh_s": 0.0,
        "database_url": url,
        "mt5_encryption_keys": key,
        "default_account_login": 10001,
        "default_account_password": "demo-10001",
        "allowed_user_ids": [SINGLE],  # so the terminal logs into 10001 at start
        "request_timeout_s": 30.0,
        "pool_health_interval_s": 0.5,
        **TEST_STREAM,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextmanager
def running_gateway(settings: Settings) -> Iterator[GatewayServer]:
    with GatewayServer(create_app(settings)) as server:
        yield server


@dataclass
class Stack:
    """A running gateway with the stream, its store and accounts."""

    server: GatewayServer
    jwks: JwksServer
    ids: Accounts
    db_url: str
    key: str  # the store's MT5 password key

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ws_url(self) -> str:
        return self.server.url.replace("http://", "ws://") + "/api/v1/stream"

    def token(self, user: str = TRADER, **extra: Any) -> str:
        return sign(self.jwks.keys[0], claims(self.jwks.issuer, sub=user, **extra))

    def http(self, user: str = TRADER) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.token(user)}"}
        return httpx.AsyncClient(base_url=f"{self.url}/api/v1", headers=headers, timeout=60)

    async def metrics(self) -> dict[str, float]:
        """``/metrics`` as {sample name + labels: value}."""
        async with httpx.AsyncClient(timeout=30) as client:
            text = (await client.get(f"{self.url}/metrics")).text
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{labels}}}"] = sample.value
        return out


class Peer:
    """One WebSocket client: typed waits on its messages (heartbeat pings are skipped)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.log: list[dict[str, Any]] = []
        self._waiting: list[dict[str, Any]] = []  # the rest of a frame that held several
        self.frames = 0

    async def _message(self) -> dict[str, Any]:
        """The next message: a frame holds one, or a JSON array of several, in order."""
        if not self._waiting:
            data = json.loads(await self.ws.recv())
            self.frames += 1
            self._waiting = data if isinstance(data, list) else [data]
        message: dict[str, Any] = self._waiting.pop(0)
        self.log.append(message)
        return message

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def auth(self, token: str) -> dict[str, Any]:
        await self.send({"type": "auth", "token": token})
        return await self.next("authenticated")

    async def next(
        self,
        kind: str | None = None,
        where: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 20.0,
    ) -> dict[str, Any]:
        """The next message of type ``kind`` (and matching ``where``); others are logged."""

        async def wait() -> dict[str, Any]:
            while True:
                message = await self._message()
                if message.get("type") == "ping":
                    continue
                if (kind is None or message.get("type") == kind) and (
                    where is None or where(message)
                ):
                    return message

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            seen = [m for m in self.log if m.get("type") != "ping"][-8:]
            what = kind or "message"
            raise AssertionError(f"no {what} within {timeout} s; last: {seen}") from None

    async def events(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        return [await self.next("event", timeout=timeout) for _ in range(count)]

    async def events_until(
        self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        while not done(got):
            got.append(await self.next("event", timeout=timeout))
        return got

    async def close_code(self, timeout: float = 20.0) -> int | None:
        """Read until the server closes; its close code."""

        async def drain() -> int | None:
            try:
                while True:
                    await self._message()
            except ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd is not None else None

        return await asyncio.wait_for(drain(), timeout)


def open_peer(stack: Stack, **kwargs: Any) -> Any:
    """``async with open_peer(stack) as peer`` (kwargs go to ``websockets`` ``connect``)."""
    suffix = kwargs.pop("uri_suffix", "")
    return _PeerContext(stack.ws_url + suffix, kwargs)


class _PeerContext:
    def __init__(self, url: str, kwargs: dict[str, Any]) -> None:
        self._connect = connect(url, open_timeout=20, **kwargs)

    async def __aenter__(self) -> Peer:
        return Peer(await self._connect.__aenter__())

    async def __aexit__(self, *exc: Any) -> None:
        await self._connect.__aexit__(*exc)


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [int(e["seq"]) for e in events]


def request_id_of(body: dict[str, Any]) -> str:
    request_id = body.get("request_id")
    assert isinstance(request_id, str) and re.fullmatch(r"[0-9a-f-]{36}", request_id), body
    return request_id
