"""Gateway settings: one pydantic-settings class read from the environment and ``.env``.

Environment variables always win. In development, secrets that are not configured are generated
once and kept in ``DEV_SECRETS_FILE`` (see ``gateway.auth.devkeys``); production refuses to start
without ``SUPABASE_URL`` or with a placeholder/dev JWT secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SUPABASE_URL = "http://127.0.0.1:54321"  # what `supabase start` serves locally
DEV_SECRET_PREFIX = "dev-only-"
PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "secret",
        "your-jwt-secret",
        "super-secret-jwt-token-with-at-least-32-characters-long",
        "your-super-secret-jwt-token-with-at-least-32-characters-long",
    }
)
_ENDPOINT = re.compile(
    r"^(?:(?P<name>[A-Za-z0-9_.-]{1,40})=)?(?P<host>[A-Za-z0-9_.:\[\]-]+):(?P<port>\d{1,5})$"
)


@dataclass(frozen=True, slots=True)
class TerminalEndpoint:
    """Where one terminal server listens."""

    name: str
    host: str
    port: int


def parse_terminals(spec: str) -> list[TerminalEndpoint]:
    """``"mt5a=10.0.0.5:8001,mt5b=10.0.0.6:8001"`` → endpoints; names default to ``mt5-<n>``."""
    endpoints: list[TerminalEndpoint] = []
    for index, item in enumerate(p.strip() for p in spec.split(",") if p.strip()):
        match = _ENDPOINT.match(item)
        if match is None or not 0 < int(match["port"]) < 65536:
            raise ValueError(f"bad terminal endpoint {item!r}; expected name=host:port")
        name = match["name"] or f"mt5-{index + 1}"
        endpoints.append(TerminalEndpoint(name, match["host"].strip("[]"), int(match["port"])))
    if len({e.name for e in endpoints}) != len(endpoints):
        raise ValueError("terminal names must be unique")
    return endpoints


def parse_offsets(spec: str) -> dict[str, int]:
    """``"Sim-Demo=7200,Other=10800"`` → {server: seconds east of UTC}."""
    offsets: dict[str, int] = {}
    for item in (p.strip() for p in spec.split(",") if p.strip()):
        server, sep, value = item.rpartition("=")
        if not sep or not server or not re.fullmatch(r"[+-]?\d{1,6}", value):
            raise ValueError(f"bad server offset {item!r}; expected Server=seconds")
        if abs(int(value)) > 14 * 3600:
            raise ValueError(f"server offset out of range in {item!r}")
        offsets[server.strip()] = int(value)
    return offsets


_LIST_FIELDS = {
    "cors_origins",
    "admin_user_ids",
    "allowed_user_ids",
    "known_servers",
    "auth_issuers",
}
AUTH_ISSUERS = ("supabase", "gateway")  # who may sign the tokens the gateway accepts


def _is_placeholder(secret: str) -> bool:
    """An empty, example, template ("REPLACE_...") or generated development secret."""
    text = secret.strip().lower()
    return text in PLACEHOLDER_SECRETS or "replace" in text or DEV_SECRET_PREFIX in text


class Settings(BaseSettings):
    """Every setting of the gateway (README has the table)."""

    # Validation errors never quote input: a refused production start would otherwise print
    # pieces of DEFAULT_ACCOUNT_PASSWORD, MT5_ENCRYPTION_KEYS or SUPABASE_JWT_SECRET.
    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
        env_ignore_empty=True,  # `SUPABASE_JWT_SECRET=` in an env file means unset, not ""
    )

    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"  # `make run` sets text

    supabase_url: str | None = None
    supabase_jwt_issuer: str | None = None
    supabase_jwks_url: str | None = None
    supabase_jwt_secret: SecretStr | None = None
    jwt_audience: str = "authenticated"
    jwks_cache_s: float = Field(default=600.0, gt=0)
    jwks_min_refresh_s: float = Field(default=30.0, ge=0)
    jwks_timeout_s: float = Field(default=5.0, gt=0)

    database_url: str = "sqlite+aiosqlite:///./data/gateway.db"

    terminals: str = "sim"
    terminal_secret: SecretStr | None = None
    terminal_secrets: SecretStr | None = None  # name=secret,…: each terminal's own secret
    terminal_tls_ca_file: Path | None = None  # mutual TLS: the CA of the terminal servers' certs
    terminal_tls_cert_file: Path | None = None  # ... and this gateway's client certificate
    terminal_tls_key_file: Path | None = None
    terminal_timeout_s: float = Field(default=90.0, gt=0)
    terminal_connect_timeout_s: float = Field(default=5.0, gt=0)
    request_timeout_s: float = Field(default=30.0, gt=0)  # per-request wait for a pool terminal
    sim_start_timeout_s: float = Field(default=60.0, gt=0)
    sim_terminals: int = Field(default=2, ge=1, le=16)

    # The live stream, the event log and webhooks (gateway/stream, gateway/events, webhooks).
    stream_quote_interval_s: float = Field(default=0.25, gt=0, le=60)
    stream_account_interval_s: float = Field(default=1.0, gt=0, le=600)
    stream_away_poll_s: float = Field(default=60.0, ge=0, le=86_400)
    stream_event_retention_s: float = Field(default=86_400.0, ge=1, le=30 * 86_400)
    stream_max_connections_per_user: int = Field(default=5, ge=1, le=1000)
    stream_max_symbols_per_user: int = Field(default=100, ge=1, le=10_000)
    stream_client_queue: int = Field(default=1000, ge=10, le=1_000_000)
    stream_send_timeout_s: float = Field(default=30.0, gt=0, le=600)
    stream_ping_s: float = Field(default=20.0, gt=0, le=600)
    stream_auth_timeout_s: float = Field(default=5.0, gt=0, le=60)
    stream_auth_warning_s: float = Field(default=60.0, ge=0, le=3600)
    stream_watch_linger_s: float = Field(default=30.0, ge=0, le=3600)
    webhook_allow_private_targets: bool = False
    webhook_retry_window_s: float = Field(default=86_400.0, gt=0, le=7 * 86_400)
    webhook_backoff_base_s: float = Field(default=5.0, gt=0, le=3600)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
    webhook_max_per_user: int = Field(default=20, ge=1, le=1000)

    pool_queue_limit: int = Field(default=256, ge=1)
    pool_user_limit: int = Field(default=8, ge=1)
    pool_fairness_batch: int = Field(default=16, ge=1)
    pool_health_interval_s: float = Field(default=5.0, gt=0)
    pool_login_timeout_s: float = Field(default=60.0, gt=0)

    # The trade journal (gateway/journal): background sync of opted-in accounts; 0: off.
    journal_auto_sync_s: float = Field(default=300.0, ge=0, le=86_400)

    mt5_encryption_keys: SecretStr | None = None
    admin_user_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allowed_user_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    known_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)

    default_account_login: int = Field(default=10001, ge=0)  # 0: no configured account
    default_account_password: SecretStr = SecretStr("demo-10001")
    default_account_server: str = "Sim-Demo"
    server_utc_offsets: str = ""

    login_throttle_free_attempts: int = Field(default=5, ge=1, le=1000)
    login_throttle_base_s: float = Field(default=30.0, gt=0)
    login_throttle_max_s: float = Field(default=900.0, gt=0)
    login_throttle_window_s: float = Field(default=86_400.0, gt=0)

    # Identity beyond Supabase sessions: API keys (gateway/keys), MT5-credential sessions
    # (gateway/sessions). AUTH_ISSUERS: supabase (SUPABASE_URL's tokens), gateway (our own).
    auth_issuers: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["supabase"])
    mt5_login_sessions: bool = False
    session_jwt_secret: SecretStr | None = None
    session_jwt_issuer: str = Field(default="mt5-gateway", min_length=1, max_length=255)
    session_ttl_s: float = Field(default=86_400.0, ge=60, le=30 * 86_400)
    api_key_cache_s: float = Field(default=5.0, ge=0, le=60)
    api_keys_per_user: int = Field(default=50, ge=1, le=10_000)

    # Several gateway replicas sharing the terminals through PostgreSQL (gateway/replicas).
    replica_leases: bool = False  # lease terminals in the store; off: this gateway holds all
    replica_id: str = Field(default="", max_length=120, pattern=r"^[A-Za-z0-9._:-]*$")
    replica_address: str = Field(default="", max_length=2048)  # http://10.0.0.5:8000
    replica_secret: SecretStr | None = None  # shared by the replicas; proves a forwarded request
    replica_lease_ttl_s: float = Field(default=10.0, ge=1, le=600)
    replica_forward_timeout_s: float = Field(default=190.0, gt=0, le=3600)

    gzip_level: int = Field(default=1, ge=0, le=9)  # 0: never compress (nginx may, instead)

    console: bool = False  # the operator console at /console (`make run` turns it on)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    dev_secrets_file: Path = Path("./data/dev-secrets.json")

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in list(data):
                if str(key).lower() in _LIST_FIELDS and isinstance(data[key], str):
                    data[key] = [o.strip() for o in data[key].split(",") if o.strip()]
        return data

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.terminals.strip().lower() != "sim":
            names = {e.name for e in parse_terminals(self.terminals)}
            unknown = set(self.per_terminal_secrets()) - names
            if unknown:
                raise ValueError("TERMINAL_SECRETS names terminals TERMINALS does not have")
        parse_offsets(self.server_utc_offsets)
        self._check_identity()
        if self.is_production:
            self._check_production()
        return self

    def _check_identity(self) -> None:
        unknown = set(self.auth_issuers) - set(AUTH_ISSUERS)
        if unknown or not self.auth_issuers:
            raise ValueError("AUTH_ISSUERS: a comma-separated list of supabase, gateway")
        if self.mt5_login_sessions and "gateway" not in self.auth_issuers:
            raise ValueError("MT5_LOGIN_SESSIONS=true needs gateway in AUTH_ISSUERS")
        if self.accepts_gateway_tokens and self.session_jwt_issuer.rstrip("/") == self.jwt_issuer:
            raise ValueError("SESSION_JWT_ISSUER must differ from the Supabase issuer")
        if self.is_production and self.accepts_gateway_tokens:
            secret = self.session_jwt_secret
            text = secret.get_secret_value() if secret is not None else ""
            if _is_placeholder(text) or len(text) < 32:
                raise ValueError("SESSION_JWT_SECRET is missing, short (< 32), or a placeholder")

    @property
    def accepts_supabase_tokens(self) -> bool:
        return "supabase" in self.auth_issuers

    @property
    def accepts_gateway_tokens(self) -> bool:
        return "gateway" in self.auth_issuers

    def _check_production(self) -> None:
        # Without supabase in AUTH_ISSUERS (MT5-credential sessions and API keys only) there
        # is no Supabase project to name.
        supabase = self.supabase_url or (self.supabase_jwt_issuer and self.supabase_jwks_url)
        if self.accepts_supabase_tokens and not supabase:
            raise ValueError("production needs SUPABASE_URL (or SUPABASE_JWT_ISSUER + JWKS URL)")
        if self.supabase_jwt_secret is not None:
            secret = self.supabase_jwt_secret.get_secret_value()
            if _is_placeholder(secret) or len(secret) < 32:
                raise ValueError("SUPABASE_JWT_SECRET is a placeholder or dev secret")
        for name in ("terminal_secret", "mt5_encryption_keys", "replica_secret"):
            value: SecretStr | None = getattr(self, name)
            if value is not None and _is_placeholder(value.get_secret_value()):
                raise ValueError(f"{name.upper()} is a placeholder or dev secret")
        for terminal, secret in self.per_terminal_secrets().items():
            if _is_placeholder(secret):
                raise ValueError(f"TERMINAL_SECRETS: the secret of {terminal} is a placeholder")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def uses_embedded_sim(self) -> bool:
        return self.terminals.strip().lower() == "sim"

    @property
    def jwt_issuer(self) -> str:
        if self.supabase_jwt_issuer:
            return self.supabase_jwt_issuer.rstrip("/")
        return f"{(self.supabase_url or DEV_SUPABASE_URL).rstrip('/')}/auth/v1"

    @property
    def jwks_url(self) -> str | None:
        """The JWKS to fetch, or None in local development where the dev key pair is used."""
        if self.supabase_jwks_url:
            return self.supabase_jwks_url
        if self.supabase_url or self.supabase_jwt_issuer:
            return f"{self.jwt_issuer}/.well-known/jwks.json"
        return None

    def per_terminal_secrets(self) -> dict[str, str]:
        """``TERMINAL_SECRETS`` (``name=secret,…``) as {terminal name: secret}."""
        if self.terminal_secrets is None:
            return {}
        found: dict[str, str] = {}
        for item in self.terminal_secrets.get_secret_value().split(","):
            name, sep, secret = item.strip().partition("=")
            if not sep or not name or not secret:
                raise ValueError("TERMINAL_SECRETS: expected name=secret, comma-separated")
            found[name] = secret
        return found

    def secret_for(self, terminal: str) -> str | None:
        """The RPyC secret of ``terminal``: its own (``TERMINAL_SECRETS``), else the shared one."""
        own = self.per_terminal_secrets().get(terminal)
        if own is not None:
            return own
        return self.terminal_secret.get_secret_value() if self.terminal_secret else None

    def terminal_endpoints(self) -> list[TerminalEndpoint]:
        return [] if self.uses_embedded_sim else parse_terminals(self.terminals)

    def utc_offsets(self) -> dict[str, int]:
        return parse_offsets(self.server_utc_offsets)

    @property
    def has_default_account(self) -> bool:
        """A single-tenant account is configured (``DEFAULT_ACCOUNT_LOGIN`` > 0)."""
        return self.default_account_login > 0 and bool(self.default_account_server)

    def may_use_default_account(self, user_id: str) -> bool:
        """``ALLOWED_USER_IDS`` lists who may; empty means everyone in development, nobody in
        production (a production single-tenant deployment names its users explicitly)."""
        if not self.has_default_account:
            return False
        if self.allowed_user_ids:
            return user_id in self.allowed_user_ids
        return not self.is_production
