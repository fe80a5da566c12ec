"""Terminal leases and replica rows in the store: each statement is one atomic step.

Times are the database's (``now()``), never a replica's clock, so replicas on machines whose
clocks differ still agree on who holds what. A lease is taken only when it is free or expired::

    UPDATE terminal_leases SET owner = :me, expires_at = now() + :ttl, generation + 1 ...
    WHERE terminal = :name AND (owner IS NULL OR expires_at <= now() OR owner = :me)
    RETURNING terminal

PostgreSQL locks the row for the first updater; a second one re-checks the condition against
the committed row and finds it taken. Renewing is the same ``UPDATE`` restricted to ``owner =
:me AND expires_at > now()``: a lease that expired is never silently renewed (someone may have
taken it meanwhile), it is lost and taken again through the counted path. The renewal and the
board are one statement each, so a replica whose event loop is busy serving requests still
renews in two round trips. These functions take a connection (inside a transaction, or in
autocommit for those that are one statement); the caller commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

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


RENEW_ROUND = text(
    """
    WITH flush AS (SELECT set_config('synchronous_commit', 'off', true)),
    alive AS (
        INSERT INTO gateway_replicas (id, address, started_at, expires_at)
        VALUES (:me, :address, now(), now() + make_interval(secs => :ttl))
        ON CONFLICT (id) DO UPDATE
            SET address = EXCLUDED.address, expires_at = EXCLUDED.expires_at
        RETURNING id
    ),
    renewed AS (
        UPDATE terminal_leases
        SET expires_at = now() + make_interval(secs => :ttl), updated_at = now()
        WHERE owner = :me AND expires_at > now()
        RETURNING terminal
    )
    SELECT (SELECT count(*) FROM flush) AS flushed, (SELECT count(*) FROM alive) AS alive,
        ARRAY(SELECT terminal FROM renewed) AS renewed
    """
)


async def renew_round(
    conn: AsyncConnection, me: str, address: str | None, ttl_s: float
) -> set[str]:
    """One statement, one round trip: this replica is alive until now + ttl (its row made on
    the first call), and every lease still ours and unexpired is renewed; returns the
    terminals renewed. The account a terminal holds is not written here (a renewal read before
    a switch would undo the switch's word): :func:`announce` writes it before each login.
    Committed without waiting for the disk (``synchronous_commit`` off for this statement): a
    crash loses at most this renewal, and the store then keeps the previous expiry, exactly when
    the holder's guard takes its terminals out. Takings and releases stay durable."""
    params = {"me": me, "address": address, "ttl": float(ttl_s)}
    row = (await conn.execute(RENEW_ROUND, params)).one()
    return set(row.renewed or ())


async def announce(
    conn: AsyncConnection, me: str, terminal: str, account: str | None, server: str | None
) -> bool:
    """Record that ``terminal`` (ours, unexpired) is logging into ``account`` now (None: its
    account is unknown, after a failed login)."""
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


BOARD = text(
    """
    SELECT now() AS now,
        COALESCE((SELECT json_agg(json_build_object(
            'terminal', terminal, 'owner', owner, 'generation', generation,
            'account', account, 'server', server, 'only_server', only_server,
            'expires_in_s', EXTRACT(EPOCH FROM expires_at - now()),
            'live', owner IS NOT NULL AND expires_at > now()))
            FROM terminal_leases), '[]') AS leases,
        COALESCE((SELECT json_agg(json_build_object('id', id, 'address', address))
            FROM gateway_replicas WHERE expires_at > now()), '[]') AS replicas
    """
)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


async def board(conn: AsyncConnection) -> Board:
    """Every lease and the live replicas, by the database's clock: one round trip."""
    row = (await conn.execute(BOARD)).one()
    leases = {}
    for item in _json(row.leases):
        live = bool(item["live"])
        leases[item["terminal"]] = Lease(
            terminal=item["terminal"],
            owner=item["owner"] if live else None,
            live=live,
            generation=int(item["generation"]),
            account=item["account"] if live else None,
            server=item["server"] if live else None,
            only_server=item["only_server"],
            expires_in_s=float(item["expires_in_s"]),
        )
    replicas = {r["id"]: r["address"] for r in _json(row.replicas)}
    return Board(now=row.now, leases=leases, replicas=replicas)


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
