"""terminal-image/sim-entrypoint.sh, run for real: it must start the terminal server (simulator
backend) with the settings it is given, and refuse an unauthenticated non-loopback bind."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import rpyc
from deploy_support import REPO, free_port, running, wait_for_port
from rpyc.core.service import VoidService
from rpyc.core.stream import SocketStream

SCRIPT = REPO / "terminal-image" / "sim-entrypoint.sh"
SECRET = b"test-terminal-secret-0123456789abcdef"

needs_server = pytest.mark.skipif(
    not (REPO / "terminal-image" / "terminal_server" / "__main__.py").exists()
    or not all((REPO / "simulator" / f).exists() for f in ("module.py", "broker.py")),
    reason="terminal_server or the simulator (module.py, broker.py) not in the repository yet",
)


def entrypoint_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TERMINAL_", "SIM_"))}
    env["PYTHON"] = sys.executable
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "terminal-image")])
    env.update(settings)
    return env


def connect(port: int, secret: bytes) -> rpyc.Connection:
    """The terminal server's shared-secret handshake (HMAC of the challenge), then RPyC
    with a service that exposes nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    challenge = b""
    while len(challenge) < 40:  # 8-byte magic + 32-byte nonce
        chunk = sock.recv(40 - len(challenge))
        assert chunk, "server closed during the handshake"
        challenge += chunk
    sock.sendall(hmac.new(secret, challenge, hashlib.sha256).digest())
    verdict = sock.recv(2)
    if verdict != b"OK":
        sock.close()
        raise PermissionError(f"handshake refused: {verdict!r}")
    return rpyc.connect_stream(
        SocketStream(sock),
        service=VoidService,
        config={"allow_pickle": False, "sync_request_timeout": 30},
    )


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "terminal_secret"
    path.write_bytes(SECRET + b"\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def two_terminals(secret_file: Path) -> Iterator[int]:
    port = free_port()
    while True:  # the second terminal takes port + 1: make sure it is free too
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 1))
            break
        except OSError:
            port = free_port()
    env = entrypoint_env(
        TERMINAL_HOST="127.0.0.1",
        TERMINAL_PORT=str(port),
        TERMINAL_SECRET_FILE=str(secret_file),
        SIM_TERMINALS="2",
        LOG_LEVEL="WARNING",
    )
    with running(["sh", str(SCRIPT)], port, env=env) as proc:
        wait_for_port(port + 1, proc)
        yield port


@needs_server
def test_every_terminal_answers_mt5_calls(two_terminals: int) -> None:
    for port in (two_terminals, two_terminals + 1):
        conn = connect(port, SECRET)
        try:
            assert conn.root.ping() is True
            result, (code, message) = conn.root.call("initialize", (), ())
            assert code == 1 and message == "Success", (result, code, message)
            assert "login" in conn.root.struct_fields("AccountInfo")
        finally:
            conn.close()


@needs_server
def test_wrong_secret_is_refused(two_terminals: int) -> None:
    with pytest.raises(PermissionError):
        connect(two_terminals, b"not-the-secret-0123456789")


def test_refuses_non_loopback_bind_without_authentication() -> None:
    env = entrypoint_env(
        TERMINAL_HOST="0.0.0.0", TERMINAL_PORT=str(free_port()), TERMINAL_SECRET_FILE=""
    )
    result = subprocess.run(
        ["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 64
    assert "refusing to listen on 0.0.0.0" in result.stderr


def test_unreadable_secret_file_is_an_error(tmp_path: Path) -> None:
    env = entrypoint_env(
        TERMINAL_HOST="127.0.0.1",
        TERMINAL_PORT=str(free_port()),
        TERMINAL_SECRET_FILE=str(tmp_path / "missing"),
    )
    result = subprocess.run(
        ["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 66 and "cannot read secret file" in result.stderr
