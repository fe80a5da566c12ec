"""Faults a scenario schedules at given times (true UTC on the world's clock).

The World holds the schedule; each terminal applies a fault once, on its first API call at or
after the fault's time, by setting the same switches its test controls set
(``TerminalState.faults``): the next ``order_send`` answers a requote or another retcode, the
broker link goes down (and, with ``seconds``, comes back), or the next ``order_send`` executes
and then holds its answer for ``seconds`` (a timeout after executing).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator import constants as c
from simulator.terminal_state import TerminalState

KINDS = ("requote", "retcode", "disconnect", "reconnect", "timeout_after_execute")


@dataclass(frozen=True)
class ScheduledFault:
    at_ms: int  # true UTC epoch milliseconds
    kind: str
    seconds: float = 0.0
    retcode: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {', '.join(KINDS)}")
        if self.seconds < 0:
            raise ValueError("a fault's seconds must be >= 0")
        if self.kind == "retcode" and not 10004 <= self.retcode <= 10046:
            raise ValueError("a retcode fault needs a TRADE_RETCODE value (10004..10046)")


def expand(faults: list[ScheduledFault]) -> tuple[ScheduledFault, ...]:
    """The schedule in time order, a disconnect with ``seconds`` followed by its reconnect."""
    out = list(faults)
    for fault in faults:
        if fault.kind == "disconnect" and fault.seconds > 0:
            out.append(ScheduledFault(fault.at_ms + round(fault.seconds * 1000), "reconnect"))
    return tuple(sorted(out, key=lambda f: f.at_ms))


def apply_due(schedule: tuple[ScheduledFault, ...], state: TerminalState, now_ms: int) -> None:
    """Apply every fault of ``schedule`` due at ``now_ms`` that this terminal has not applied."""
    for index, fault in enumerate(schedule):
        if fault.at_ms > now_ms:
            break
        if index in state.applied_faults:
            continue
        state.applied_faults.add(index)
        faults = state.faults
        if fault.kind == "requote":
            faults.fail_next = c.TRADE_RETCODE_REQUOTE
        elif fault.kind == "retcode":
            faults.fail_next = fault.retcode
        elif fault.kind == "disconnect":
            faults.broker_connected = False
        elif fault.kind == "reconnect":
            faults.broker_connected = True
        else:
            faults.after_execute_s = fault.seconds
