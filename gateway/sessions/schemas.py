"""The answers of ``POST /api/v1/login`` and ``POST /api/v1/logout``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from gateway.accounts.schemas import AccountSummary


class LoginResponse(BaseModel):
    session_token: str = Field(description="Send as `Authorization: Bearer <session_token>`")
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    expires_in: int = Field(description="Seconds until it expires")
    user_id: str = Field(description="The gateway user of this MT5 login")
    account_id: str = Field(description="The stored account the session acts for")
    account_info: AccountSummary


class LogoutResponse(BaseModel):
    message: str
