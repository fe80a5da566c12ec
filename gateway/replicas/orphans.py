"""Trade requests and idempotency keys a dead replica left unsettled, taken up by a survivor.

Every connection of a replica carries its id (``SET mt5gw.replica_id``, set by
:func:`stamp_connections` when the connection is first checked out), and a trigger (migration
``0009``) stamps each new ``trade_requests`` and ``idempotency_keys`` row with it in
``replica_stamps``, in the inserting transaction. A replica whose row in ``gateway_replicas``
expired is dead (its leases expired with it). :func:`claim_orphans` moves the stamps of its
unsettled rows to this replica in one ``UPDATE ... RETURNING`` (a second survivor finds them
claimed), and also claims unsettled rows with no stamp at all (written before replicas). Then:

- each claimed trade request is resumed like the startup resume does
  (``gateway.trading.resume``): looked up by its client id in the background, then settled
  with its idempotency key;
- an idempotency key left ``in_progress`` with no unsettled trade request is released: the
  dead replica never sent anything for it (a request row is committed before each send), so the
  client's retry with the same key sends it once.

:class:`OrphanWatch` runs this at start and whenever a replica disappears from the board (and
every ``SWEEP_EVERY_S`` as a safety net).
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import String, cast, event, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.db import session_scope
from gateway.replicas.leases import Board
from gateway.replicas.models import GatewayReplica, ReplicaStamp
from gateway.replicas.settings import safe_id
from gateway.store import idempotency
from gateway.store.models import IdempotencyKey, IdempotencyStatus, TradeRequest, TradeState
from gateway.trading.ledger import Reconciliations
from gateway.trading.resume import CREATING_ACTIONS, ReopenFor, _look_again, _release_key

log = logging.getLogger("gateway.replicas")

UNSETTLED = (TradeState.PENDING, TradeState.UNKNOWN)
SWEEP_EVERY_S = 60.0
STAMPED_KEY = "mt5gw_replica_stamped"


def stamp_connections(engine: AsyncEngine, replica_id: str) -> None:
    """Make every connection of ``engine`` carry ``mt5gw.replica_id`` (set at checkout, once
    per database connection), so the stamping trigger knows who inserts."""
    statement = f"SET mt5gw.replica_id = '{safe_id(replica_id)}'"

    def on_checkout(dbapi_connection: object, record: object, _proxy: object) -> None:
        info = record.info  # type: ignore[attr-defined]
        if info.get(STAMPED_KEY) is dbapi_connection:
            return
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute(statement)
        cursor.close()
        info[STAMPED_KEY] = dbapi_connection

    event.listen(engine.sync_engine, "checkout", on_checkout)


async def claim_orphans(
    session: AsyncSession, me: str
) -> tuple[list[TradeRequest], list[tuple[str, str]]]:
    """Claim the unsettled trade requests and bare in-progress keys of dead replicas (and the
    unstamped unsettled requests): (the requests, the keys as (user_id, key))."""
    live = select(GatewayReplica.id).where(GatewayReplica.expires_at > func.now())
    unsettled = TradeRequest.state.in_(UNSETTLED)
    dead = (ReplicaStamp.replica_id != me) & ReplicaStamp.replica_id.not_in(live)
    moved = await session.execute(
        update(ReplicaStamp)
        .where(ReplicaStamp.kind == "trade", ReplicaStamp.ref == TradeRequest.request_id)
        .where(unsettled, dead)
        .values(replica_id=me, created_at=func.now())
        .returning(ReplicaStamp.ref)
    )
    refs = list(moved.scalars())
    stamped = exists().where(
        ReplicaStamp.kind == "trade", ReplicaStamp.ref == TradeRequest.request_id
    )
    unstamped = select(literal("trade"), TradeRequest.request_id, literal(me), func.now()).where(
        unsettled, ~stamped
    )
    adopted = await session.execute(
        insert(ReplicaStamp)
        .from_select(["kind", "ref", "replica_id", "created_at"], unstamped)
        .on_conflict_do_nothing()
        .returning(ReplicaStamp.ref)
    )
    refs += list(adopted.scalars())
    rows: list[TradeRequest] = []
    if refs:
        found = await session.scalars(select(TradeRequest).where(TradeRequest.request_id.in_(refs)))
        rows = list(found)
    keys = await session.execute(
        update(ReplicaStamp)
        .where(ReplicaStamp.kind == "key", ReplicaStamp.ref == cast(IdempotencyKey.id, String))
        .where(IdempotencyKey.status == IdempotencyStatus.IN_PROGRESS, dead)
        .values(replica_id=me, created_at=func.now())
        .returning(IdempotencyKey.user_id, IdempotencyKey.key)
    )
    bare: list[tuple[str, str]] = []
    for user_id, key in keys.all():
        pending = exists().where(
            TradeRequest.user_id == user_id, TradeRequest.idempotency_key == key, unsettled
        )
        if not await session.scalar(select(pending)):
            bare.append((user_id, key))
    return rows, bare


async def resume_orphans(
    sessions: async_sessionmaker[AsyncSession],
    me: str,
    reopen_for: ReopenFor,
    background: Reconciliations,
) -> int:
    """Claim and take up what dead replicas left unsettled; how many requests and keys."""
    async with session_scope(sessions) as session:
        rows, bare = await claim_orphans(session, me)
        for row in rows:
            if row.request.get("action") not in CREATING_ACTIONS:
                await _release_key(session, row)
        for user_id, key in bare:
            await idempotency.release_key(session, user_id=user_id, key=key)
    for row in rows:
        if row.request.get("action") in CREATING_ACTIONS:
            _look_again(row, sessions, reopen_for, background)
    if rows or bare:
        log.warning(
            "resuming %d trade request(s) and releasing %d key(s) left by stopped replicas",
            len(rows),
            len(bare),
        )
    return len(rows) + len(bare)


class OrphanWatch:
    """Runs :func:`resume_orphans` when a replica leaves the board, and every so often."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        me: str,
        reopen_for: ReopenFor,
        background: Reconciliations,
    ) -> None:
        self._args = (sessions, me, reopen_for, background)
        self._known: set[str] = set()
        self._last = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self.runs = 0
        self.resumed = 0

    async def run_now(self) -> int:
        self.runs += 1
        self._last = time.monotonic()
        count = await resume_orphans(*self._args)
        self.resumed += count
        return count

    def seen(self, board: Board) -> None:
        """A new board: if a replica left it (or a sweep is due), resume in the background."""
        alive = set(board.replicas)
        gone = self._known - alive
        self._known = alive
        due = time.monotonic() - self._last >= SWEEP_EVERY_S
        if (gone or due) and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._safely(), name="replica-orphans")

    async def _safely(self) -> None:
        try:
            await self.run_now()
        except Exception as exc:
            log.warning("resuming orphaned trade requests failed: %s", type(exc).__name__)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
