"""The account API's work: verify on a terminal, then store; never echo a password.

Credentials are proven with a fresh login through the pool (``verify.py``) before anything is
stored. A refused login (MT5 ``-6``) is ``MT5_AUTH_FAILED`` when the server is one we know, else
``UNKNOWN_SERVER`` with the servers we know (the terminal cannot tell the two apart). Every path
that proves credentials (test-connection, connect, update with a password, reconnect) goes
through the login throttle first (``gateway.auth.throttle``): a caller or login with too many
failures gets 429 ``LOGIN_THROTTLED`` before any terminal work, and failures are audited. The
login's own count does not stop its proven owner (``Attempt.proven``) and reconnect, which uses
the stored password, guesses at nothing: only the caller's count applies to it. Status
changes of stored accounts are written in their own short transactions so that an error
answer, which rolls the request's transaction back, still leaves the error recorded; they run
before the request's own transaction writes anything (SQLite has one writer at a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.accounts import schemas as s
from gateway.accounts.context import (
    DEFAULT_ACCOUNT_ID,
    AccountContext,
    RiskLimits,
    pool_key,
    stored_credentials,
)
from gateway.auth.schemas import User
from gateway.auth.throttle import Attempt, LoginThrottle, caller_keys, mt5_target
from gateway.config import Settings
from gateway.db import session_scope
from gateway.errors import AccountError, AccountExists, AccountNotFound
from gateway.store import accounts as store
from gateway.store.crypto import Keyring
from gateway.store.models import AccountStatus, Mt5Account
from gateway.terminal.errors import MT5Error
from gateway.terminal.pool import Credentials, TerminalPool
from gateway.terminal.port import Record

TradeMode = Literal["demo", "contest", "real", "unknown"]
TRADE_MODES: dict[int, TradeMode] = {0: "demo", 1: "contest", 2: "real"}
AUTH_FAILED = -6  # last_error() of a refused login (bad password or server unknown to MT5)


@dataclass(frozen=True)
class Env:
    """What the account service needs from the application."""

    settings: Settings
    pool: TerminalPool
    keyring: Keyring
    sessionmaker: async_sessionmaker[AsyncSession]
    configured_servers: Sequence[str]
    throttle: LoginThrottle
    client_ip: str | None = None

    def deadline(self) -> float:
        return self.pool.deadline(self.settings.request_timeout_s)


# -- answers -------------------------------------------------------------------------------


def summary(info: Record) -> s.AccountSummary:
    mode = TRADE_MODES.get(info.get("trade_mode", -1), "unknown")
    return s.AccountSummary(
        login=info["login"],
        server=info["server"],
        name=info.get("name", ""),
        company=info.get("company", ""),
        currency=info.get("currency", ""),
        balance=info.get("balance", 0.0),
        equity=info.get("equity", 0.0),
        leverage=info.get("leverage", 0),
        trade_mode=mode,
        trade_allowed=bool(info.get("trade_allowed")),
    )


def account_out(row: Mt5Account, current_id: str | None) -> s.AccountOut:
    limits = RiskLimits.from_dict(row.risk_limits).as_dict()
    return s.AccountOut(
        id=row.id,
        login=row.login,
        server=row.server,
        label=row.label,
        is_investor=row.is_investor,
        is_default=row.is_default,
        is_current=row.id == current_id,
        status=row.status.value,
        last_error=row.last_error,
        last_seen_at=row.last_seen_at,
        risk_limits=s.RiskLimitsOut(**limits),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def configured_out(context: AccountContext) -> s.AccountOut:
    ref = context.account
    return s.AccountOut(
        id=ref.id,
        login=ref.login,
        server=ref.server,
        label="Configured account",
        is_investor=ref.is_investor,
        is_default=True,
        is_current=True,
        status="connected",
        last_error=None,
        last_seen_at=datetime.now(UTC),
        risk_limits=s.RiskLimitsOut(),
        created_at=None,
        updated_at=None,
    )


# -- verification --------------------------------------------------------------------------


def known_servers(env: Env) -> list[str]:
    """Configured servers plus those the pool's terminals are logged into, sorted."""
    held = {t.server for t in env.pool.snapshot().terminals if t.server}
    return sorted(set(env.configured_servers) | held)


def login_refused(env: Env, server: str, exc: MT5Error) -> AccountError:
    info = (exc.code, exc.mt5_message)
    known = known_servers(env)
    if exc.code == AUTH_FAILED and server not in known:
        return AccountError(
            f"Unknown broker server {server!r}",
            code="UNKNOWN_SERVER",
            mt5_error=info,
            extra={"known_servers": known},
        )
    if exc.code == AUTH_FAILED:
        return AccountError(
            "MT5 refused the login: wrong account number or password",
            code="MT5_AUTH_FAILED",
            mt5_error=info,
        )
    return AccountError(
        f"MT5 login failed: {exc.mt5_message}", code="MT5_LOGIN_FAILED", mt5_error=info
    )


async def verify(
    env: Env, login: int, server: str, investor: bool, credentials: Credentials
) -> Record:
    """Log a terminal into the account with ``credentials``; its ``account_info``."""
    key = pool_key(login, server, investor)
    try:
        async with env.pool.session(key, credentials, env.deadline(), fresh_login=True) as terminal:
            return await terminal.account_info()
    except MT5Error as exc:
        if exc.function != "login":
            raise
        raise login_refused(env, server, exc) from None


CREDENTIAL_FAILURES = frozenset({"MT5_AUTH_FAILED", "UNKNOWN_SERVER"})  # MT5 said -6


def bad_credentials(exc: Exception) -> str | None:
    """A refused login counts against the throttle; anything else proved nothing."""
    if isinstance(exc, AccountError) and exc.code in CREDENTIAL_FAILURES:
        return exc.code
    return None


def _attempt(
    env: Env,
    user: User,
    via: str,
    login: int,
    server: str,
    account_id: str | None = None,
    *,
    stored_secret: bool = False,
) -> Attempt:
    return Attempt(
        via=via,
        callers=caller_keys(user.id, env.client_ip),
        targets=(mt5_target(login, server),),
        user_id=user.id,
        account_id=account_id,
        ip=env.client_ip,
        stored_secret=stored_secret,
    )


def _secret(password: SecretStr) -> Credentials:
    return password.get_secret_value


async def _record(env: Env, account_id: str, error: str | None) -> None:
    status = AccountStatus.ERROR if error else AccountStatus.CONNECTED
    seen = None if error else datetime.now(UTC)
    async with session_scope(env.sessionmaker) as session:
        row = await session.get(Mt5Account, account_id)
        if row is not None:
            await store.record_status(session, row, status, error=error, seen_at=seen)


async def _login_stored(env: Env, row: Mt5Account, *, fresh: bool) -> Record:
    """Log a terminal into a stored account (a fresh login, or any terminal holding it) and
    record the outcome on the account."""
    credentials = stored_credentials(env.keyring, row)
    key = pool_key(row.login, row.server, row.is_investor)
    try:
        if fresh:
            info = await verify(env, row.login, row.server, row.is_investor, credentials)
        else:
            async with env.pool.session(key, credentials, env.deadline()) as terminal:
                info = await terminal.account_info()
    except MT5Error as exc:
        if exc.function != "login":
            raise
        refused = login_refused(env, row.server, exc)
        await _record(env, row.id, f"{refused.code}: {refused.message}")
        raise refused from None
    except AccountError as exc:
        await _record(env, row.id, f"{exc.code}: {exc.message}")
        raise
    await _record(env, row.id, None)
    return info


# -- operations ----------------------------------------------------------------------------


async def test_connection(env: Env, user: User, body: s.Credentials) -> s.TestConnectionResponse:
    attempt = _attempt(env, user, "test-connection", body.login, body.server)
    async with env.throttle.guard(attempt, bad_credentials):
        info = await verify(env, body.login, body.server, body.is_investor, _secret(body.password))
    return s.TestConnectionResponse(message="Connection successful", account_info=summary(info))


async def connect(
    env: Env, session: AsyncSession, user: User, body: s.ConnectRequest
) -> s.ConnectedAccount:
    """Verify, store (or refresh the same login), make it current."""
    async with env.throttle.guard(
        _attempt(env, user, "connect", body.login, body.server), bad_credentials
    ):
        info = await verify(env, body.login, body.server, body.is_investor, _secret(body.password))
    limits = body.risk_limits.model_dump(exclude_none=True) if body.risk_limits else None
    try:
        row = await store.save(
            session,
            env.keyring,
            user_id=user.id,
            login=body.login,
            server=body.server,
            password=body.password,
            is_investor=body.is_investor,
            label=body.label,
            risk_limits=limits,
            is_default=body.is_default,
        )
        await store.set_current(session, row)
        await store.record_status(session, row, AccountStatus.CONNECTED, seen_at=datetime.now(UTC))
    except IntegrityError:
        raise AccountExists(
            f"Account {body.login} on {body.server} is being added by another request"
        ) from None
    out = account_out(row, row.id)
    return s.ConnectedAccount(**out.model_dump(), account_info=summary(info))


async def _owned(session: AsyncSession, user: User, account_id: str) -> Mt5Account:
    row = await store.get_for_user(session, user.id, account_id)
    if row is None:
        raise AccountNotFound()
    return row


async def _current_id(session: AsyncSession, user: User) -> str | None:
    current = await store.get_current(session, user.id)
    return current.id if current is not None else None


async def list_accounts(session: AsyncSession, user: User) -> s.AccountsResponse:
    rows = await store.list_for_user(session, user.id)
    current = await _current_id(session, user)
    return s.AccountsResponse(accounts=[account_out(r, current) for r in rows], current_id=current)


async def current(session: AsyncSession, context: AccountContext) -> s.ConnectedAccount:
    info = summary(await context.terminal.account_info())
    if context.account.id == DEFAULT_ACCOUNT_ID:
        return s.ConnectedAccount(**configured_out(context).model_dump(), account_info=info)
    row = await _owned(session, context.user, context.account.id)
    current_id = await _current_id(session, context.user)
    return s.ConnectedAccount(**account_out(row, current_id).model_dump(), account_info=info)


async def switch(
    env: Env, session: AsyncSession, user: User, account_id: str
) -> s.ConnectedAccount:
    """Make the account current and have a terminal logged into it (warm for what follows)."""
    row = await _owned(session, user, account_id)
    info = await _login_stored(env, row, fresh=False)  # before this session writes (SQLite lock)
    await session.refresh(row)
    await store.set_current(session, row)
    return s.ConnectedAccount(**account_out(row, row.id).model_dump(), account_info=summary(info))


async def update(
    env: Env, session: AsyncSession, user: User, account_id: str, body: s.UpdateRequest
) -> s.AccountOut:
    row = await _owned(session, user, account_id)
    sent = body.model_fields_set
    investor = body.is_investor if body.is_investor is not None else row.is_investor
    if body.password is not None:
        attempt = _attempt(env, user, "update", row.login, row.server, row.id)
        async with env.throttle.guard(attempt, bad_credentials):
            await verify(env, row.login, row.server, investor, _secret(body.password))
    elif body.is_investor is not None and body.is_investor != row.is_investor:
        raise AccountError(
            "Changing is_investor needs the matching password", code="PASSWORD_REQUIRED"
        )
    limits = body.risk_limits.model_dump(exclude_none=True) if body.risk_limits else {}
    await store.update(
        session,
        env.keyring,
        row,
        label=body.label if "label" in sent else store.KEEP,
        risk_limits=limits if "risk_limits" in sent else store.KEEP,
        password=body.password,
        is_investor=investor,
        is_default=True if body.is_default else store.KEEP,
    )
    if body.password is not None:
        await store.record_status(session, row, AccountStatus.CONNECTED, seen_at=datetime.now(UTC))
    return account_out(row, await _current_id(session, user))


async def delete(session: AsyncSession, user: User, account_id: str) -> s.Deleted:
    row = await _owned(session, user, account_id)
    await store.soft_delete(session, row)
    return s.Deleted(id=row.id)


async def status(env: Env, session: AsyncSession, user: User, account_id: str) -> s.AccountStatus:
    row = await _owned(session, user, account_id)
    holder = next(
        (
            t
            for t in env.pool.snapshot().terminals
            if t.healthy and t.login == row.login and t.server == row.server
        ),
        None,
    )
    return s.AccountStatus(
        id=row.id,
        login=row.login,
        server=row.server,
        state=row.status.value,
        last_error=row.last_error,
        last_seen_at=row.last_seen_at,
        terminal=holder.name if holder else None,
        trade_allowed=holder.trade_allowed if holder else None,
    )


async def reconnect(
    env: Env, session: AsyncSession, user: User, account_id: str
) -> s.AccountStatus:
    """Log a terminal into the account again with its stored password."""
    row = await _owned(session, user, account_id)
    attempt = _attempt(env, user, "reconnect", row.login, row.server, row.id, stored_secret=True)
    async with env.throttle.guard(attempt, bad_credentials):
        await _login_stored(env, row, fresh=True)
    await session.refresh(row)
    return await status(env, session, user, account_id)


def servers(env: Env) -> s.ServersResponse:
    terminals = env.pool.snapshot().terminals
    return s.ServersResponse(
        servers=[
            s.BrokerServer(
                name=name, terminals=sum(t.server == name and t.healthy for t in terminals)
            )
            for name in known_servers(env)
        ]
    )
