"""The account's stored risk limits, enforced before a request that opens exposure is sent."""

from __future__ import annotations

from typing import Any

from gateway.terminal.port import TerminalPort
from gateway.trading import rules as r
from gateway.trading.errors import RiskLimitExceeded

DAY_S = 86400


async def check_risk(terminal: TerminalPort, account: Any, spec: r.Spec, volume: float) -> None:
    """The account's stored limits, for requests that open exposure."""
    limits = account.risk_limits
    if limits.allowed_symbols is not None and spec.name not in limits.allowed_symbols:
        raise RiskLimitExceeded(
            "allowed_symbols",
            f"{spec.name} is not among this account's allowed symbols",
            allowed=list(limits.allowed_symbols),
        )
    if limits.max_volume_per_order is not None and volume > limits.max_volume_per_order + r.EPS:
        raise RiskLimitExceeded(
            "max_volume_per_order",
            f"volume {volume:g} exceeds this account's limit of {limits.max_volume_per_order:g}",
            allowed={"max": limits.max_volume_per_order},
        )
    if limits.max_open_positions is not None:
        count = len(await terminal.positions_get())
        if count >= limits.max_open_positions:
            raise RiskLimitExceeded(
                "max_open_positions",
                f"{count} positions are open; this account allows {limits.max_open_positions}",
                allowed={"max": limits.max_open_positions, "open": count},
            )
    if limits.max_daily_loss is not None:
        start = spec.time // DAY_S * DAY_S  # today in server time
        deals = await terminal.history_deals_get(start, start + DAY_S)
        result = sum(
            d["profit"] + d["commission"] + d["swap"] + d["fee"]
            for d in deals
            if d["type"] in (0, 1)
        )
        if -result >= limits.max_daily_loss - r.EPS:
            raise RiskLimitExceeded(
                "max_daily_loss",
                f"today's loss {-result:.2f} reached this account's limit "
                f"{limits.max_daily_loss:g}",
                allowed={"max": limits.max_daily_loss, "today": round(-result, 2)},
            )
