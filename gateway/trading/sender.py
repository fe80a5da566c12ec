"""Send one MT5 request: the filling plan with one retry on 10030, and reconciliation when the
answer is lost. A send whose outcome is unknown is never sent again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Literal

from gateway.terminal.errors import MT5Error, TerminalError, TerminalTimeout, TerminalUnreachable
from gateway.terminal.port import Record, TerminalPort
from gateway.trading import retcodes
from gateway.trading.errors import TradeError
from gateway.trading.filling import FillingPlan
from gateway.trading.reconcile import Probe

log = logging.getLogger("gateway.trading")

State = Literal["done", "rejected", "unknown", "not_executed"]
RECONCILE_TRIES = 3  # in-request look-ups after a lost answer (the connection re-opens)
RECONCILE_PAUSE_S = 0.2


@dataclass
class Sent:
    state: State
    answer: Record | None = None
    filling: int | None = None
    attempts: list[tuple[int, int]] = field(default_factory=list)  # (filling, retcode)
    reconciled: bool = False
    error: str | None = None  # why the outcome is unknown


async def send(
    terminal: TerminalPort, request: Record, plan: FillingPlan | None, probe: Probe
) -> Sent:
    """Send ``request`` (with each policy of ``plan`` until one is not refused with 10030)."""
    policies: tuple[int | None, ...] = plan.policies if plan else (None,)
    sent = Sent(state="rejected")
    for index, policy in enumerate(policies[:2]):  # the first choice and one retry
        if policy is not None:
            request["type_filling"] = policy
        sent.filling = policy
        try:
            answer = await terminal.order_send(request)
        except (TerminalTimeout, TerminalUnreachable) as exc:
            return await _after_lost_answer(terminal, probe, sent, exc)
        except MT5Error as exc:  # order_send returned None: nothing was sent to the broker
            raise _refused_locally(exc) from None
        retcode = int(answer["retcode"])
        if policy is not None:
            sent.attempts.append((policy, retcode))
        sent.answer = answer
        sent.state = "done" if retcode in retcodes.SUCCESS else "rejected"
        if retcode != retcodes.INVALID_FILL or index + 1 >= len(policies):
            break
        log.info("10030 with filling %s; retrying with the next policy", policy)
    return sent


async def _after_lost_answer(
    terminal: TerminalPort, probe: Probe, sent: Sent, exc: TerminalError
) -> Sent:
    log.warning("order_send answer lost (%s); reconciling", type(exc).__name__)
    sent.error = f"{type(exc).__name__}: {exc.message}"
    found = await lookup(terminal, probe, tries=RECONCILE_TRIES)
    if not isinstance(found, dict):
        sent.state = "unknown"  # absent right after a lost answer is not proof yet
        return sent
    sent.answer, sent.state, sent.reconciled = found, "done", True
    if sent.filling is not None:
        sent.attempts.append((sent.filling, int(found["retcode"])))
    return sent


async def lookup(terminal: TerminalPort, probe: Probe, *, tries: int) -> Record | bool | None:
    """The probe's finding; ``None`` = looked and absent; ``False`` = could not look."""
    for attempt in range(tries):
        try:
            return await probe(terminal)
        except TerminalError as exc:
            log.info("reconciliation look-up %d failed: %s", attempt + 1, type(exc).__name__)
            await asyncio.sleep(RECONCILE_PAUSE_S * (attempt + 1))
    return False


def _refused_locally(exc: MT5Error) -> TradeError:
    """order_send gave None: the terminal refused before the broker saw anything."""
    if exc.code == -8:
        return TradeError(
            "The terminal disables trading through the Python API (tradeapi_disabled)",
            code="TERMINAL_API_TRADING_DISABLED",
            status=403,
            mt5_error=(exc.code, exc.mt5_message),
        )
    return TradeError(
        f"The terminal refused the request: {exc.mt5_message}",
        code="TERMINAL_REFUSED",
        status=502,
        mt5_error=(exc.code, exc.mt5_message),
    )
