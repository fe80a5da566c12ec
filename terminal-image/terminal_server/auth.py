"""Authenticating clients of the terminal server: a shared secret, mutual TLS, or both.

Shared secret (challenge-response, so the secret itself never crosses the wire):

    server → client   MAGIC (8 bytes) + nonce (32 random bytes)
    client → server   HMAC-SHA256(secret, MAGIC + nonce)   (32 bytes)
    server → client   b"OK" and the RPyC protocol starts, or b"NO" and the socket closes

The MAC is compared in constant time. The secret gives authentication, not confidentiality:
combine it with TLS when the link leaves the host.

Mutual TLS uses RPyC's ``SSLAuthenticator`` with a CA file, so the client must present a
certificate signed by that CA (without ``ca_certs`` it would only encrypt).
"""

import hashlib
import hmac
import logging
import os
import socket

from rpyc.utils.authenticators import AuthenticationError, SSLAuthenticator

MAGIC = b"MT5GWv1\n"
NONCE_SIZE = 32
MAC_SIZE = 32
ACCEPTED = b"OK"
REJECTED = b"NO"
HANDSHAKE_TIMEOUT_S = 10.0

log = logging.getLogger("terminal_server.auth")


def expected_mac(secret, challenge):
    return hmac.new(secret, challenge, hashlib.sha256).digest()


def read_secret_file(path):
    """The secret as bytes, surrounding whitespace stripped; it must not be empty."""
    with open(path, "rb") as handle:
        secret = handle.read().strip()
    if len(secret) < 16:
        raise ValueError("the shared secret in %s is shorter than 16 bytes" % path)
    return secret


def _recv_exactly(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise AuthenticationError("the client closed the connection during the handshake")
        data += chunk
    return data


class SecretAuthenticator:
    """RPyC authenticator checking a shared secret by challenge-response."""

    def __init__(self, secret):
        self._secret = secret

    def __call__(self, sock):
        peer = _peer(sock)
        challenge = MAGIC + os.urandom(NONCE_SIZE)
        try:
            sock.settimeout(HANDSHAKE_TIMEOUT_S)
            sock.sendall(challenge)
            answer = _recv_exactly(sock, MAC_SIZE)
            if not hmac.compare_digest(answer, expected_mac(self._secret, challenge)):
                sock.sendall(REJECTED)
                log.warning("client %s failed the shared-secret check; connection refused", peer)
                raise AuthenticationError("wrong shared secret")
            sock.sendall(ACCEPTED)
            sock.settimeout(None)
        except OSError as exc:
            raise AuthenticationError("shared-secret handshake failed: %s" % exc)
        return sock, "shared-secret"


class ChainAuthenticator:
    """Run authenticators in order (TLS first, then the secret over the encrypted socket)."""

    def __init__(self, *steps):
        self._steps = steps

    def __call__(self, sock):
        credentials = []
        for step in self._steps:
            sock, creds = step(sock)
            credentials.append(creds)
        return sock, tuple(credentials)


class LoggingSSLAuthenticator(SSLAuthenticator):
    """``SSLAuthenticator`` that says why a client was refused (a WARNING), except for port
    probes that close without sending anything (health checks: DEBUG)."""

    def __call__(self, sock):
        peer = _peer(sock)
        if not _says_something(sock):
            log.debug("client %s closed before the TLS handshake", peer)
            raise AuthenticationError("closed before the TLS handshake")
        try:
            sock.settimeout(HANDSHAKE_TIMEOUT_S)
            tls_sock, cert = SSLAuthenticator.__call__(self, sock)
            tls_sock.settimeout(None)
        except AuthenticationError as exc:
            log.warning("client %s failed the TLS handshake: %s", peer, exc)
            raise
        except OSError as exc:
            log.warning("client %s failed the TLS handshake: %s", peer, exc)
            raise AuthenticationError(str(exc))
        return tls_sock, _subject(cert)


def _says_something(sock):
    """Wait for the client's first byte (the TLS ClientHello): False if it closes first."""
    try:
        sock.settimeout(HANDSHAKE_TIMEOUT_S)
        return bool(sock.recv(1, socket.MSG_PEEK))
    except OSError:
        return False


def _subject(cert):
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return "CN=" + value
    return "tls-client"


def _peer(sock):
    try:
        return "%s:%s" % sock.getpeername()[:2]
    except OSError:
        return "?"


def build_authenticator(secret=None, tls_cert=None, tls_key=None, tls_ca=None):
    """The authenticator for the CLI options, and a description for the startup log."""
    steps = []
    modes = []
    if tls_cert or tls_key or tls_ca:
        if not (tls_cert and tls_key and tls_ca):
            raise ValueError("TLS needs --tls-cert, --tls-key and --tls-ca (the CA of clients)")
        steps.append(LoggingSSLAuthenticator(tls_key, tls_cert, ca_certs=tls_ca))
        modes.append("mutual TLS (client certificates required)")
    if secret is not None:
        steps.append(SecretAuthenticator(secret))
        modes.append("shared secret (HMAC challenge)")
    if not steps:
        return None, "none (loopback/internal network only)"
    if len(steps) == 1:
        return steps[0], modes[0]
    return ChainAuthenticator(*steps), " + ".join(modes)
