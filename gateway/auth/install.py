"""Wiring of identity beyond Supabase sessions into the app: ``install_identity(app)``.

- routes: ``/api/v1/keys`` (behind the bearer dependency), ``POST /api/v1/login`` (public,
  throttled; off unless ``MT5_LOGIN_SESSIONS``) and ``POST /api/v1/logout``;
- the lifespan state gains ``authenticator`` (what ``get_current_user`` and the stream use),
  ``api_keys`` and ``session_tokens``, built from the gateway's own resources;
- the audit trail names the API key of every action taken with one (``gateway.keys.audit``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from gateway.auth.authenticator import Authenticator
from gateway.config import Settings
from gateway.deps import get_current_user
from gateway.errors import ERROR_RESPONSES
from gateway.keys.audit import KeyAuditMiddleware, install_audit_hook
from gateway.keys.auth import KeyAuthenticator
from gateway.keys.router import router as keys_router
from gateway.sessions.router import login_router, logout_router
from gateway.sessions.tokens import SessionTokens

API_PREFIX = "/api/v1"


def identity_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The identity services for the lifespan ``state`` of a running gateway."""
    settings: Settings = state["settings"]
    keys = KeyAuthenticator(
        state["sessionmaker"],
        state["throttle"],
        cache_s=settings.api_key_cache_s,
        admin_ids=frozenset(settings.admin_user_ids),
    )
    sessions = None
    if settings.accepts_gateway_tokens:
        secret = settings.session_jwt_secret
        if secret is None:  # pragma: no cover - Settings and with_dev_secrets provide one
            raise RuntimeError("SESSION_JWT_SECRET is required when AUTH_ISSUERS has gateway")
        sessions = SessionTokens(
            issuer=settings.session_jwt_issuer,
            secret=secret.get_secret_value(),
            ttl_s=settings.session_ttl_s,
            sessionmaker=state["sessionmaker"],
            cache_s=settings.api_key_cache_s,
        )
    authenticator = Authenticator(
        supabase=state["verifier"] if settings.accepts_supabase_tokens else None,
        keys=keys,
        sessions=sessions,
    )
    return {"authenticator": authenticator, "api_keys": keys, "session_tokens": sessions}


def install_identity(app: FastAPI) -> None:
    install_audit_hook()
    app.add_middleware(KeyAuditMiddleware)
    app.include_router(login_router, prefix=API_PREFIX)
    app.include_router(logout_router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    app.include_router(
        keys_router,
        prefix=API_PREFIX,
        dependencies=[Depends(get_current_user)],
        responses=ERROR_RESPONSES,
    )
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        async with inner(app_) as state:
            assert state is not None, "the gateway lifespan yields its state"
            yield {**state, **identity_state(state)}

    app.router.lifespan_context = lifespan
