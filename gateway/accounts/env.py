"""``EnvDep``: what the account services need of the running app, for one request.

Shared by the account routes and ``POST /api/v1/login`` (both prove credentials through the
login throttle). It reads the app's resources from ``request.state`` itself rather than through a
dependency each (FastAPI's own cost per dependency is larger than the read).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.accounts.service import Env


async def get_env(request: Request) -> Env:
    state = request.state
    return Env(
        settings=state.settings,
        pool=state.pool,
        keyring=state.keyring,
        sessionmaker=state.sessionmaker,
        configured_servers=state.known_servers,
        throttle=state.throttle,
        client_ip=request.client.host if request.client else None,
    )


EnvDep = Annotated[Env, Depends(get_env)]
