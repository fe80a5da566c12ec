"""/health (liveness, always 200), /health/ready (200 only with a broker-connected terminal),
both public and free of other users' data; /api/v1/admin/pool, the full detail, for admins."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from gateway.auth.admin import require_admin
from gateway.deps import PoolDep, SettingsDep
from gateway.health import service
from gateway.health.schemas import AdminPool, HealthResponse

router = APIRouter(tags=["health"])
admin_router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


async def _public(request: Request, pool: PoolDep, settings: SettingsDep) -> HealthResponse:
    full = await service.health(
        request.state.terminals, pool, request.state.verifier, settings.terminal_connect_timeout_s
    )
    return service.public(full, service.Shown.of(settings))


@router.get("/health")
async def health(request: Request, pool: PoolDep, settings: SettingsDep) -> HealthResponse:
    """Gateway and terminal status; no authentication, so no logins but the configured
    single-tenant account's and no error text (admins: `GET /api/v1/admin/pool`)."""
    return await _public(request, pool, settings)


@router.get(
    "/health/ready",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "No terminal connected to a broker"}},
)
async def ready(request: Request, pool: PoolDep, settings: SettingsDep) -> JSONResponse:
    """Readiness for load balancers: 200 only when a terminal is connected to its broker."""
    result = await _public(request, pool, settings)
    status = 200 if result.mt5_connected else 503
    headers = {} if status == 200 else {"Retry-After": "5"}
    return JSONResponse(result.model_dump(mode="json"), status_code=status, headers=headers)


@admin_router.get("/pool")
async def admin_pool(request: Request, pool: PoolDep, settings: SettingsDep) -> AdminPool:
    """Every terminal with the login and server it holds, the pool's queue, switch counts and
    last errors (admins only)."""
    full = await service.health(
        request.state.terminals, pool, request.state.verifier, settings.terminal_connect_timeout_s
    )
    return AdminPool(terminals=full.terminals, pool=full.pool)
