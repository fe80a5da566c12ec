"""Logs an operator can read: one JSON object per line, one access line per request.

- :func:`configure_logging` sends every record of the process (the gateway's loggers and
  uvicorn's) to stderr through one handler: JSON (``LOG_FORMAT=json``, the default) or a human
  line (``LOG_FORMAT=text``, what ``make run`` uses). uvicorn's own access log is switched off:
  :class:`RequestLogMiddleware` writes a better one.
- :class:`RequestLogMiddleware` gives each request an id (the client's ``X-Request-ID`` when it
  is a sane token, else a new one), echoes it in the response and, when the request ends, logs
  ``gateway.access``: method, route *template* (never the raw path or query, which may carry
  ids and tokens), status, duration, the terminal that served it, the account id (never the MT5
  login), the user as a short hash of their id and, for a request made with an API key, the key's
  public prefix (``api_key``; never the secret).
- Every record logged while a request runs carries its ``request_id``; code deeper down adds
  the terminal or account with :func:`note`.
- Configured secrets (JWT secret, encryption keys, terminal secret, the single-tenant password,
  the database password) are masked in every line as a last line of defence; the code does not
  log secrets in the first place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import make_url
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import Settings

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
QUIET_ROUTES = frozenset({"/health", "/health/ready", "/metrics"})  # probes: access at DEBUG
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")
# Libraries that log SQL with its parameters or every outgoing request at DEBUG/INFO: they
# stay at WARNING whatever LOG_LEVEL says (it is the gateway's own level).
QUIET_LIBRARIES = ("aiosqlite", "asyncpg", "sqlalchemy", "httpx", "httpcore", "rpyc")
MIN_SECRET_LEN = 6
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "rid",
    "color_message",  # uvicorn's coloured copy of the message
    "taskName",
}
MASK = "***"


@dataclass
class RequestInfo:
    """What the access line of the current request will say."""

    request_id: str
    terminal: str | None = None
    account_id: str | None = None
    user: str | None = None
    api_key: str | None = None  # the key's public prefix


_current: ContextVar[RequestInfo | None] = ContextVar("mt5gw_request", default=None)


def current_request_id() -> str | None:
    info = _current.get()
    return info.request_id if info is not None else None


def user_hash(user_id: str) -> str:
    """A short, stable stand-in for a user id in logs."""
    return hashlib.sha256(user_id.encode()).hexdigest()[:12]


def note(
    *,
    terminal: str | None = None,
    account_id: str | None = None,
    user_id: str | None = None,
    api_key: str | None = None,
) -> None:
    """Tell the current request's access line which terminal/account/user it involved, and the
    public prefix of the API key it came with (``api_key``: the prefix only, never a secret)."""
    info = _current.get()
    if info is None:
        return
    if terminal is not None:
        info.terminal = terminal
    if account_id is not None:
        info.account_id = account_id
    if user_id is not None:
        info.user = user_hash(user_id)
    if api_key is not None:
        info.api_key = api_key


class _RequestFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class _Masking(logging.Formatter):
    """Replaces any configured secret in the finished line."""

    def __init__(self, secrets: tuple[str, ...], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.secrets = secrets

    def mask(self, line: str) -> str:
        for secret in self.secrets:
            if secret in line:
                line = line.replace(secret, MASK)
        return line


class JsonFormatter(_Masking):
    """One JSON object per record: time, level, logger, message, request_id and extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and value is not None and not key.startswith("_"):
                out[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            out["exc_type"] = record.exc_info[0].__name__
            out["traceback"] = self.formatException(record.exc_info)
        return self.mask(json.dumps(out, default=str, ensure_ascii=False))


class TextFormatter(_Masking):
    """``time LEVEL logger [request id] message key=value…`` for people at a terminal."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__(secrets, "%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.rid = f" [{rid}]" if rid else ""
        extras = [
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _RECORD_FIELDS and k != "request_id" and v is not None
        ]
        line = super().format(record)
        return self.mask(f"{line} {' '.join(extras)}" if extras else line)


def configured_secrets(settings: Settings) -> tuple[str, ...]:
    """Secret values from settings, longest first (so a longer one is masked whole)."""
    values = [
        s.get_secret_value()
        for s in (
            settings.supabase_jwt_secret,
            settings.mt5_encryption_keys,
            settings.terminal_secret,
            settings.default_account_password,
            settings.session_jwt_secret,
        )
        if s is not None
    ]
    with contextlib.suppress(ValueError):  # a malformed list is refused at start, on its own
        values += settings.per_terminal_secrets().values()
    if settings.mt5_encryption_keys is not None:  # each key alone, without its id
        for entry in settings.mt5_encryption_keys.get_secret_value().split(","):
            values.append(entry.partition(":")[2].strip())
    with contextlib.suppress(Exception):  # an unparsable URL fails elsewhere, on its own
        values.append(make_url(settings.database_url).password or "")
    usable = {v for v in values if len(v) >= MIN_SECRET_LEN}
    return tuple(sorted(usable, key=len, reverse=True))


_HANDLER_MARK = "_mt5gw_handler"


def configure_logging(
    level: str, fmt: Literal["json", "text"], secrets: tuple[str, ...] = ()
) -> None:
    """Route every log record of the process through one stderr handler in ``fmt``.

    Safe to call again (the handler is replaced, not added twice)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter(secrets) if fmt == "json" else TextFormatter(secrets))
    handler.addFilter(_RequestFilter())
    root.addHandler(handler)
    # Other libraries log at INFO at most; DEBUG is for the gateway's own loggers.
    root.setLevel(max(logging.getLevelName(level), logging.INFO))
    logging.getLogger("gateway").setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in UVICORN_LOGGERS:  # uvicorn's own handlers would print a second, plain copy
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True


def configure_from_settings(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format, configured_secrets(settings))


def route_template(scope: Scope) -> str:
    """The matched route's path with its parameters as ``{name}``; ``unmatched`` if none.

    Included routers report their route relative to the router's prefix, so the prefix is
    taken from the concrete path (it contains no parameters)."""
    route = scope.get("route")
    relative = getattr(route, "path", None)
    if not isinstance(relative, str):
        return "unmatched"
    params = {k: str(v) for k, v in scope.get("path_params", {}).items()}
    try:
        concrete = relative.format(**params)
    except (KeyError, IndexError, ValueError):
        return relative
    path: str = scope["path"]
    return path[: len(path) - len(concrete)] + relative if path.endswith(concrete) else relative


class RequestLogMiddleware:
    """Request ids and one ``gateway.access`` line per HTTP request (plain ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("gateway.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        info = RequestInfo(request_id=_incoming_id(scope) or uuid.uuid4().hex)
        token = _current.set(info)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, info.request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
            if scope["type"] == "http":
                self._access(scope, info, status, time.perf_counter() - started)

    def _access(self, scope: Scope, info: RequestInfo, status: int, seconds: float) -> None:
        route = route_template(scope)
        level = logging.DEBUG if route in QUIET_ROUTES and status < 500 else logging.INFO
        if not self.log.isEnabledFor(level):
            return
        params = scope.get("path_params") or {}
        account_id = info.account_id or params.get("account_id") or _query_account(scope)
        self.log.log(
            level,
            "%s %s %d",
            scope["method"],
            route,
            status,
            extra={
                "request_id": info.request_id,
                "method": scope["method"],
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
                "terminal": info.terminal,
                "account_id": account_id,
                "user": info.user,
                "api_key": info.api_key,
            },
        )


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            return text if _SANE_ID.match(text) else None
    return None


_ACCOUNT_QUERY = re.compile(r"(?:^|&)account_id=([A-Za-z0-9-]{1,64})(?:&|$)")


def _query_account(scope: Scope) -> str | None:
    match = _ACCOUNT_QUERY.search(scope.get("query_string", b"").decode("latin-1"))
    return match.group(1) if match else None
