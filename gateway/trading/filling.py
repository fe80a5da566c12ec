"""Which filling policy to send, from the symbol's ``filling_mode`` flags and execution mode.

mt5-api-facts §6.1: Instant/Request execution fill FOK whatever is sent; Market execution takes
FOK or IOC when the symbol's bit is set; Exchange execution also takes RETURN. Pending orders
are stored with RETURN (BOC only for limit kinds on Exchange symbols with the BOC bit).

A plan is the policies to try in order: the caller's choice (if any) first, then the allowed
ones. On 10030 the sender retries once with the next policy of the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway import mt5enums as e
from gateway.trading.errors import TradeRuleViolation
from gateway.trading.rules import FILLING_CODES, LIMIT_KINDS, STOP_LIMIT_KINDS, Spec


@dataclass(frozen=True)
class FillingPlan:
    policies: tuple[int, ...]  # ORDER_FILLING_* codes, first to try first
    forced: bool

    def names(self) -> list[str]:
        return [e.name(e.ORDER_FILLINGS, p) for p in self.policies]


def allowed_market(spec: Spec) -> list[str]:
    return e.market_fillings(spec.execution_mode, spec.filling_mode)


def allowed_pending(spec: Spec, order_type: int) -> list[str]:
    allowed = ["return", *(f for f in e.flags(e.FILLING_FLAGS, spec.filling_mode) if f != "boc")]
    boc_ok = spec.execution_mode == 3 and spec.filling_mode & 4
    if boc_ok and order_type in LIMIT_KINDS | STOP_LIMIT_KINDS:
        allowed.append("boc")
    return allowed


def plan(
    spec: Spec, *, order_type: int, pending: bool, requested: str | None, strict: bool
) -> FillingPlan:
    """The policies to try. ``requested`` goes first; with ``strict`` it is the only one."""
    allowed = allowed_pending(spec, order_type) if pending else allowed_market(spec)
    if not allowed:
        raise TradeRuleViolation(
            "filling",
            f"{spec.name} allows no filling policy for market orders "
            f"(execution {e.name(e.EXECUTION_MODES, spec.execution_mode)})",
            allowed=[],
        )
    if requested is None:
        return FillingPlan(tuple(FILLING_CODES[f] for f in allowed), forced=False)
    if strict:
        return FillingPlan((FILLING_CODES[requested],), forced=True)
    rest = [f for f in allowed if f != requested]
    return FillingPlan(tuple(FILLING_CODES[f] for f in [requested, *rest]), forced=False)
