"""``POST /api/v1/login`` and ``POST /api/v1/logout``: MT5-credential sessions (seed 000).

Off unless ``MT5_LOGIN_SESSIONS=true`` (then 404 ``LOGIN_SESSIONS_DISABLED``). A login is proven
on a terminal with a fresh login, through the login throttle like every credential-proving path
(caller ``ip:<address>``, target ``mt5:<login>@<server>``; 429 ``LOGIN_THROTTLED`` before any
terminal work). It then stores the account (password encrypted) for a gateway user of its own,
derived from the login and server (the same login always gets the same user, whose accounts,
audit trail and API keys stay with it), and answers a token bound to that account.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from gateway.accounts import service
from gateway.accounts.schemas import AccountSummary, Credentials
from gateway.auth.schemas import Principal
from gateway.auth.throttle import Attempt, LoginThrottle, caller_keys, mt5_target
from gateway.db import session_scope
from gateway.deps import KeyringDep, PoolDep, SettingsDep, get_current_user
from gateway.errors import ERROR_RESPONSES, AccountExists, ErrorResponse, GatewayError, NotFound
from gateway.sessions.tokens import SessionTokens
from gateway.store import accounts as store
from gateway.store import audit
from gateway.store.models import AccountStatus

# Gateway users of MT5-credential sessions: uuid5(this namespace, "<login>@<server>/<kind>").
USER_NAMESPACE = uuid.UUID("6d7f1c2e-5b4a-4e0f-9c3d-8a1b2c3d4e5f")

# The login is public: every error answer but 401.
login_router = APIRouter(
    tags=["sessions"], responses={k: v for k, v in ERROR_RESPONSES.items() if k != 401}
)
logout_router = APIRouter(tags=["sessions"])

THROTTLED: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "`MT5_AUTH_FAILED`, `UNKNOWN_SERVER`"},
    429: {"model": ErrorResponse, "description": "`LOGIN_THROTTLED`: see Retry-After"},
    404: {"model": ErrorResponse, "description": "`LOGIN_SESSIONS_DISABLED`"},
}


class LoginResponse(BaseModel):
    session_token: str = Field(description="Send as `Authorization: Bearer <session_token>`")
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    expires_in: int = Field(description="Seconds until it expires")
    user_id: str = Field(description="The gateway user of this MT5 login")
    account_id: str = Field(description="The stored account the session acts for")
    account_info: AccountSummary


class LogoutResponse(BaseModel):
    message: str


class NotASession(GatewayError):
    status, code = 400, "NOT_A_SESSION"


def session_user_id(login: int, server: str, is_investor: bool) -> str:
    kind = "investor" if is_investor else "master"
    return str(uuid.uuid5(USER_NAMESPACE, f"{login}@{server.strip().lower()}/{kind}"))


def _tokens(request: Request) -> SessionTokens | None:
    tokens: SessionTokens | None = request.state.session_tokens
    return tokens


@login_router.post("/login", responses=THROTTLED)
async def login(
    body: Credentials,
    request: Request,
    settings: SettingsDep,
    pool: PoolDep,
    keyring: KeyringDep,
) -> LoginResponse:
    """Log in with MT5 credentials (seed 000): proven on a terminal, then a session token for
    24 h (`SESSION_TTL_S`) bound to that account. Wrong credentials: 400 `MT5_AUTH_FAILED`."""
    tokens = _tokens(request)
    if not settings.mt5_login_sessions or tokens is None:
        raise NotFound(
            "MT5-credential sessions are off on this gateway (MT5_LOGIN_SESSIONS)",
            code="LOGIN_SESSIONS_DISABLED",
        )
    throttle: LoginThrottle = request.state.throttle
    ip = request.client.host if request.client else None
    env = service.Env(
        settings=settings,
        pool=pool,
        keyring=keyring,
        sessionmaker=request.state.sessionmaker,
        configured_servers=request.state.known_servers,
        throttle=throttle,
        client_ip=ip,
    )
    attempt = Attempt(
        via="login",
        callers=caller_keys(None, ip),
        targets=(mt5_target(body.login, body.server),),
        ip=ip,
    )
    async with throttle.guard(attempt, _bad_credentials):
        info = await service.verify(
            env, body.login, body.server, body.is_investor, body.password.get_secret_value
        )
    user_id = session_user_id(body.login, body.server, body.is_investor)
    try:
        async with session_scope(env.sessionmaker) as session:
            row = await store.save(
                session,
                keyring,
                user_id=user_id,
                login=body.login,
                server=body.server,
                password=body.password,
                is_investor=body.is_investor,
                is_default=True,
            )
            await store.set_current(session, row)
            await store.record_status(
                session, row, AccountStatus.CONNECTED, seen_at=datetime.now(UTC)
            )
            issued = tokens.issue(user_id, row.id)
            await audit.append(
                session,
                user_id=user_id,
                action="session.login",
                account_id=row.id,
                request={"login": body.login, "server": body.server, "session": issued.jti},
                ip=ip,
            )
    except IntegrityError:
        raise AccountExists("This MT5 login is being logged in by another request") from None
    return LoginResponse(
        session_token=issued.token,
        expires_at=issued.expires_at,
        expires_in=int(tokens.ttl_s),
        user_id=user_id,
        account_id=row.id,
        account_info=service.summary(info),
    )


def _bad_credentials(exc: Exception) -> str | None:
    if isinstance(exc, GatewayError) and exc.code in service.CREDENTIAL_FAILURES:
        return exc.code
    return None


@logout_router.post("/logout", dependencies=[Depends(get_current_user)])
async def logout(request: Request) -> LogoutResponse:
    """End an MT5-credential session: its token is refused from now on (until it would have
    expired anyway). Supabase sessions end in Supabase; API keys are revoked at /keys."""
    principal: Principal = request.state.principal
    tokens = _tokens(request)
    user = principal.user
    if user.auth != "mt5_session" or tokens is None or user.session_id is None:
        raise NotASession("Only MT5-credential session tokens are logged out here")
    await tokens.revoke(user.id, user.session_id, principal.expires_at or 0.0)
    async with session_scope(request.state.sessionmaker) as session:
        await audit.append(
            session,
            user_id=user.id,
            action="session.logout",
            account_id=user.account_id,
            request={"session": user.session_id},
            ip=request.client.host if request.client else None,
        )
    return LogoutResponse(message="success")
