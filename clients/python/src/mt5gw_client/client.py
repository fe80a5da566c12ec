"""The sync :class:`Client` and the async :class:`AsyncClient`, both on httpx.

Each has every endpoint of :mod:`mt5gw_client.calls` as a method of the same name::

    with Client("http://127.0.0.1:8000", auth=StaticToken(token)) as mt5:
        print(mt5.account_info().balance)
        result = mt5.place_trade("BTCUSD", "buy", 0.01)   # Idempotency-Key added, retried safely
        mt5.close_position(result.ticket)

Errors raise the typed exceptions of :mod:`mt5gw_client.errors`; retries follow
:mod:`mt5gw_client.retry`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx

from . import calls
from .auth import TokenProvider
from .calls import Call
from .errors import ConnectionFailed, error_from_response
from .retry import Attempts, RetryPolicy
from .stream import Stream

P = ParamSpec("P")
T = TypeVar("T")
USER_AGENT = "mt5gw-client-python/0.1"


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def _headers(call: Call[Any], auth: dict[str, str], key: str | None) -> dict[str, str]:
    headers = dict(auth)
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def _failed(call: Call[Any], key: str | None, exc: Exception) -> ConnectionFailed:
    where = f"{call.method} {call.path}"
    note = f" (Idempotency-Key {key}: send it again to learn the outcome)" if key else ""
    return ConnectionFailed(f"{where}: {type(exc).__name__}{note}", idempotency_key=key)


def _sync(builder: Callable[P, Call[T]]) -> Callable[Concatenate[Client, P], T]:
    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.send(builder(*args, **kwargs))

    method.__name__, method.__doc__ = builder.__name__, builder.__doc__
    return method


def _async(
    builder: Callable[P, Call[T]],
) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]]:
    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.send(builder(*args, **kwargs))

    method.__name__, method.__doc__ = builder.__name__, builder.__doc__
    return method


class Client:
    """Sync client. ``base_url`` is the gateway (``https://trade.example.com``)."""

    def __init__(
        self,
        base_url: str,
        auth: TokenProvider | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout_s: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.retry = retry or RetryPolicy()
        self._http = http or httpx.Client(
            base_url=self.base_url, timeout=timeout_s, headers={"User-Agent": USER_AGENT}
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, call: Call[T]) -> T:
        """Run one :class:`~mt5gw_client.calls.Call` with authentication and retries."""
        key = call.idempotency_key or (new_idempotency_key() if call.kind == "trade" else None)
        attempts = Attempts(self.retry, call.kind)
        renewed = False
        while True:
            auth = self.auth.headers() if self.auth else {}
            try:
                response = self._http.request(
                    call.method,
                    call.path,
                    params=call.query(),
                    json=call.json,
                    headers=_headers(call, auth, key),
                )
            except httpx.TransportError as exc:
                delay = attempts.after_exception(exc)
                if delay is None:
                    raise _failed(call, key, exc) from exc
                time.sleep(delay)
                continue
            if response.status_code == 401 and self.auth and not renewed:
                renewed = True
                if self.auth.expired():
                    continue
            delay = attempts.after_response(response)
            if delay is not None:
                time.sleep(delay)
                continue
            if response.is_error:
                raise error_from_response(response, idempotency_key=key)
            return call.parse(response.json())

    # Every endpoint, with the arguments of the function of the same name in ``calls``.
    health = _sync(calls.health)
    me = _sync(calls.me)
    accounts = _sync(calls.accounts)
    connect_account = _sync(calls.connect_account)
    servers = _sync(calls.servers)
    account_info = _sync(calls.account_info)
    snapshot = _sync(calls.snapshot)
    positions = _sync(calls.positions)
    orders = _sync(calls.orders)
    symbols = _sync(calls.symbols)
    symbol = _sync(calls.symbol)
    tick = _sync(calls.tick)
    market_data = _sync(calls.market_data)
    market_data_range = _sync(calls.market_data_range)
    server_time = _sync(calls.server_time)
    place_trade = _sync(calls.place_trade)
    place_order = _sync(calls.place_order)
    modify_position = _sync(calls.modify_position)
    close_position = _sync(calls.close_position)
    modify_order = _sync(calls.modify_order)
    cancel_order = _sync(calls.cancel_order)
    close_all = _sync(calls.close_all)
    check_trade = _sync(calls.check_trade)
    trade_request = _sync(calls.trade_request)
    history_deals = _sync(calls.history_deals)
    history_orders = _sync(calls.history_orders)
    audit = _sync(calls.audit)
    events = _sync(calls.events)
    admin_pool = _sync(calls.admin_pool)


class AsyncClient:
    """Async client (same methods as :class:`Client`, awaited), plus :meth:`stream`."""

    def __init__(
        self,
        base_url: str,
        auth: TokenProvider | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout_s: float = 60.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.retry = retry or RetryPolicy()
        self._http = http or httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout_s, headers={"User-Agent": USER_AGENT}
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, call: Call[T]) -> T:
        key = call.idempotency_key or (new_idempotency_key() if call.kind == "trade" else None)
        attempts = Attempts(self.retry, call.kind)
        renewed = False
        while True:
            auth = await self.auth.aheaders() if self.auth else {}
            try:
                response = await self._http.request(
                    call.method,
                    call.path,
                    params=call.query(),
                    json=call.json,
                    headers=_headers(call, auth, key),
                )
            except httpx.TransportError as exc:
                delay = attempts.after_exception(exc)
                if delay is None:
                    raise _failed(call, key, exc) from exc
                await asyncio.sleep(delay)
                continue
            if response.status_code == 401 and self.auth and not renewed:
                renewed = True
                if await self.auth.aexpired():
                    continue
            delay = attempts.after_response(response)
            if delay is not None:
                await asyncio.sleep(delay)
                continue
            if response.is_error:
                raise error_from_response(response, idempotency_key=key)
            return call.parse(response.json())

    def stream(self, **options: Any) -> Stream:
        """A resuming stream session (``async with client.stream() as s``); see ``stream.py``."""
        if self.auth is None:
            raise ValueError("the stream needs a token provider (auth=)")
        return Stream(self.base_url, self.auth, **options)

    health = _async(calls.health)
    me = _async(calls.me)
    accounts = _async(calls.accounts)
    connect_account = _async(calls.connect_account)
    servers = _async(calls.servers)
    account_info = _async(calls.account_info)
    snapshot = _async(calls.snapshot)
    positions = _async(calls.positions)
    orders = _async(calls.orders)
    symbols = _async(calls.symbols)
    symbol = _async(calls.symbol)
    tick = _async(calls.tick)
    market_data = _async(calls.market_data)
    market_data_range = _async(calls.market_data_range)
    server_time = _async(calls.server_time)
    place_trade = _async(calls.place_trade)
    place_order = _async(calls.place_order)
    modify_position = _async(calls.modify_position)
    close_position = _async(calls.close_position)
    modify_order = _async(calls.modify_order)
    cancel_order = _async(calls.cancel_order)
    close_all = _async(calls.close_all)
    check_trade = _async(calls.check_trade)
    trade_request = _async(calls.trade_request)
    history_deals = _async(calls.history_deals)
    history_orders = _async(calls.history_orders)
    audit = _async(calls.audit)
    events = _async(calls.events)
    admin_pool = _async(calls.admin_pool)
