"""The one table from MT5 trade retcodes to HTTP answers.

Every trade answer the gateway gives goes through :func:`outcome_of`. ``markdown_table()``
renders the same table for the README (``python -m gateway.trading.retcodes``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetcodeRule:
    retcode: int
    name: str  # lower-case TRADE_RETCODE_* suffix
    status: int  # HTTP status of the answer
    code: str  # the answer's ``code``
    retryable: bool  # the same request may succeed if sent again (with a new key)
    meaning: str


def _r(
    retcode: int, name: str, status: int, code: str, retryable: bool, meaning: str
) -> RetcodeRule:
    return RetcodeRule(retcode, name, status, code, retryable, meaning)


# Success codes first; then client mistakes (422), state conflicts (409), refusals (403),
# broker/terminal trouble (502/503). Unknown codes fall back to 502 MT5_REJECTED.
RULES: tuple[RetcodeRule, ...] = (
    _r(0, "done", 200, "OK", False, "order_check passed"),
    _r(10008, "placed", 200, "OK", False, "order placed (201 when it placed a pending order)"),
    _r(10009, "done", 200, "OK", False, "request completed (201 when it placed an order)"),
    _r(10010, "done_partial", 200, "PARTIAL", False, "only part of the request was completed"),
    _r(10004, "requote", 409, "REQUOTE", True, "requote: price moved beyond deviation"),
    _r(10020, "price_changed", 409, "PRICE_CHANGED", True, "prices changed"),
    _r(10021, "price_off", 409, "NO_QUOTES", True, "no quotes to process the request"),
    _r(10018, "market_closed", 409, "MARKET_CLOSED", True, "market closed"),
    _r(10023, "order_changed", 409, "ORDER_CHANGED", True, "order state changed"),
    _r(10028, "locked", 409, "LOCKED", True, "request locked for processing"),
    _r(10029, "frozen", 409, "FROZEN", True, "order or position frozen (freeze level)"),
    _r(10036, "position_closed", 409, "POSITION_CLOSED", False, "position already closed"),
    _r(10039, "close_order_exist", 409, "CLOSE_ORDER_EXISTS", False, "a close order exists"),
    _r(10045, "fifo_close", 409, "FIFO_CLOSE", False, "close the oldest position first (FIFO)"),
    _r(10025, "no_changes", 409, "NO_CHANGES", False, "the request changes nothing"),
    _r(10013, "invalid", 422, "INVALID_REQUEST", False, "invalid request"),
    _r(10014, "invalid_volume", 422, "INVALID_VOLUME", False, "invalid volume"),
    _r(10015, "invalid_price", 422, "INVALID_PRICE", False, "invalid price"),
    _r(10016, "invalid_stops", 422, "INVALID_STOPS", False, "invalid SL/TP"),
    _r(10019, "no_money", 422, "NO_MONEY", False, "not enough money"),
    _r(10022, "invalid_expiration", 422, "INVALID_EXPIRATION", False, "invalid expiration"),
    _r(10030, "invalid_fill", 422, "INVALID_FILL", False, "unsupported filling mode"),
    _r(10033, "limit_orders", 422, "LIMIT_ORDERS", False, "pending-order limit reached"),
    _r(10034, "limit_volume", 422, "LIMIT_VOLUME", False, "symbol volume limit reached"),
    _r(10035, "invalid_order", 422, "INVALID_ORDER", False, "wrong or prohibited order type"),
    _r(10038, "invalid_close_volume", 422, "INVALID_CLOSE_VOLUME", False, "close volume too big"),
    _r(10040, "limit_positions", 422, "LIMIT_POSITIONS", False, "open-position limit reached"),
    _r(10042, "long_only", 422, "LONG_ONLY", False, "symbol allows long positions only"),
    _r(10043, "short_only", 422, "SHORT_ONLY", False, "symbol allows short positions only"),
    _r(10044, "close_only", 422, "CLOSE_ONLY", False, "symbol allows closing only"),
    _r(10046, "hedge_prohibited", 422, "HEDGE_PROHIBITED", False, "opposite positions disabled"),
    _r(10017, "trade_disabled", 403, "TRADE_DISABLED", False, "trading disabled"),
    _r(10026, "server_disables_at", 403, "ALGO_DISABLED_BY_SERVER", False, "algo trading off"),
    _r(10027, "client_disables_at", 403, "ALGO_DISABLED_BY_TERMINAL", False, "AlgoTrading off"),
    _r(10032, "only_real", 403, "ONLY_REAL", False, "allowed only on live accounts"),
    _r(10006, "reject", 502, "REJECTED", True, "request rejected"),
    _r(10007, "cancel", 502, "CANCELED", False, "request canceled by trader"),
    _r(10011, "error", 502, "MT5_TRADE_ERROR", True, "request processing error"),
    _r(10041, "reject_cancel", 502, "ACTIVATION_REJECTED", False, "activation rejected"),
    _r(10012, "timeout", 504, "BROKER_TIMEOUT", True, "canceled by timeout"),
    _r(10024, "too_many_requests", 429, "TOO_MANY_REQUESTS", True, "requests too frequent"),
    _r(10031, "connection", 503, "NO_BROKER_CONNECTION", True, "no connection to the server"),
)
BY_CODE: dict[int, RetcodeRule] = {rule.retcode: rule for rule in RULES if rule.retcode}
SUCCESS = frozenset((0, 10008, 10009, 10010))
DONE, PLACED, REQUOTE, INVALID_FILL = 10009, 10008, 10004, 10030

# Not MT5 retcodes: what the gateway itself answers around a send.
OUTCOME_UNKNOWN = RetcodeRule(
    -1,
    "outcome_unknown",
    504,
    "OUTCOME_UNKNOWN",
    False,
    "terminal timed out or dropped after the send and reconciliation could not decide yet; "
    "poll GET /api/v1/trades/requests/{request_id}",
)
NOT_EXECUTED = RetcodeRule(
    -2,
    "not_executed",
    503,
    "NOT_EXECUTED",
    True,
    "the send failed and reconciliation proved that no order exists",
)


def rule_for(retcode: int) -> RetcodeRule:
    """The rule of ``retcode`` (unknown codes: 502 MT5_REJECTED, not retryable)."""
    rule = BY_CODE.get(int(retcode)) if retcode else RULES[0]
    if rule is None:
        return RetcodeRule(int(retcode), f"unknown_{retcode}", 502, "MT5_REJECTED", False, "?")
    return rule


def retcode_name(retcode: int) -> str:
    return rule_for(retcode).name


def http_status(retcode: int, *, placed_order: bool = False) -> int:
    """HTTP status of a trade answer: 201 when a success created a pending order."""
    if retcode in (DONE, PLACED) and placed_order:
        return 201
    return rule_for(retcode).status


def markdown_table() -> str:
    """The table as Markdown, for the README."""
    lines = [
        "| retcode | name | HTTP | code | retryable | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for rule in (*RULES, OUTCOME_UNKNOWN, NOT_EXECUTED):
        code = str(rule.retcode) if rule.retcode > 0 or rule is RULES[0] else "—"
        status = "200/201" if rule.retcode in (DONE, PLACED) else str(rule.status)
        lines.append(
            f"| {code} | `{rule.name}` | {status} | `{rule.code}` | "
            f"{'yes' if rule.retryable else 'no'} | {rule.meaning} |"
        )
    lines.append(
        "| other | `unknown_<n>` | 502 | `MT5_REJECTED` | no | a code this gateway does not know |"
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(markdown_table(), end="")
