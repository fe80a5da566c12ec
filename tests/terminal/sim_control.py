"""Test-side client of the simulator's controls (``exposed_control``) on a terminal server.

It uses its own connection, so ``drop_connections`` (which closes every *other* connection of
that server) leaves it standing. The gateway product never uses this.
"""

from __future__ import annotations

from typing import Any

from gateway.terminal.codec import WireDecoder, encode_pairs
from gateway.terminal.rpyc_client import TlsConfig, open_connection


class SimControl:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        secret: str | None = None,
        tls: TlsConfig | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.conn = open_connection(host, port, secret=secret, tls=tls, timeout_s=timeout_s)
        self.conn._config["sync_request_timeout"] = timeout_s
        root = self.conn.root
        self._control = root.control
        self._decoder = WireDecoder(lambda name: tuple(root.struct_fields(name)))

    def __call__(self, name: str, **kwargs: Any) -> Any:
        return self._decoder.decode(self._control(name, encode_pairs(kwargs)))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda **kwargs: self(name, **kwargs)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SimControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
