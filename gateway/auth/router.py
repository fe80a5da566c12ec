"""/api/v1/me: who the gateway thinks the caller is (handy when wiring up a frontend)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.auth.schemas import User
from gateway.deps import CurrentUser

router = APIRouter(tags=["auth"])


@router.get("/me")
async def me(user: CurrentUser) -> User:
    """The verified subject of the bearer token."""
    return user
