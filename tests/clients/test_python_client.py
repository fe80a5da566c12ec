"""The Python client against a live gateway and the simulator: typed answers, typed errors,
idempotent retries that execute an order exactly once, and the sync and async flavours."""

from __future__ import annotations

import threading

import httpx
import pytest
from client_support import LiveGateway
from mt5gw_client import AsyncClient, Client, RetryPolicy, StaticToken, errors, models
from sim_control import SimControl

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(backoff_s=0.05, max_backoff_s=0.5, max_retry_after_s=1.0, settle_timeout_s=90)


def client(gateway: LiveGateway, **options: object) -> Client:
    return Client(gateway.url, StaticToken(gateway.token()), retry=FAST, **options)  # type: ignore[arg-type]


def test_reads_answer_typed_models(gateway: LiveGateway) -> None:
    with client(gateway) as mt5:
        info = mt5.account_info()
        assert isinstance(info, models.AccountInfo)
        assert (info.login, info.currency, info.balance) == (10001, "USD", 10_000.0)
        bars = mt5.market_data("EURUSD", "H1", 5)
        assert bars.count == 5 and len(bars.data) == 5
        assert all(b.high >= b.low for b in bars.data)
        assert mt5.me().id == "trader-1"
        assert mt5.health().status in ("healthy", "degraded")


def test_errors_are_typed_per_code(gateway: LiveGateway) -> None:
    with client(gateway) as mt5:
        with pytest.raises(errors.SymbolNotFound) as caught:
            mt5.market_data("NOSUCH", "H1", 5)
        assert caught.value.http_status == 404 and caught.value.code == "SYMBOL_NOT_FOUND"
        assert isinstance(caught.value, errors.NotFound)
        with pytest.raises(errors.NoMoney) as refused:
            mt5.place_trade("XAUUSD", "buy", 5)
        assert refused.value.retcode == 10019 and refused.value.retryable is False
        assert refused.value.idempotency_key and refused.value.detail
        assert isinstance(refused.value, errors.TradeRejected)
    with Client(gateway.url, StaticToken("not-a-token"), retry=FAST) as stranger:
        with pytest.raises(errors.Unauthorized) as denied:
            stranger.account_info()
        assert denied.value.code == "UNAUTHORIZED"


def test_every_trade_call_carries_one_idempotency_key(gateway: LiveGateway) -> None:
    seen: list[str | None] = []

    def spy(request: httpx.Request) -> None:
        if request.method != "GET":
            seen.append(request.headers.get("idempotency-key"))

    http = httpx.Client(base_url=gateway.url, timeout=60, event_hooks={"request": [spy]})
    with Client(gateway.url, StaticToken(gateway.token()), retry=FAST, http=http) as mt5:
        opened = mt5.place_trade("BTCUSD", "buy", 0.01)
        mt5.modify_position(opened.ticket, stop_loss=round(opened.price * 0.5, 2))
        mt5.close_position(opened.ticket)
    assert len(seen) == 3 and all(seen) and len(set(seen)) == 3


def _orders_of(mt5: Client, client_id: str) -> list[models.Order]:
    return [o for o in mt5.history_orders().orders if o.comment.startswith(client_id)]


def test_a_lost_answer_is_retried_with_the_same_key_and_executes_once(
    gateway: LiveGateway, control: SimControl
) -> None:
    """The terminal executes, then hangs past the client's read timeout: the client sends
    again with the same key, waits out 409 IDEMPOTENCY_IN_PROGRESS, and gets the one order."""
    keys: list[str | None] = []
    http = httpx.Client(
        base_url=gateway.url,
        timeout=httpx.Timeout(60, read=1.0),
        event_hooks={"request": [lambda r: keys.append(r.headers.get("idempotency-key"))]},
    )
    control.timeout_after_execute(seconds=4)  # > the gateway's 3 s terminal timeout
    with Client(gateway.url, StaticToken(gateway.token()), retry=FAST, http=http) as mt5:
        result = mt5.place_trade("EURUSD", "buy", 0.1, comment="lost-answer")
        assert result.success and result.retcode == 10009
        assert len(keys) >= 2 and len(set(keys)) == 1, keys  # retried, one key
        (order,) = _orders_of(mt5, result.client_id)
        assert order.ticket == result.order
        positions = [p for p in mt5.positions().positions if p.ticket == result.ticket]
        assert len(positions) == 1
        mt5.close_position(result.ticket)


def test_an_unknown_outcome_is_settled_with_the_same_key(
    gateway: LiveGateway, control: SimControl
) -> None:
    """504 OUTCOME_UNKNOWN is never answered by a second order: the client asks again with the
    same key until the gateway knows, and answers the one execution."""
    statuses: list[int] = []
    http = httpx.Client(
        base_url=gateway.url,
        timeout=60,
        event_hooks={"response": [lambda r: statuses.append(r.status_code)]},
    )
    control.timeout_after_execute(seconds=18)  # past every in-request look-up
    with Client(gateway.url, StaticToken(gateway.token()), retry=FAST, http=http) as mt5:
        result = mt5.place_trade("EURUSD", "sell", 0.2, comment="unknown")
        assert 504 in statuses and statuses[-1] == 200, statuses
        assert result.success and result.reconciled
        assert len(_orders_of(mt5, result.client_id)) == 1
        mt5.close_position(result.ticket)


def test_no_retry_of_a_refused_order(gateway: LiveGateway, control: SimControl) -> None:
    sent: list[str] = []
    http = httpx.Client(
        base_url=gateway.url,
        timeout=60,
        event_hooks={"request": [lambda r: sent.append(r.method)]},
    )
    control.fail_next_order_send(retcode=10004)  # requote: retryable, yet a new order
    with Client(gateway.url, StaticToken(gateway.token()), retry=FAST, http=http) as mt5:
        with pytest.raises(errors.Requote) as caught:
            mt5.place_trade("XAUUSD", "buy", 0.1)
        assert caught.value.retryable is True
    assert sent == ["POST"]


def test_an_unreachable_gateway_raises_connection_failed_with_the_key() -> None:
    """Retried with backoff, then ConnectionFailed names the key to ask again with."""
    with Client(
        "http://127.0.0.1:9", StaticToken("x"), retry=RetryPolicy(attempts=3, backoff_s=0.01)
    ) as nowhere:
        with pytest.raises(errors.ConnectionFailed) as caught:
            nowhere.place_trade("EURUSD", "buy", 0.1)
        assert caught.value.idempotency_key


async def test_async_client_trades_and_reads(gateway: LiveGateway) -> None:
    async with AsyncClient(gateway.url, StaticToken(gateway.token()), retry=FAST) as mt5:
        before = await mt5.account_info()
        opened = await mt5.place_trade("BTCUSD", "sell", 0.01)
        assert opened.success and opened.type == "sell"
        closed = await mt5.close_position(opened.ticket)
        assert closed.success
        assert (await mt5.account_info()).balance != before.balance or closed.price > 0
        with pytest.raises(errors.PositionNotFound):
            await mt5.close_position(opened.ticket)


def test_sync_client_is_usable_from_threads(gateway: LiveGateway) -> None:
    answers: list[float] = []
    with client(gateway) as mt5:
        workers = [
            threading.Thread(target=lambda: answers.append(mt5.account_info().balance))
            for _ in range(4)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
    assert len(answers) == 4
