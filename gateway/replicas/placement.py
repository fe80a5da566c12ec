"""Which replica should serve a request: the pool's ``Placement``, from the lease board.

Asked by the pool before a request queues (``gateway/terminal/holding.py``), only for an HTTP
request that may still be forwarded (see :mod:`gateway.replicas.forwarding`); everything else
(background work, a request already forwarded once) is served here. The rules:

1. A terminal held here already holds the account (or, for market data, is on the server):
   serve here.
2. Another live replica's terminal holds the account (for market data: is logged into that
   server): forward there, where no switch is needed.
3. A terminal held here may log into the server: serve here (it switches).
4. Another live replica holds a terminal that may log into the server: forward there.
5. Otherwise serve here (the pool answers 503 as it would anyway).

Only replicas with an address take forwarded requests. The board is at most one renewal old
(a third of the lease TTL) and is refreshed when another replica's leases change (``LISTEN``).
Before rule 3 makes a terminal here switch, the store itself is asked (``lookup``: one query on
the few lease rows): a replica announces an account in its lease row *before* logging into it,
so a client alternating between replicas finds its account where the first request put it,
whatever the board says.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway.replicas.forwarding import claim_forward, forwardable
from gateway.replicas.leases import Board
from gateway.terminal.holding import Remote
from gateway.terminal.scheduler import AccountKey


@dataclass(frozen=True)
class View:
    """The board from this replica's side: what the others hold, by account and by server."""

    by_account: dict[str, Remote] = field(default_factory=dict)
    on_server: dict[str, Remote] = field(default_factory=dict)
    any_server: tuple[Remote, ...] = ()  # holders of terminals that may log in anywhere
    only_server: dict[str, Remote] = field(default_factory=dict)

    @classmethod
    def of(cls, board: Board, me: str) -> View:
        by_account: dict[str, Remote] = {}
        on_server: dict[str, Remote] = {}
        only_server: dict[str, Remote] = {}
        anywhere: dict[str, Remote] = {}
        for lease in sorted(board.leases.values(), key=lambda x: x.terminal):
            owner = lease.owner
            if not lease.live or owner is None or owner == me:
                continue
            address = board.replicas.get(owner)
            if not address:
                continue
            remote = Remote(owner, address)
            if lease.account is not None:
                by_account.setdefault(lease.account, remote)
            if lease.server is not None:
                on_server.setdefault(lease.server, remote)
            if lease.only_server is None:
                anywhere.setdefault(owner, remote)
            else:
                only_server.setdefault(lease.only_server, remote)
        return cls(by_account, on_server, tuple(anywhere.values()), only_server)

    def able(self, server: str) -> Remote | None:
        """A replica holding a terminal that may log into ``server``."""
        remote = self.only_server.get(server)
        if remote is not None:
            return remote
        return self.any_server[0] if self.any_server else None


Lookup = Callable[[str], Awaitable[Remote | None]]
"""The live replica (not this one) whose lease row names the account, read from the store."""


class ReplicaPlacement:
    """The pool's placement for one replica; :meth:`update` installs each new board."""

    def __init__(self, me: str, lookup: Lookup | None = None) -> None:
        self.me = me
        self.view = View()
        self._lookup = lookup
        self.lookups = 0

    def update(self, board: Board) -> None:
        self.view = View.of(board, self.me)

    def holds(self, account: AccountKey) -> bool:
        return str(account) in self.view.by_account

    async def elsewhere(
        self, account: AccountKey | None, server: str, *, resident: bool, able: bool
    ) -> Remote | None:
        if resident or not forwardable():
            return None
        remote = self.choose(account, server, able=able)
        if remote is None and account is not None and able and self._lookup is not None:
            self.lookups += 1  # about to switch a terminal here: is it resident elsewhere now?
            remote = await self._lookup(str(account))
        return remote if remote is not None and claim_forward(remote) else None

    def choose(self, account: AccountKey | None, server: str, *, able: bool) -> Remote | None:
        view = self.view
        if account is not None:
            remote = view.by_account.get(str(account))
        else:
            remote = view.on_server.get(server)
        if remote is not None:
            return remote
        return None if able else view.able(server)
