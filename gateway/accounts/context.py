"""Which MT5 account a request acts for, and the pool terminal that serves it.

Every account-scoped endpoint takes ``AccountDep`` (an :class:`AccountContext`: the caller, the
account, a terminal logged into it for the whole request). The account is resolved like this:

1. ``?account_id=<id>``: the caller's own live account with that id. ``default`` names the
   configured single-tenant account. Unknown, deleted or another user's ids all answer
   404 ``ACCOUNT_NOT_FOUND`` (nobody learns that someone else's id exists).
2. No ``account_id``: the caller's current account (set by connect/switch), else the default.
3. The caller has no stored account: the configured account (``DEFAULT_ACCOUNT_LOGIN`` /
   ``_PASSWORD`` / ``_SERVER``, id ``default``) serves callers allowed to use it:
   ``ALLOWED_USER_IDS``, or everyone in development when that list is empty (so ``make run``
   plus a dev token shows demo account 10001 at once); in production the list must name them.
   Otherwise 404 ``NO_ACCOUNT``.

Admins are not special here: account endpoints reach only the caller's own accounts.

``MarketDep`` is a terminal for data that is not account-specific (symbols, ticks, bars): any
terminal already on the resolved account's broker server, without a switch (only when no
terminal is on that server does one log into the account).

Both take the pool's per-user share in the caller's name: a caller who already has their share
of terminal work in progress gets 429 ``USER_BUSY`` with ``Retry-After`` at once, and the pool
serves users in turn (``gateway/terminal/user_shares.py``, ``scheduler.py``).

Passwords are decrypted only when a terminal must log in (the pool calls ``credentials``), and
investor logins are distinct pool accounts from master logins of the same number, so a
read-only session never serves a trading request or the other way round.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.accounts.cache import AccountCache
from gateway.auth.schemas import User
from gateway.config import Settings
from gateway.db import session_scope
from gateway.deps import CurrentUser
from gateway.errors import AccountNotFound, GatewayError, NoAccount
from gateway.logs import note
from gateway.store import accounts as store
from gateway.store.crypto import CryptoError, Keyring
from gateway.store.models import AccountStatus, Mt5Account
from gateway.terminal.errors import MT5Error
from gateway.terminal.pool import AccountKey, TerminalPool
from gateway.terminal.port import TerminalPort

DEFAULT_ACCOUNT_ID = "default"
SEEN_REFRESH = timedelta(seconds=60)  # how stale last_seen_at may get before a request updates it

ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
AccountIdQuery = Annotated[
    str | None,
    Query(
        pattern=ACCOUNT_ID_PATTERN,
        description="Act for this account of yours (default: your current account)",
    ),
]


@dataclass(frozen=True)
class RiskLimits:
    max_volume_per_order: float | None = None
    max_open_positions: int | None = None
    allowed_symbols: tuple[str, ...] | None = None
    max_daily_loss: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RiskLimits:
        data = data or {}
        symbols = data.get("allowed_symbols")
        return cls(
            max_volume_per_order=data.get("max_volume_per_order"),
            max_open_positions=data.get("max_open_positions"),
            allowed_symbols=tuple(symbols) if symbols is not None else None,
            max_daily_loss=data.get("max_daily_loss"),
        )

    def as_dict(self) -> dict[str, Any]:
        """The stored form: only the limits that are set."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if self.allowed_symbols is not None:
            out["allowed_symbols"] = list(self.allowed_symbols)
        return out


@dataclass(frozen=True)
class AccountRef:
    id: str  # store id; in single-tenant mode "default"
    user_id: str
    login: int
    server: str
    is_investor: bool
    risk_limits: RiskLimits


@dataclass
class AccountContext:
    user: User
    account: AccountRef
    terminal: TerminalPort  # logged into `account` for the whole request (pool session held)


@dataclass(frozen=True, slots=True)
class InvestorKey(AccountKey):
    """An investor (read-only) login: never equal to the master login of the same account."""

    def __str__(self) -> str:
        return f"{self.login}@{self.server} (investor)"


def pool_key(login: int, server: str, is_investor: bool) -> AccountKey:
    return InvestorKey(login, server) if is_investor else AccountKey(login, server)


@dataclass(frozen=True)
class ResolvedAccount:
    """An account plus what the pool needs to log into it."""

    ref: AccountRef
    credentials: Callable[[], str]
    row: Mt5Account | None  # None for the configured single-tenant account

    @property
    def key(self) -> AccountKey:
        return pool_key(self.ref.login, self.ref.server, self.ref.is_investor)


class CredentialsUnreadable(GatewayError):
    status, code = 500, "CREDENTIALS_UNREADABLE"


def stored_credentials(keyring: Keyring, row: Mt5Account) -> Callable[[], str]:
    def credentials() -> str:
        try:
            return store.decrypt_password(keyring, row).get_secret_value()
        except CryptoError:
            raise CredentialsUnreadable(
                "The stored MT5 password cannot be decrypted with the configured keys"
            ) from None

    return credentials


def ref_of(row: Mt5Account) -> AccountRef:
    return AccountRef(
        id=row.id,
        user_id=row.user_id,
        login=row.login,
        server=row.server,
        is_investor=row.is_investor,
        risk_limits=RiskLimits.from_dict(row.risk_limits),
    )


def default_account(settings: Settings, user: User) -> ResolvedAccount | None:
    """The configured single-tenant account, if ``user`` may use it."""
    if not settings.may_use_default_account(user.id):
        return None
    ref = AccountRef(
        id=DEFAULT_ACCOUNT_ID,
        user_id=user.id,
        login=settings.default_account_login,
        server=settings.default_account_server,
        is_investor=False,
        risk_limits=RiskLimits(),
    )
    password = settings.default_account_password
    return ResolvedAccount(ref, password.get_secret_value, None)


async def resolve_account(
    session: AsyncSession,
    keyring: Keyring,
    settings: Settings,
    user: User,
    account_id: str | None,
) -> ResolvedAccount:
    """The account a request acts for (see the module docstring for the rule)."""
    account_id = user.acting_for(account_id)  # a key or session bound to one account
    if account_id == DEFAULT_ACCOUNT_ID:
        configured = default_account(settings, user)
        if configured is None:
            raise AccountNotFound()
        return configured
    if account_id is not None:
        row = await store.get_for_user(session, user.id, account_id)
        if row is None:
            raise AccountNotFound()
    else:
        row = await store.get_current(session, user.id)
        if row is None:
            configured = default_account(settings, user)
            if configured is None:
                raise NoAccount("No MT5 account connected: POST /api/v1/accounts/connect first")
            return configured
    return ResolvedAccount(ref_of(row), stored_credentials(keyring, row), row)


def sessionmaker_of(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.state.sessionmaker
    return maker


async def record_login(
    request: Request, resolved: ResolvedAccount, error: MT5Error | None = None
) -> None:
    """Remember what the last login said about a stored account (own short transaction)."""
    row = resolved.row
    if row is None:
        return
    now = datetime.now(UTC)
    if error is None:
        fresh = row.last_seen_at is not None and now - row.last_seen_at < SEEN_REFRESH
        if row.status == AccountStatus.CONNECTED and fresh:
            return
    async with session_scope(sessionmaker_of(request)) as session:
        # A fresh copy: the resolved row may be shared by concurrent requests (AccountCache).
        current = await session.get(Mt5Account, row.id)
        if current is None:
            return
        if error is None:
            await store.record_status(session, current, AccountStatus.CONNECTED, seen_at=now)
        else:
            message = f"({error.code}) {error.mt5_message}"
            await store.record_status(session, current, AccountStatus.ERROR, error=message)


async def _resolve(
    request: Request, user: User, keyring: Keyring, settings: Settings, account_id: str | None
) -> ResolvedAccount:
    account_id = user.acting_for(account_id)  # before the cache: a bound key's own account
    cache: AccountCache[ResolvedAccount] = request.state.account_cache
    resolved = cache.get(user.id, account_id)
    if resolved is None:
        async with session_scope(sessionmaker_of(request)) as session:
            resolved = await resolve_account(session, keyring, settings, user, account_id)
        cache.put(user.id, account_id, resolved)
    note(account_id=resolved.ref.id)  # the access log line names the account, not the login
    return resolved


async def get_account_context(
    request: Request, user: CurrentUser, account_id: AccountIdQuery = None
) -> AsyncIterator[AccountContext]:
    """The caller's account and a terminal logged into it, held until the endpoint returns.

    The app's resources are read from ``request.state`` here, not as dependencies of their
    own: every request of an account passes through this, and FastAPI's cost per dependency
    is larger than the read."""
    settings, pool = request.state.settings, request.state.pool
    resolved = await _resolve(request, user, request.state.keyring, settings, account_id)
    deadline = pool.deadline(settings.request_timeout_s)
    async with account_session(request, pool, resolved, deadline) as terminal:
        yield AccountContext(user=user, account=resolved.ref, terminal=terminal)


@asynccontextmanager
async def account_session(
    request: Request, pool: TerminalPool, resolved: ResolvedAccount, deadline: float
) -> AsyncIterator[TerminalPort]:
    """``pool.session`` for ``resolved``, in its user's share, that records login outcomes on the
    stored account."""
    entered = False
    session = pool.session(resolved.key, resolved.credentials, deadline, user=resolved.ref.user_id)
    try:
        async with session as terminal:
            entered = True
            await record_login(request, resolved)
            yield terminal
    except MT5Error as exc:
        if entered or exc.function != "login":
            raise
        await record_login(request, resolved, exc)
        raise LoginRejected(exc) from None


class LoginRejected(GatewayError):
    """The terminal refused the stored credentials of an account while switching to it."""

    status, code = 502, "ACCOUNT_LOGIN_FAILED"

    def __init__(self, exc: MT5Error) -> None:
        super().__init__(
            "MT5 refused the stored credentials of this account; update its password "
            "(PUT /api/v1/accounts/{id}) or reconnect it",
            mt5_error=(exc.code, exc.mt5_message),
        )


async def get_market_terminal(
    request: Request, user: CurrentUser, account_id: AccountIdQuery = None
) -> AsyncIterator[TerminalPort]:
    """Any terminal on the caller's account's broker server (no switch unless none is)."""
    settings, pool = request.state.settings, request.state.pool
    resolved = await _resolve(request, user, request.state.keyring, settings, account_id)
    deadline = pool.deadline(settings.request_timeout_s)
    fallback = (resolved.key, resolved.credentials)
    async with pool.market_data(
        resolved.ref.server, deadline, fallback, user=resolved.ref.user_id
    ) as terminal:
        yield terminal


AccountDep = Annotated[AccountContext, Depends(get_account_context, scope="function")]
MarketDep = Annotated[TerminalPort, Depends(get_market_terminal, scope="function")]


async def _terminal_of(context: AccountDep) -> TerminalPort:
    return context.terminal


TerminalDep = Annotated[TerminalPort, Depends(_terminal_of)]
"""The terminal of ``AccountDep``, for routers that need nothing else of the context."""
