"""The gateway as ``make bench`` measures compression: ``gateway.main.create_app()`` with
Starlette's ``GZipMiddleware(minimum_size=1024, compresslevel=GZIP_LEVEL)`` added when the app
does not compress already (the change proposed for ``gateway/main.py``), so its cost is in the
report either way.

    uvicorn --factory bench.gzip_app:create_app
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from gateway.main import create_app as create_gateway

MINIMUM_SIZE = 1024
LEVEL = int(os.environ.get("GZIP_LEVEL", "1"))


def compresses(app: FastAPI) -> bool:
    return any(m.cls is GZipMiddleware for m in app.user_middleware)


def create_app() -> FastAPI:
    app = create_gateway()
    if not compresses(app):
        app.add_middleware(GZipMiddleware, minimum_size=MINIMUM_SIZE, compresslevel=LEVEL)
        app.state.bench_added_gzip = True
    return app
