"""Audit log entries as the API returns them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditItem(BaseModel):
    id: int
    at: datetime
    user_id: str
    account_id: str | None
    action: str
    request: dict[str, Any] | None
    outcome: dict[str, Any] | None
    retcode: int | None


class AuditPage(BaseModel):
    entries: list[AuditItem]
    next_before_id: int | None
