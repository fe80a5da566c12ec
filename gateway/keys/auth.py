"""Authenticating a request that carries an API key.

A key is found by the SHA-256 of what was sent (``keyformat``), then checked on every request:
not revoked, not expired, sent from an allowed address. What the store said about a key is
cached for ``API_KEY_CACHE_S`` (5 s by default): a key revoked through this gateway is refused
at once (the cache entry is dropped), one revoked through another replica within that time.

Guesses count in the login throttle (``gateway.auth.throttle``): a malformed key or one the
store does not know counts against the caller ``ip:<address>`` and, when the key is well-formed,
the target ``apikey:<prefix>``; both are audited as ``login.failed``. A caller locked out by
failures gets 429 ``LOGIN_THROTTLED`` even with a good key (checked whenever the key is looked up
in the store, so within the cache time). The target's lock refuses further wrong secrets with
that prefix, but not the key itself: a prefix is public.

A key the store *knows* but refuses (revoked 401 ``API_KEY_REVOKED``, expired 401
``API_KEY_EXPIRED``, from an address it does not allow 403 ``IP_REFUSED``) is no guess: whoever
sent it held the real secret. It is refused without counting, so one stale bot behind a NAT does
not lock every other key of that address out; it is audited as ``api_key.refused`` for the key's
owner, at most once a minute per key and reason.

The access log line of a request made with a known key names the key's prefix (``note``).

The last use (time and address) is written at most once a minute per key, or when the address
changes.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth.schemas import Principal, User
from gateway.auth.throttle import Attempt, LoginThrottle, api_key_target, caller_keys
from gateway.db import session_scope
from gateway.errors import AuthError, Forbidden, GatewayError
from gateway.keys import store
from gateway.keys.keyformat import digest, prefix_of
from gateway.keys.models import ApiKey
from gateway.keys.scopes import ADMIN
from gateway.logs import note
from gateway.store import audit

log = logging.getLogger("gateway.keys")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
CACHE_MAX = 4096
LAST_USE_EVERY_S = 60.0
REFUSED_ACTION = "api_key.refused"


@dataclass(frozen=True)
class KeyView:
    """What a request needs to know about a stored key (never its digest)."""

    id: str
    user_id: str
    prefix: str
    scopes: tuple[str, ...]
    account_id: str | None
    networks: tuple[Network, ...] | None
    expires_at: datetime | None
    revoked_at: datetime | None
    granted_by_admin: bool

    @classmethod
    def of(cls, row: ApiKey) -> KeyView:
        networks = None
        if row.allowed_ips is not None:
            networks = tuple(ipaddress.ip_network(c, strict=False) for c in row.allowed_ips)
        return cls(
            id=row.id,
            user_id=row.user_id,
            prefix=row.prefix,
            scopes=tuple(row.scopes),
            account_id=row.account_id,
            networks=networks,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            granted_by_admin=row.granted_by_admin,
        )

    def allows(self, ip: str | None) -> bool:
        if self.networks is None:
            return True
        try:
            address = ipaddress.ip_address(ip or "")
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def user(self, admin_ids: frozenset[str]) -> User:
        admin = ADMIN in self.scopes and (self.granted_by_admin or self.user_id in admin_ids)
        return User(
            id=self.user_id,
            auth="api_key",
            api_key_id=self.id,
            api_key_prefix=self.prefix,
            scopes=list(self.scopes),
            account_id=self.account_id,
            is_admin=admin,
        )


class KeyAuthenticator:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        throttle: LoginThrottle,
        *,
        cache_s: float = 5.0,
        admin_ids: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessionmaker = sessionmaker
        self.throttle = throttle
        self.cache_s = cache_s
        self.admin_ids = admin_ids
        self._clock = clock
        self._now = now
        self._cache: OrderedDict[str, tuple[float, KeyView]] = OrderedDict()
        self._last_use: dict[str, tuple[float, str | None]] = {}
        self._last_refusal: OrderedDict[tuple[str, str], float] = OrderedDict()

    async def authenticate(self, key: str, ip: str | None) -> Principal:
        """The key's user, or 401/403/429 (only guesses are counted in the throttle)."""
        prefix = prefix_of(key)
        if prefix is None:
            await self._refuse(None, None, ip, "malformed key", AuthError("Malformed API key"))
        assert prefix is not None
        hashed = digest(key)
        view = self._cached(hashed)
        if view is None:
            async with session_scope(self.sessionmaker) as session:
                row = await store.by_digest(session, hashed)
            if row is None or row.prefix != prefix:
                await self._refuse(prefix, None, ip, "unknown key", AuthError("Invalid API key"))
            assert row is not None
            view = KeyView.of(row)
            await self.throttle.check(_attempt(prefix, None, ip), caller_keys(None, ip))
            self._remember(hashed, view)
        note(api_key=view.prefix)
        await self._check(view, ip)
        await self._touch(view, ip)
        note(user_id=view.user_id)
        expires = view.expires_at.timestamp() if view.expires_at is not None else None
        return Principal(user=view.user(self.admin_ids), expires_at=expires)

    async def _check(self, view: KeyView, ip: str | None) -> None:
        """Refuse a known key that may not be used now (not counted: no guess)."""
        error: GatewayError | None = None
        reason = ""
        if view.revoked_at is not None:
            reason = "revoked key"
            error = AuthError("This API key was revoked", code="API_KEY_REVOKED")
        elif view.expires_at is not None and view.expires_at <= self._now():
            reason = "expired key"
            error = AuthError("This API key has expired", code="API_KEY_EXPIRED")
        elif not view.allows(ip):
            reason = "address not allowed"
            error = Forbidden("This API key may not be used from this address", code="IP_REFUSED")
        if error is None:
            return
        log.info("API key %s refused: %s", view.prefix, reason)
        await self._audit_refusal(view, ip, reason)
        raise error

    async def _audit_refusal(self, view: KeyView, ip: str | None, reason: str) -> None:
        """``api_key.refused`` for the key's owner, at most once a minute per key and reason."""
        now, mark = self._clock(), (view.id, reason)
        last = self._last_refusal.get(mark)
        if last is not None and now - last < LAST_USE_EVERY_S:
            return
        self._last_refusal[mark] = now
        self._last_refusal.move_to_end(mark)
        while len(self._last_refusal) > CACHE_MAX:
            self._last_refusal.popitem(last=False)
        try:
            async with session_scope(self.sessionmaker) as session:
                await audit.append(
                    session,
                    user_id=view.user_id,
                    action=REFUSED_ACTION,
                    account_id=view.account_id,
                    request={"id": view.id, "prefix": view.prefix},
                    outcome={"reason": reason},
                    ip=ip,
                )
        except SQLAlchemyError as exc:  # bookkeeping must not change the answer
            log.warning(
                "could not audit the refusal of key %s: %s", view.prefix, type(exc).__name__
            )

    async def _refuse(
        self,
        prefix: str | None,
        owner: str | None,
        ip: str | None,
        reason: str,
        error: GatewayError,
    ) -> None:
        """Count and audit a guess (429 instead when already locked), then raise."""
        attempt = _attempt(prefix, owner, ip)
        await self.throttle.begin(attempt)
        await self.throttle.failure(attempt, reason)
        raise error

    def forget(self, key_id: str) -> None:
        """Drop what is cached about a key (it was just revoked here)."""
        for hashed in [h for h, (_, v) in self._cache.items() if v.id == key_id]:
            del self._cache[hashed]

    def _cached(self, hashed: str) -> KeyView | None:
        entry = self._cache.get(hashed)
        if entry is None:
            return None
        if self._clock() - entry[0] >= self.cache_s:
            del self._cache[hashed]
            return None
        return entry[1]

    def _remember(self, hashed: str, view: KeyView) -> None:
        if self.cache_s <= 0:
            return
        self._cache[hashed] = (self._clock(), view)
        self._cache.move_to_end(hashed)
        while len(self._cache) > CACHE_MAX:
            self._cache.popitem(last=False)

    async def _touch(self, view: KeyView, ip: str | None) -> None:
        now = self._clock()
        last = self._last_use.get(view.id)
        if last is not None and now - last[0] < LAST_USE_EVERY_S and last[1] == ip:
            return
        self._last_use[view.id] = (now, ip)
        try:
            async with session_scope(self.sessionmaker) as session:
                await store.touch(session, view.id, self._now(), ip)
        except SQLAlchemyError as exc:  # bookkeeping must not fail the request
            log.warning("could not record the use of key %s: %s", view.prefix, type(exc).__name__)


def _attempt(prefix: str | None, owner: str | None, ip: str | None) -> Attempt:
    return Attempt(
        via="api-key",
        callers=caller_keys(None, ip),
        targets=(api_key_target(prefix),) if prefix else (),
        user_id=owner,
        ip=ip,
    )
