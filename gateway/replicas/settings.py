"""The settings of several gateway replicas: the ``REPLICA_*`` fields of the gateway's
``Settings`` (gateway/config.py has their defaults, bounds and documentation), secrets unwrapped
and the replica's id made up when none is configured."""

from __future__ import annotations

import os
import re
import secrets
import socket
from dataclasses import dataclass, fields, replace
from typing import Any

_SAFE_ID = re.compile(r"[^A-Za-z0-9._:-]")
MAX_ID = 120


@dataclass(frozen=True)
class ReplicaSettings:
    replica_leases: bool
    replica_id: str  # empty in Settings: hostname-pid-random, new at every start
    replica_address: str
    replica_secret: str
    replica_lease_ttl_s: float
    replica_forward_timeout_s: float

    @classmethod
    def from_settings(cls, settings: Any) -> ReplicaSettings:
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = getattr(settings, f.name)
            if hasattr(value, "get_secret_value"):
                value = value.get_secret_value()
            values[f.name] = "" if value is None else value
        made = cls(**values)
        return made if made.replica_id else replace(made, replica_id=generated_id())

    @property
    def renew_every_s(self) -> float:
        """How often the leases are renewed: a third of their TTL."""
        return self.replica_lease_ttl_s / 3

    @property
    def forwarding(self) -> bool:
        """Requests may travel between replicas: this one has an address and the secret."""
        return bool(self.replica_secret and self.replica_address)


def generated_id() -> str:
    """hostname-pid-random: unique per process start, readable in the lease rows."""
    raw = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    return _SAFE_ID.sub("-", raw)[-MAX_ID:]


def safe_id(value: str) -> str:
    """``value`` with only characters that are safe in a SQL literal and a header."""
    return _SAFE_ID.sub("-", value)[:MAX_ID]
