"""Trading errors. All are ``GatewayError``s, so the one handler in ``gateway.errors`` answers
them; ``extra`` fields (rule, allowed, result, request_id...) join the JSON body.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import GatewayError


class TradeError(GatewayError):
    """A trade answer that is not a success; ``extra`` joins the body (rule, allowed, result)."""

    status, code = 422, "TRADE_ERROR"

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        return {**super().body(), **self.extra}


class TradeRuleViolation(TradeError):
    """Refused before sending: ``rule`` names the check, ``allowed`` the values it accepts."""

    status, code = 422, "TRADE_RULE"

    def __init__(self, rule: str, message: str, *, allowed: Any = None, **kw: Any) -> None:
        extra = {"rule": rule, "allowed": allowed, **kw.pop("extra", {})}
        super().__init__(message, extra=extra, **kw)
        self.rule = rule


class InvestorReadOnly(TradeError):
    status, code = 403, "INVESTOR_READ_ONLY"


class RiskLimitExceeded(TradeRuleViolation):
    code = "RISK_LIMIT"


class IdempotencyConflict(TradeError):
    status, code = 409, "IDEMPOTENCY_IN_PROGRESS"


class IdempotencyMismatch(TradeError):
    status, code = 422, "IDEMPOTENCY_KEY_REUSED"
