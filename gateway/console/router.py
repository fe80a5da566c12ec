"""Routes of the console and of the offline API documentation.

- ``install_docs(app)``: ``/docs``, Swagger UI from this package's static files (no CDN), for
  every gateway. FastAPI's own CDN pages should be off (``FastAPI(docs_url=None,
  redoc_url=None)``); any ``/docs`` or ``/redoc`` route already there is removed.
- ``install_console(app, settings)``: ``/console`` (the page), ``/console/config.json`` (the
  development token: only outside production, only signed with the gateway's generated dev
  keys, and only to a caller on this machine) and ``/console/static/*``; only when
  ``CONSOLE=true``.

Every page is sent with a strict Content-Security-Policy: scripts and styles only from this
origin (no inline script or style anywhere), connections only to this origin (HTTP and its
WebSocket), no framing.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from gateway.config import Settings
from gateway.console.devtoken import dev_token

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"  # served as /console/static/*
PAGES = HERE / "pages"  # served only through page(), with the CSP
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")  # FastAPI's CDN pages
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def local_caller(request: Request) -> bool:
    """The request comes from this machine: a loopback peer, and not relayed by a proxy (behind
    nginx, uvicorn's --proxy-headers makes the peer the real client; without it, every caller
    would look local, so a request carrying a forwarding header never counts as local)."""
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
    return loopback and not any(name in request.headers for name in PROXY_HEADERS)


def content_security_policy(request: Request) -> str:
    host = request.headers.get("host", "")
    sockets = f" ws://{host} wss://{host}" if host else ""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self'{sockets}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def page(request: Request, name: str) -> Response:
    response = FileResponse(PAGES / name, media_type="text/html")
    response.headers.update(
        {
            "Content-Security-Policy": content_security_policy(request),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }
    )
    return response


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` from local files (once per app)."""
    if getattr(app.state, "offline_docs", False):
        return
    app.state.offline_docs = True
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", None) not in DOCS_PATHS
    ]
    docs = APIRouter(include_in_schema=False)

    @docs.get("/docs")
    async def swagger(request: Request) -> Response:
        return page(request, "docs.html")

    app.include_router(docs)
    _mount_static(app)


def install_console(app: FastAPI, settings: Settings) -> None:
    """Serve the operator console at ``/console``."""
    console = APIRouter(include_in_schema=False)

    @console.get("/console")
    async def index(request: Request) -> Response:
        return page(request, "index.html")

    @console.get("/console/config.json")
    async def config(request: Request) -> Any:
        token = dev_token(settings) if local_caller(request) else None
        body = {"dev_token": token, "environment": settings.environment}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    app.include_router(console)
    _mount_static(app)


def _mount_static(app: FastAPI) -> None:
    if not any(getattr(r, "path", None) == "/console/static" for r in app.router.routes):
        app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
