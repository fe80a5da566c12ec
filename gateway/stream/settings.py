"""The settings of the stream, the event log and webhooks, with their defaults.

Each field is read from the gateway's ``Settings`` when it has one of the same name (the lead
adds them there, see ``docs/stream.md``), so ``STREAM_QUOTE_INTERVAL_S=0.5`` in the environment
works like any other setting; until then the defaults below apply. Tests build one directly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class StreamSettings:
    stream_quote_interval_s: float = 0.25  # one quote/bar poll per broker server this often
    stream_account_interval_s: float = 1.0  # one poll per followed, resident account this often
    stream_away_poll_s: float = (
        60.0  # visit an away account this often when the pool is idle; 0: never
    )
    stream_event_retention_s: float = 86400.0  # how long events stay replayable
    stream_max_connections_per_user: int = 5
    stream_max_symbols_per_user: int = 100  # quotes and bars together, over all connections
    stream_client_queue: int = 1000  # undelivered messages a client may owe before 4008
    stream_send_timeout_s: float = 30.0  # one message stuck this long: the client is dead (4008)
    stream_ping_s: float = 20.0  # heartbeat message interval
    stream_auth_timeout_s: float = 5.0  # the first message (auth) must arrive within this
    stream_auth_warning_s: float = 60.0  # auth_expiring this long before the token expires
    stream_watch_linger_s: float = 30.0  # keep polling an account this long after its last reader
    webhook_allow_private_targets: bool = False  # tests and private networks only
    webhook_retry_window_s: float = 86400.0  # retry a failing endpoint this long, then disable it
    webhook_backoff_base_s: float = 5.0  # first retry after this; doubling, at most an hour
    webhook_timeout_s: float = 10.0
    webhook_max_per_user: int = 20

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> StreamSettings:
        """Pick our fields off the gateway settings (where present), then ``overrides``."""
        values = {
            f.name: getattr(settings, f.name) for f in fields(cls) if hasattr(settings, f.name)
        }
        values.update(overrides)
        return cls(**values)
