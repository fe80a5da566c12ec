"""A read-only picture of the terminal pool, for ``/health``, the admin view and ``/metrics``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gateway.terminal.scheduler import Scheduler


@dataclass(frozen=True)
class TerminalState:
    name: str
    server: str | None
    login: int | None
    busy: bool
    healthy: bool
    switches: int
    served: int
    queue_depth: int  # queued requests this terminal could serve without switching
    trade_allowed: bool | None  # terminal_info().trade_allowed (the AlgoTrading button)
    last_error: str | None
    only_server: str | None  # the broker server this terminal is dedicated to, if any
    held: bool = True  # this gateway holds the terminal (with several replicas: its lease)


@dataclass(frozen=True)
class PoolSnapshot:
    terminals: tuple[TerminalState, ...]
    healthy: int
    busy: int
    queued: int
    switches: int
    served: int
    rejected: int  # refused busy: queue full, deadline passed, no healthy terminal
    user_rejected: int = 0  # refused because the user already had their share (USER_BUSY)
    users: int = 0  # users with requests in the pool right now

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def snapshot_of(sched: Scheduler, *, rejected: int, user_rejected: int, users: int) -> PoolSnapshot:
    states = tuple(
        TerminalState(
            name=s.name,
            server=s.holds.server if s.holds else None,
            login=s.holds.login if s.holds else None,
            busy=s.busy,
            healthy=s.healthy,
            switches=s.switches,
            served=s.served,
            queue_depth=sched.waiting_for(s),
            trade_allowed=s.trade_allowed,
            last_error=s.last_error,
            only_server=s.only_server,
            held=s.held,
        )
        for s in sched.slots
    )
    return PoolSnapshot(
        terminals=states,
        healthy=sum(t.healthy for t in states),
        busy=sum(t.busy for t in states),
        queued=len(sched.queue),
        switches=sum(t.switches for t in states),
        served=sum(t.served for t in states),
        rejected=rejected,
        user_rejected=user_rejected,
        users=users,
    )
