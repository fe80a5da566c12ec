"""The retry decisions of the Python client, answer by answer (the live tests show them at work
against the gateway; here each rule is pinned on its own, including Retry-After)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from mt5gw_client.retry import Attempts, RetryPolicy

POLICY = RetryPolicy(attempts=3, backoff_s=0.01, max_backoff_s=0.02, settle_timeout_s=60)


def answer(status: int, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_retry_after_is_honoured_and_capped() -> None:
    attempts = Attempts(POLICY, "trade")
    busy = answer(503, {"code": "POOL_BUSY", "detail": "x"}, **{"Retry-After": "7"})
    assert attempts.after_response(busy) == 7.0
    huge = answer(503, {"code": "POOL_BUSY", "detail": "x"}, **{"Retry-After": "3600"})
    assert attempts.after_response(huge) == POLICY.max_retry_after_s


def test_503_and_504_retry_until_the_attempts_run_out() -> None:
    attempts = Attempts(POLICY, "read")
    down = answer(504, {"code": "TERMINAL_TIMEOUT", "detail": "x"})
    assert attempts.after_response(down) is not None
    assert attempts.after_response(down) is not None
    assert attempts.after_response(down) is None  # the third send was the last


@pytest.mark.parametrize(
    "status,body",
    [
        (409, {"code": "REQUOTE", "retcode": 10004, "retryable": True}),  # a new order's call
        (422, {"code": "NO_MONEY", "retcode": 10019, "retryable": False}),
        (503, {"code": "NO_BROKER_CONNECTION", "retcode": 10031, "retryable": False}),
        (504, {"code": "BROKER_TIMEOUT", "retcode": 10012, "replayed": True}),  # stored, final
        (400, {"code": "VALIDATION_ERROR"}),
    ],
)
def test_trade_answers_that_are_final(status: int, body: dict[str, Any]) -> None:
    assert Attempts(POLICY, "trade").after_response(answer(status, body)) is None


@pytest.mark.parametrize("code", ["IDEMPOTENCY_IN_PROGRESS", "OUTCOME_UNKNOWN"])
def test_a_trade_waits_for_its_own_outcome_beyond_the_attempts(code: str) -> None:
    attempts = Attempts(POLICY, "trade")
    status = 409 if code == "IDEMPOTENCY_IN_PROGRESS" else 504
    for _ in range(10):
        assert attempts.after_response(answer(status, {"code": code})) is not None


def test_an_unknown_outcome_is_not_resent_by_a_read_or_after_the_settle_time() -> None:
    unknown = answer(504, {"code": "OUTCOME_UNKNOWN"})
    assert Attempts(POLICY, "read").after_response(unknown) is None
    assert Attempts(RetryPolicy(settle_timeout_s=0), "trade").after_response(unknown) is None


def test_writes_are_retried_only_when_nothing_was_sent() -> None:
    attempts = Attempts(POLICY, "write")
    assert attempts.after_exception(httpx.ReadTimeout("lost")) is None
    assert attempts.after_exception(httpx.ConnectError("refused")) is not None
    assert attempts.after_response(answer(503, {"code": "POOL_BUSY"})) is None
    trade = Attempts(POLICY, "trade")
    assert trade.after_exception(httpx.ReadTimeout("lost")) is not None


def test_a_lost_trade_answer_is_asked_again_until_the_settle_time() -> None:
    attempts = Attempts(POLICY, "trade")
    for _ in range(10):  # beyond `attempts`: the key makes asking again harmless
        assert attempts.after_exception(httpx.ReadTimeout("lost")) is not None
    assert (
        Attempts(RetryPolicy(settle_timeout_s=0), "trade").after_exception(
            httpx.ReadTimeout("lost")
        )
        is None
    )
    refused = Attempts(POLICY, "trade")  # nothing sent: bounded by attempts
    assert [refused.after_exception(httpx.ConnectError("x")) is None for _ in range(3)] == [
        False,
        False,
        True,
    ]
