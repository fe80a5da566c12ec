"""One simulated universe: a clock and one broker (with its market) per trade server.

Several :class:`~simulator.terminal.SimulatedTerminal` objects share a World, as several
terminal installations share the real brokers. All broker and market state is guarded by
``World.lock`` (re-entrant); nobody holds it while sleeping.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from simulator.broker import Broker
from simulator.catalog import DEMO_SEED, demo_servers
from simulator.clock import SimClock
from simulator.market import Market
from simulator.specs import ServerSpec


class World:
    """The clock, the brokers by server name and the login delay every terminal sees."""

    def __init__(
        self,
        *,
        seed: int = DEMO_SEED,
        servers: list[ServerSpec] | None = None,
        login_delay_s: float = 0.0,
    ) -> None:
        self.seed = seed
        self.login_delay_s = login_delay_s
        self.lock = threading.RLock()
        self.clock = SimClock()
        self._servers = list(servers) if servers is not None else None
        # Scheduled faults (simulator/fault_schedule.py), in time order; a scenario sets them.
        self.fault_schedule: tuple[Any, ...] = ()
        self.brokers: dict[str, Broker] = {}
        self.reset()

    def reset(self) -> None:
        """Rebuild every broker and market from the specs: initial balances, no trades,
        no pushed prices, same seed. The clock keeps its time and frozen state."""
        servers = self._servers if self._servers is not None else demo_servers()
        with self.lock:
            self.brokers = {server.name: self._build(server) for server in servers}

    def _build(self, server: ServerSpec) -> Broker:
        market = Market(self.seed, server.symbols, self.clock, server.utc_offset_s)
        broker = Broker(server, market)
        # Accounts are mutable (balances move): each build starts from fresh copies.
        fresh = [a for a in copy.deepcopy(list(server.accounts)) if not broker.has_account(a.login)]
        broker.add_accounts(fresh)
        return broker

    def broker_for_login(self, login: int) -> Broker | None:
        """The first broker (in server order) that holds ``login``."""
        with self.lock:
            for broker in self.brokers.values():
                if broker.has_account(login):
                    return broker
        return None
