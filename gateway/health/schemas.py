"""Health answers (seed contract: status, mt5_available, mt5_connected, account, timestamp)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TerminalHealth(BaseModel):
    name: str
    reachable: bool = Field(description="The terminal server answers")
    connected: bool = Field(description="The terminal is connected to its broker server")
    account: int | None = None
    server: str | None = None
    error: str | None = Field(default=None, description="Error code when not healthy")


class HealthResponse(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    mt5_available: bool = Field(description="At least one terminal server answers")
    mt5_connected: bool = Field(description="At least one terminal is connected to its broker")
    mt5_library: str
    supabase_available: bool | None = Field(
        description="Whether the last JWKS fetch worked (None: not fetched yet)"
    )
    account: int | None = Field(description="Login of the default terminal's account")
    timestamp: str = Field(description="Gateway UTC time, ISO-8601")
    terminals: list[TerminalHealth]
