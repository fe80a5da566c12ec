"""Test harness for the gateway: a local JWKS server, token minting and in-thread uvicorn.

Only Supabase is stood in for (a tiny HTTP server publishing test-generated keys); the gateway,
RPyC and the simulator terminal server are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.store.crypto import generate_key
from gateway.terminal.rpyc_client import RpycTerminal

# Tuesday 2025-11-25 12:00:00 UTC: every forex market is open, so bars and ticks exist.
FROZEN_MS = 1_764_072_000_000
HS256_SECRET = "test-hs256-secret-" + "x" * 40
USER_ID = "11111111-2222-4333-8444-555555555555"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    def public_jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        algo = ECAlgorithm if self.alg == "ES256" else RSAAlgorithm
        jwk: dict[str, Any] = json.loads(algo.to_jwk(public))
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig", "key_ops": ["verify"]}

    def public_pem(self) -> bytes:
        pem: bytes = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem


def new_es256(kid: str) -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


def new_rs256(kid: str) -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


@dataclass
class JwksServer:
    """Publishes ``keys`` at any path; ``down`` makes it answer 500; ``hits`` counts fetches."""

    keys: list[SigningKey] = field(default_factory=list)
    down: bool = False
    hits: int = 0

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                if owner.down:
                    self.send_response(500)
                    self.end_headers()
                    return
                body = json.dumps({"keys": [k.public_jwk() for k in owner.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def supabase_url(self) -> str:
        return self.url

    @property
    def issuer(self) -> str:
        return f"{self.url}/auth/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def claims(issuer: str, **overrides: Any) -> dict[str, Any]:
    """Claims of a normal Supabase access token; ``None`` values are removed."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": issuer,
        "aud": "authenticated",
        "sub": USER_ID,
        "role": "authenticated",
        "email": "trader@example.com",
        "is_anonymous": False,
        "aal": "aal1",
        "session_id": "0b0b0b0b-0000-4000-8000-000000000000",
        "iat": now,
        "exp": now + 3600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: SigningKey, payload: dict[str, Any], **headers: Any) -> str:
    return jwt.encode(payload, key.private, key.alg, headers={"kid": key.kid, **headers})


def sign_hs256(payload: dict[str, Any], secret: str = HS256_SECRET) -> str:
    return jwt.encode(payload, secret, "HS256")


class GatewayServer:
    """The app under real uvicorn in a thread, on a free port."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> GatewayServer:
        self.thread.start()
        deadline = time.monotonic() + 90
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("gateway failed to start")
            if time.monotonic() > deadline:
                raise RuntimeError("gateway did not start in time")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def login_default(host: str, port: int) -> None:
    async def run() -> None:
        terminal = RpycTerminal("setup", host, port, timeout_s=30)
        try:
            await terminal.call("initialize")
            await terminal.login(10001, "demo-10001", "Sim-Demo", 60_000)
        finally:
            await terminal.close()

    asyncio.run(run())


TEST_KEYRING = generate_key("test1")


def store_settings(**extra: Any) -> dict[str, Any]:
    """A fresh SQLite store, an encryption key and the test user allowed on the configured
    account (single-tenant mode), for Settings built by hand."""
    folder = Path(tempfile.mkdtemp(prefix="mt5gw-gateway-"))
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{folder / 'gateway.db'}",
        "mt5_encryption_keys": TEST_KEYRING,
        "allowed_user_ids": [USER_ID],
    }
    values.update(extra)
    return values
