"""What the replica tests share besides fixtures (a module of its own: several test folders
have a ``conftest`` module, so tests never import from theirs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from replica_process import ReplicaProcess


@dataclass(frozen=True)
class Trader:
    user_id: str
    login: int
    account_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Cluster:
    """One database and the settings every replica of a test shares."""

    dsn: str
    env: dict[str, str]
    traders: list[Trader]
    started: list[ReplicaProcess]

    def replica(self, replica_id: str, **extra: str) -> ReplicaProcess:
        """Start a replica (ready when this returns); stopped at the end of the test."""
        process = ReplicaProcess(replica_id, {**self.env, **extra})
        self.started.append(process)
        return process.__enter__()


def owner_of(response: Any) -> str:
    """The replica that served a response (the forwarding header)."""
    return str(response.headers.get("x-mt5gw-replica"))
