"""``POST /api/v1/login`` and ``POST /api/v1/logout``: MT5-credential sessions (seed 000).

Off unless ``MT5_LOGIN_SESSIONS=true`` (then 404 ``LOGIN_SESSIONS_DISABLED``); what a login does
is ``gateway.sessions.service.open_session``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from gateway.accounts.env import EnvDep
from gateway.accounts.schemas import Credentials
from gateway.auth.schemas import Principal
from gateway.db import session_scope
from gateway.deps import get_current_user
from gateway.errors import ERROR_RESPONSES, ErrorResponse, GatewayError, NotFound
from gateway.sessions.schemas import LoginResponse, LogoutResponse
from gateway.sessions.service import open_session
from gateway.sessions.tokens import SessionTokens
from gateway.store import audit

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


class NotASession(GatewayError):
    status, code = 400, "NOT_A_SESSION"


def _tokens(request: Request) -> SessionTokens | None:
    tokens: SessionTokens | None = request.state.session_tokens
    return tokens


@login_router.post("/login", responses=THROTTLED)
async def login(body: Credentials, request: Request, env: EnvDep) -> LoginResponse:
    """Log in with MT5 credentials (seed 000): proven on a terminal, then a session token for
    24 h (`SESSION_TTL_S`) bound to that account. Wrong credentials: 400 `MT5_AUTH_FAILED`."""
    tokens = _tokens(request)
    if not env.settings.mt5_login_sessions or tokens is None:
        raise NotFound(
            "MT5-credential sessions are off on this gateway (MT5_LOGIN_SESSIONS)",
            code="LOGIN_SESSIONS_DISABLED",
        )
    return await open_session(env, tokens, body)


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
