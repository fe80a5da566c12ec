"""/health (liveness, always 200) and /health/ready (200 only with a broker-connected terminal)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.deps import PoolDep, SettingsDep
from gateway.health import service
from gateway.health.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(request: Request, pool: PoolDep, settings: SettingsDep) -> HealthResponse:
    """Gateway and terminal status; no authentication."""
    return await service.health(
        request.state.terminals, pool, request.state.verifier, settings.terminal_connect_timeout_s
    )


@router.get(
    "/health/ready",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "No terminal connected to a broker"}},
)
async def ready(request: Request, pool: PoolDep, settings: SettingsDep) -> JSONResponse:
    """Readiness for load balancers: 200 only when a terminal is connected to its broker."""
    result = await service.health(
        request.state.terminals, pool, request.state.verifier, settings.terminal_connect_timeout_s
    )
    status = 200 if result.mt5_connected else 503
    headers = {} if status == 200 else {"Retry-After": "5"}
    return JSONResponse(result.model_dump(mode="json"), status_code=status, headers=headers)
