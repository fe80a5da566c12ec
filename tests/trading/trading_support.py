"""Helpers of the trading tests: an API client bound to one account, history checks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from helpers import GatewayServer
    from sim_control import SimControl

# Tuesday 2025-11-25 12:00:00 UTC (14:00 server time): every market of the catalog is open.
FROZEN_MS = 1_764_072_000_000
SATURDAY_MS = FROZEN_MS + 4 * 86_400_000  # Saturday noon: forex closed, BTCUSD trades
TERMINAL_TIMEOUT_S = 2.0  # the gateway's terminal timeout in these tests (faults wait past it)


@dataclass(frozen=True)
class Accounts:
    hedging: str  # trader's 10001 (USD, hedging)
    netting: str  # trader's 10003 (USD, netting)
    investor: str  # investor user's 10001 (read-only)
    risky: str  # risk-limited user's 10002 (EUR, hedging)


@dataclass(frozen=True)
class StoreGateway:
    """A trading gateway with the simulator behind it and its database URL."""

    server: GatewayServer
    ids: Accounts
    control: SimControl
    url: str


class Api:
    """httpx client for one user, adding ``?account_id=`` to every call."""

    def __init__(self, url: str, token: str, account_id: str | None) -> None:
        self.account_id = account_id
        self.http = httpx.Client(
            base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        account: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        params = dict(kwargs.pop("params", {}) or {})
        account_id = account or self.account_id
        if account_id is not None:
            params.setdefault("account_id", account_id)
        headers = dict(kwargs.pop("headers", {}) or {})
        if key:
            headers["Idempotency-Key"] = key
        return self.http.request(method, path, params=params, headers=headers, **kwargs)

    def post(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, json=body or {}, **kw)

    def patch(self, path: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, json=body, **kw)

    def put(self, path: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
        return self.request("PUT", path, json=body, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    # -- reads ----------------------------------------------------------------------------------

    def positions(self, **params: Any) -> list[dict[str, Any]]:
        return ok(self.get("/positions", params=params))["positions"]

    def orders(self, **params: Any) -> list[dict[str, Any]]:
        return ok(self.get("/orders", params=params))["orders"]

    def history_orders(self, **params: Any) -> list[dict[str, Any]]:
        return ok(self.get("/history/orders", params=params))["orders"]

    def history_deals(self, **params: Any) -> list[dict[str, Any]]:
        return ok(self.get("/history/deals", params=params))["deals"]

    def orders_with(self, client_id: str) -> list[dict[str, Any]]:
        """History orders whose comment carries ``client_id``."""
        return [o for o in self.history_orders() if o["comment"].startswith(client_id)]

    def trade(
        self, symbol: str = "EURUSD", order_type: str = "buy", volume: float = 0.1, **extra: Any
    ) -> httpx.Response:
        key, account = extra.pop("key", None), extra.pop("account", None)
        body = {"symbol": symbol, "order_type": order_type, "volume": volume, **extra}
        return self.post("/trades", body, key=key, account=account)

    def wait_request(
        self, request_id: str, *, until: set[str], deadline_s: float = 60
    ) -> dict[str, Any]:
        """Poll GET /trades/requests/{id} until its state is in ``until`` (no timing asserted)."""
        end = time.monotonic() + deadline_s
        while True:
            body = ok(self.get(f"/trades/requests/{request_id}"))
            if body["state"] in until or time.monotonic() > end:
                return body
            time.sleep(0.2)


def ok(response: httpx.Response, status: int | tuple[int, ...] = (200, 201)) -> Any:
    expected = (status,) if isinstance(status, int) else status
    assert response.status_code in expected, (response.status_code, response.text)
    return response.json()
