"""The FastAPI application: ``create_app()`` builds it from settings.

Nothing connects at import time. Start it with ``uvicorn --factory gateway.main:create_app``.

- Its lifespan (``gateway/lifespan.py``) owns every resource: database, keyring, terminals
  and their pool, replicas, background work.
- ``install_middleware``: around every request, outermost first, the request log
  (``gateway.logs``: request id, one JSON access line), CORS, gzip, the last-resort error
  handler (``gateway.errors.UnhandledErrors``), metrics.
- ``include_routers``: ``/health`` and the bearer-protected ``/api/v1`` routers.
- ``install_parts``: the parts that install themselves (identity, docs, console, replicas,
  the stream), with their own routes, middleware or lifespan wrappers.

Settings that fail validation stop the process with one log line that quotes no input.
"""

from __future__ import annotations

import logging
import os

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import ValidationError
from starlette.middleware.gzip import GZipMiddleware

from gateway.accounts.router import router as accounts_router
from gateway.accounts.router import servers_router
from gateway.audit.router import router as audit_router
from gateway.auth.admin import router as admin_router
from gateway.auth.devkeys import load_settings, with_dev_secrets
from gateway.auth.install import install_identity
from gateway.auth.router import router as auth_router
from gateway.broadcast.router import router as broadcast_router
from gateway.broadcast.router import tags_router
from gateway.calculate.router import router as calculate_router
from gateway.config import Settings
from gateway.console.router import install_console, install_docs
from gateway.deps import get_current_user
from gateway.errors import ERROR_RESPONSES, UnhandledErrors, install_error_handlers
from gateway.health.router import admin_router as admin_pool_router
from gateway.health.router import router as health_router
from gateway.history.router import router as history_router
from gateway.journal.router import router as journal_router
from gateway.lifespan import lifespan_of
from gateway.logs import RequestLogMiddleware, configure_from_settings, configure_logging
from gateway.market.router import router as market_router
from gateway.metrics import Metrics, install_metrics
from gateway.portfolio.router import router as portfolio_router
from gateway.replicas.service import install_replicas
from gateway.stream.install import install_stream
from gateway.trading.router import router as trading_router

__all__ = ["create_app"]

log = logging.getLogger("gateway")

API_PREFIX = "/api/v1"
# What browsers may send (Idempotency-Key for trades, X-Request-ID to tie a report to our log
# line, X-API-Key for bots) and read back (Retry-After of 429/503, our request id).
CORS_ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Request-ID",
    "X-API-Key",
]
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID"]
# Under API_PREFIX, each behind the bearer dependency; in this order in the OpenAPI document.
BEARER_ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    admin_router,
    admin_pool_router,
    accounts_router,
    servers_router,
    portfolio_router,
    market_router,
    trading_router,
    history_router,
    audit_router,
    calculate_router,
    journal_router,
    broadcast_router,
    tags_router,
)


def settings_or_exit() -> Settings:
    """Settings from the environment; invalid ones end the process after one log line that
    names the fields and rules broken, never the values given (they may be secrets)."""
    try:
        return load_settings()
    except ValidationError as exc:
        level = os.environ.get("LOG_LEVEL", "INFO").upper()
        text = os.environ.get("LOG_FORMAT", "").lower() == "text"
        configure_logging(
            level if level in logging.getLevelNamesMapping() else "INFO", "text" if text else "json"
        )
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        log.critical("refusing to start, invalid settings: %s", problems)
        raise SystemExit(2) from None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = with_dev_secrets(settings) if settings is not None else settings_or_exit()
    configure_from_settings(settings)
    metrics = Metrics()
    app = FastAPI(
        title="MT5 Gateway",
        version="0.1.0",
        description="MetaTrader 5 over HTTP, for Supabase-authenticated users.",
        lifespan=lifespan_of(settings, metrics),
        docs_url=None,  # Swagger UI is served from local files by install_docs (no CDN)
        redoc_url=None,
    )
    install_middleware(app, settings, metrics)
    include_routers(app)
    install_parts(app, settings)
    return app


def install_middleware(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    """Error handlers and the middleware stack (``add_middleware`` wraps what is there: the
    last added runs first, so the request log is outermost)."""
    install_error_handlers(app)
    install_metrics(app, metrics)
    app.add_middleware(UnhandledErrors)
    if settings.gzip_level:  # bodies of 1 KB and more, when the client accepts gzip
        app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=settings.gzip_level)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials="*" not in settings.cors_origins,
            allow_methods=["*"],
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
        )
    app.add_middleware(RequestLogMiddleware)


def include_routers(app: FastAPI) -> None:
    """``/health``, then the ``/api/v1`` routers behind the bearer dependency (the order of
    the OpenAPI document)."""
    app.include_router(health_router)
    for router in BEARER_ROUTERS:
        app.include_router(
            router,
            prefix=API_PREFIX,
            dependencies=[Depends(get_current_user)],
            responses=ERROR_RESPONSES,
        )


def install_parts(app: FastAPI, settings: Settings) -> None:
    """The parts that install themselves after the routers: each adds its own routes, and some
    their own middleware or a wrapper around the lifespan."""
    install_identity(app)  # API keys, MT5-credential sessions (gateway/auth/install.py)
    install_docs(app)
    if settings.console:
        install_console(app, settings)
    install_replicas(app)  # forwarding between replicas; does nothing with REPLICA_LEASES off
    install_stream(app)  # the stream authenticates itself: no bearer dependency
