"""A short-lived memory of which account a request resolves to, so reads skip the database.

Resolving ``(user, account_id)`` costs two or three queries; a client polling its balance
would pay them on every request. Entries live ``ttl_s`` at most and are forgotten as soon as a
transaction that changed one of the user's accounts commits: the store marks the session
(``gateway.store.accounts.changed_users``) and ``install_forgetting`` listens for the commit.
The gateway runs one worker process, so this memory sees every write it has to forget.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from gateway.store.accounts import CHANGED_USERS

T = TypeVar("T")


class AccountCache(Generic[T]):
    def __init__(
        self,
        *,
        ttl_s: float = 30.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str | None], tuple[float, T]] = OrderedDict()

    def get(self, user_id: str, account_id: str | None) -> T | None:
        key = (user_id, account_id)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        return entry[1]

    def put(self, user_id: str, account_id: str | None, value: T) -> None:
        key = (user_id, account_id)
        self._entries[key] = (self._clock() + self._ttl_s, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget(self, user_ids: Iterable[str]) -> None:
        users = set(user_ids)
        if users:
            for key in [k for k in self._entries if k[0] in users]:
                del self._entries[key]


def install_forgetting(
    maker: async_sessionmaker[AsyncSession], cache: AccountCache[T]
) -> async_sessionmaker[AsyncSession]:
    """Sessions of ``maker`` make ``cache`` forget the users whose accounts they changed."""

    class ForgettingSession(Session):
        pass

    @event.listens_for(ForgettingSession, "after_commit")
    def _forget(session: Session) -> None:
        cache.forget(session.info.pop(CHANGED_USERS, ()))

    @event.listens_for(ForgettingSession, "after_rollback")
    def _drop_marks(session: Session) -> None:
        session.info.pop(CHANGED_USERS, None)

    maker.configure(sync_session_class=ForgettingSession)
    return maker
