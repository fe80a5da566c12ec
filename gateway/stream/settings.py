"""The settings of the stream, the event log and webhooks: the fields of the same name of the
gateway's ``Settings`` (gateway/config.py, where their defaults, bounds and documentation live),
picked off once at start so the hot paths read a small frozen object.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class StreamSettings:
    stream_quote_interval_s: float
    stream_account_interval_s: float
    stream_away_poll_s: float
    stream_event_retention_s: float
    stream_max_connections_per_user: int
    stream_max_symbols_per_user: int
    stream_client_queue: int
    stream_send_timeout_s: float
    stream_ping_s: float
    stream_auth_timeout_s: float
    stream_auth_warning_s: float
    stream_watch_linger_s: float
    webhook_allow_private_targets: bool
    webhook_retry_window_s: float
    webhook_backoff_base_s: float
    webhook_timeout_s: float
    webhook_max_per_user: int

    @classmethod
    def from_settings(cls, settings: Any) -> StreamSettings:
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})
