"""Opening a connection to a terminal server: TCP, then TLS, then the shared secret, then RPyC.

The connection exposes nothing back (``VoidService``) and refuses pickle. A :class:`Session` is
one live connection with the remote methods the gateway uses resolved once, so each call after
that is a single round trip.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import rpyc
from rpyc.core.stream import SocketStream
from rpyc.utils.factory import connect_stream

from gateway.terminal.codec import WireDecoder
from gateway.terminal.errors import TerminalUnreachable

# Shared-secret handshake (terminal_server/auth.py): challenge = MAGIC + 32-byte nonce,
# answer = HMAC-SHA256(secret, challenge), verdict b"OK" / b"NO".
AUTH_MAGIC = b"MT5GWv1\n"
AUTH_CHALLENGE_SIZE = len(AUTH_MAGIC) + 32


@dataclass(frozen=True)
class TlsConfig:
    """Mutual TLS to the terminal server: the CA that signed the server's certificate, and
    this client's certificate and key (the server requires one)."""

    ca_file: str
    cert_file: str | None = None
    key_file: str | None = None
    check_hostname: bool = True
    server_hostname: str | None = None  # defaults to the host we connect to


class AuthenticationFailed(TerminalUnreachable):
    """The terminal server refused our credentials (shared secret or certificate)."""


def open_connection(
    host: str,
    port: int,
    *,
    connect_timeout_s: float = 5.0,
    timeout_s: float = 90.0,
    secret: str | bytes | None = None,
    tls: TlsConfig | None = None,
) -> Any:
    """A raw RPyC connection to a terminal server (TLS, then the secret, then RPyC).

    Blocking. Raises OSError/EOFError for network trouble and AuthenticationFailed."""
    sock = socket.create_connection((host, port), timeout=connect_timeout_s)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            sock = _wrap_tls(sock, host, tls)
        if secret is not None:
            key = secret.encode() if isinstance(secret, str) else secret
            _answer_challenge(sock, key, f"{host}:{port}")
        sock.settimeout(max(timeout_s, connect_timeout_s))
        config = {
            "allow_pickle": False,
            "allow_public_attrs": False,
            "allow_all_attrs": False,
            "import_custom_exceptions": False,
            "instantiate_custom_exceptions": False,
            "sync_request_timeout": connect_timeout_s,
        }
        return connect_stream(SocketStream(sock), service=rpyc.VoidService, config=config)
    except BaseException:
        sock.close()
        raise


def _wrap_tls(sock: socket.socket, host: str, tls: TlsConfig) -> socket.socket:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=tls.ca_file)
    context.check_hostname = tls.check_hostname
    if tls.cert_file:
        context.load_cert_chain(tls.cert_file, keyfile=tls.key_file)
    try:
        return context.wrap_socket(sock, server_hostname=tls.server_hostname or host)
    except ssl.SSLCertVerificationError as exc:
        raise AuthenticationFailed(f"terminal server certificate rejected: {exc}") from exc


def _recv_exactly(sock: socket.socket, size: int, what: str) -> bytes:
    data = b""
    while len(data) < size:
        try:
            chunk = sock.recv(size - len(data))
        except TimeoutError as exc:
            raise AuthenticationFailed(f"no {what} from the terminal server") from exc
        if not chunk:
            raise AuthenticationFailed(f"terminal server closed the connection before {what}")
        data += chunk
    return data


def _answer_challenge(sock: socket.socket, secret: bytes, where: str) -> None:
    challenge = _recv_exactly(sock, AUTH_CHALLENGE_SIZE, "authentication challenge")
    if not challenge.startswith(AUTH_MAGIC):
        raise AuthenticationFailed(f"{where} did not send an authentication challenge")
    sock.sendall(hmac.new(secret, challenge, hashlib.sha256).digest())
    if _recv_exactly(sock, 2, "authentication verdict") != b"OK":
        raise AuthenticationFailed(f"{where} refused the shared secret")


class Session:
    """One live connection and the remote methods we use (resolved once: one round trip
    per call afterwards)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        root = conn.root
        self.call = root.call
        self.batch = root.batch
        self.ping = root.ping
        self.decoder = WireDecoder(lambda name: tuple(root.struct_fields(name)))

    def close(self, *, graceful: bool) -> None:
        if not graceful:
            # Cut the socket first: no goodbye round trip that a hung server would not answer.
            with contextlib.suppress(Exception):
                self.conn._channel.close()
        with contextlib.suppress(Exception):
            self.conn.close()
