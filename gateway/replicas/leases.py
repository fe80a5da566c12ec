"""Terminal leases and replica rows in the store: each statement is one atomic step.

Times are the database's (``now()``), never a replica's clock, so replicas on machines whose
clocks differ still agree on who holds what. A lease is taken only when it is free or expired::

    UPDATE terminal_leases SET owner = :me, expires_at = now() + :ttl, generation + 1 ...
    WHERE terminal = :name AND (owner IS NULL OR expires_at <= now() OR owner = :me)
    RETURNING terminal

PostgreSQL locks the row for the first updater; a second one re-checks the condition against
the committed row and finds it taken. Renewing is the same ``UPDATE`` restricted to ``owner =
:me AND expires_at > now()``: a lease that expired is never silently renewed (someone may have
taken it meanwhile), it is lost and taken again through the counted path. These functions take
a connection inside a transaction; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.replicas.models import GatewayReplica, TerminalLease

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LEASES_CHANNEL = "mt5gw_leases"  # NOTIFY payload: the replica whose leases changed


@dataclass(frozen=True)
class Lease:
    terminal: str
    owner: str | None
    live: bool  # held, not expired
    generation: int
    account: str | None
    server: str | None
    only_server: str | None
    expires_in_s: float = 0.0  # from the board's moment (database clock); <= 0: expired


@dataclass(frozen=True)
class Board:
    """What the store says at one moment: every lease, and the live replicas' addresses."""

    now: datetime
    leases: dict[str, Lease] = field(default_factory=dict)
    replicas: dict[str, str | None] = field(default_factory=dict)

    def held_by(self, replica: str) -> list[str]:
        return [n for n, lease in self.leases.items() if lease.live and lease.owner == replica]

    def next_expiry_s(self, me: str) -> float | None:
        """Seconds until the first live lease of another replica expires (None: none)."""
        others = [x.expires_in_s for x in self.leases.values() if x.live and x.owner != me]
        return min(others) if others else None

    def free(self, names: Iterable[str]) -> list[str]:
        """Of ``names``, the terminals nobody holds (never leased, released or expired)."""
        return [n for n in names if (lease := self.leases.get(n)) is None or not lease.live]


def _ttl(ttl_s: float) -> timedelta:
    return timedelta(seconds=ttl_s)


async def without_flush(conn: AsyncConnection) -> None:
    """Commit this transaction without waiting for the disk (``synchronous_commit = off``): for
    renewals only. PostgreSQL flushes it within a fraction of a second anyway; a crash in that
    window loses one renewal, so the store keeps the previous expiry, which is exactly when the
    holder's own guard takes its terminals out. Takings and releases stay durable."""
    await conn.execute(text("SET LOCAL synchronous_commit = off"))


async def heartbeat(conn: AsyncConnection, me: str, address: str | None, ttl_s: float) -> None:
    """This replica is alive until now + ttl (its row made on the first call)."""
    stmt = insert(GatewayReplica).values(
        id=me, address=address, started_at=func.now(), expires_at=func.now() + _ttl(ttl_s)
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[GatewayReplica.id],
        set_={"address": address, "expires_at": func.now() + _ttl(ttl_s)},
    )
    await conn.execute(stmt)


async def ensure(conn: AsyncConnection, terminals: Mapping[str, str | None]) -> None:
    """A lease row (free) for every terminal named, with its only server; existing rows stay."""
    for name, only_server in terminals.items():
        stmt = insert(TerminalLease).values(
            terminal=name,
            owner=None,
            expires_at=EPOCH,
            generation=0,
            only_server=only_server,
            updated_at=func.now(),
        )
        await conn.execute(stmt.on_conflict_do_nothing(index_elements=[TerminalLease.terminal]))


async def renew(
    conn: AsyncConnection,
    me: str,
    accounts: Mapping[str, tuple[str | None, str | None]],
    ttl_s: float,
) -> set[str]:
    """Renew every lease that is still ours and unexpired, recording the account each terminal
    holds (``accounts``: terminal → (account, server); a terminal missing there: none known);
    returns the terminals renewed."""
    ours = select(TerminalLease.terminal).where(
        TerminalLease.owner == me, TerminalLease.expires_at > func.now()
    )
    names = set(accounts) | set((await conn.execute(ours)).scalars())
    renewed: set[str] = set()
    for name in sorted(names):
        account, server = accounts.get(name, (None, None))
        stmt = (
            update(TerminalLease)
            .where(
                TerminalLease.terminal == name,
                TerminalLease.owner == me,
                TerminalLease.expires_at > func.now(),
            )
            .values(
                expires_at=func.now() + _ttl(ttl_s),
                account=account,
                server=server,
                updated_at=func.now(),
            )
            .returning(TerminalLease.terminal)
        )
        if (await conn.execute(stmt)).scalar_one_or_none() is not None:
            renewed.add(name)
    return renewed


async def announce(
    conn: AsyncConnection, me: str, terminal: str, account: str, server: str
) -> bool:
    """Record that ``terminal`` (ours, unexpired) is logging into ``account`` now."""
    stmt = (
        update(TerminalLease)
        .where(
            TerminalLease.terminal == terminal,
            TerminalLease.owner == me,
            TerminalLease.expires_at > func.now(),
        )
        .values(account=account, server=server, updated_at=func.now())
        .returning(TerminalLease.terminal)
    )
    return (await conn.execute(stmt)).scalar_one_or_none() is not None


async def resident(conn: AsyncConnection, me: str, account: str) -> tuple[str, str] | None:
    """(replica, address) of a live replica other than ``me`` whose terminal holds ``account``."""
    stmt = (
        select(TerminalLease.owner, GatewayReplica.address)
        .join(GatewayReplica, GatewayReplica.id == TerminalLease.owner)
        .where(
            TerminalLease.account == account,
            TerminalLease.owner != me,
            TerminalLease.expires_at > func.now(),
            GatewayReplica.expires_at > func.now(),
            GatewayReplica.address.is_not(None),
        )
        .order_by(TerminalLease.terminal)
        .limit(1)
    )
    row = (await conn.execute(stmt)).first()
    return (str(row[0]), str(row[1])) if row is not None else None


async def acquire(conn: AsyncConnection, me: str, names: Iterable[str], ttl_s: float) -> list[str]:
    """Take those of ``names`` that are free or expired; returns the terminals taken."""
    taken: list[str] = []
    for name in names:
        stmt = (
            update(TerminalLease)
            .where(
                TerminalLease.terminal == name,
                or_(
                    TerminalLease.owner.is_(None),
                    TerminalLease.expires_at <= func.now(),
                ),
            )
            .values(
                owner=me,
                expires_at=func.now() + _ttl(ttl_s),
                generation=TerminalLease.generation + 1,
                acquired_at=func.now(),
                account=None,
                server=None,
                updated_at=func.now(),
            )
            .returning(TerminalLease.terminal)
        )
        if (await conn.execute(stmt)).scalar_one_or_none() is not None:
            taken.append(name)
    return taken


async def release(conn: AsyncConnection, me: str, names: Iterable[str]) -> None:
    """Give up the leases of ``names`` (only where still ours): free at once for others."""
    names = list(names)
    if not names:
        return
    await conn.execute(
        update(TerminalLease)
        .where(TerminalLease.terminal.in_(names), TerminalLease.owner == me)
        .values(owner=None, expires_at=func.now(), account=None, server=None, updated_at=func.now())
    )


async def leave(conn: AsyncConnection, me: str) -> None:
    """A clean stop: every lease released and the replica row gone."""
    await conn.execute(
        update(TerminalLease)
        .where(TerminalLease.owner == me)
        .values(owner=None, expires_at=func.now(), account=None, server=None, updated_at=func.now())
    )
    await conn.execute(delete(GatewayReplica).where(GatewayReplica.id == me))


async def board(conn: AsyncConnection) -> Board:
    now = (await conn.execute(select(func.now()))).scalar_one()
    leases = {}
    for row in (await conn.execute(select(TerminalLease))).mappings():
        live = row["owner"] is not None and row["expires_at"] > now
        leases[row["terminal"]] = Lease(
            terminal=row["terminal"],
            owner=row["owner"] if live else None,
            live=live,
            generation=row["generation"],
            account=row["account"] if live else None,
            server=row["server"] if live else None,
            only_server=row["only_server"],
            expires_in_s=(row["expires_at"] - now).total_seconds(),
        )
    alive = select(GatewayReplica.id, GatewayReplica.address).where(GatewayReplica.expires_at > now)
    replicas = {r.id: r.address for r in await conn.execute(alive)}
    return Board(now=now, leases=leases, replicas=replicas)


async def forget_dead(conn: AsyncConnection, older_than_s: float) -> None:
    """Delete the rows of replicas dead for longer than ``older_than_s`` (their work resumed)."""
    await conn.execute(
        delete(GatewayReplica).where(
            and_(GatewayReplica.expires_at < func.now() - _ttl(older_than_s))
        )
    )


async def notify(conn: AsyncConnection, channel: str, payload: str) -> None:
    """``pg_notify`` in this transaction: delivered to the listeners when it commits."""
    await conn.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload}
    )
