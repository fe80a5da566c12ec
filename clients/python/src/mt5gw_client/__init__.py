"""Python client of the MT5 Gateway.

>>> from mt5gw_client import Client, StaticToken
>>> with Client("http://127.0.0.1:8000", auth=StaticToken(token)) as mt5:
...     mt5.account_info().balance
"""

from . import errors, models
from .auth import ApiKey, StaticToken, SupabaseSession, TokenCallback, TokenProvider
from .client import AsyncClient, Client, new_idempotency_key
from .errors import ApiError, ConnectionFailed, MT5GatewayError
from .retry import RetryPolicy

__all__ = [
    "ApiError",
    "ApiKey",
    "AsyncClient",
    "Client",
    "ConnectionFailed",
    "MT5GatewayError",
    "RetryPolicy",
    "StaticToken",
    "SupabaseSession",
    "TokenCallback",
    "TokenProvider",
    "errors",
    "models",
    "new_idempotency_key",
]
__version__ = "0.1.0"
