"""Opening an MT5-credential session: what ``POST /api/v1/login`` does once sessions are on.

The credentials are proven on a terminal with a fresh login, through the login throttle like
every credential-proving path (caller ``ip:<address>``, target ``mt5:<login>@<server>``; 429
``LOGIN_THROTTLED`` before any terminal work). The account is then stored (password encrypted)
for a gateway user of its own, derived from the login and server, so the same login always gets
the same user, whose accounts, audit trail and API keys stay with it; the answer is a token bound
to that account.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from gateway.accounts import service
from gateway.accounts.schemas import Credentials
from gateway.auth.throttle import Attempt, caller_keys, mt5_target
from gateway.db import session_scope
from gateway.errors import AccountExists
from gateway.sessions.schemas import LoginResponse
from gateway.sessions.tokens import SessionTokens
from gateway.store import accounts as store
from gateway.store import audit
from gateway.store.models import AccountStatus

# Gateway users of MT5-credential sessions: uuid5(this namespace, "<login>@<server>/<kind>").
USER_NAMESPACE = uuid.UUID("6d7f1c2e-5b4a-4e0f-9c3d-8a1b2c3d4e5f")


def session_user_id(login: int, server: str, is_investor: bool) -> str:
    kind = "investor" if is_investor else "master"
    return str(uuid.uuid5(USER_NAMESPACE, f"{login}@{server.strip().lower()}/{kind}"))


async def open_session(env: service.Env, tokens: SessionTokens, body: Credentials) -> LoginResponse:
    """Prove ``body`` on a terminal, store its account for the login's own user, and issue a
    session token bound to it (audited as ``session.login``)."""
    ip = env.client_ip
    attempt = Attempt(
        via="login",
        callers=caller_keys(None, ip),
        targets=(mt5_target(body.login, body.server),),
        ip=ip,
    )
    async with env.throttle.guard(attempt, service.bad_credentials):
        info = await service.verify(
            env, body.login, body.server, body.is_investor, body.password.get_secret_value
        )
    user_id = session_user_id(body.login, body.server, body.is_investor)
    try:
        async with session_scope(env.sessionmaker) as session:
            row = await store.save(
                session,
                env.keyring,
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
