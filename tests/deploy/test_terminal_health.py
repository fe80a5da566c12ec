"""terminal-image/healthcheck.py (the containers' HEALTHCHECK) against the real terminal server
(simulator backend, started by sim-entrypoint.sh): healthy only after the shared-secret
handshake, and only while MT5 is connected to its broker unless told otherwise."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_support import REPO, free_port, running
from test_sim_entrypoint import SECRET, connect, entrypoint_env

PROBE = REPO / "terminal-image" / "healthcheck.py"


def probe(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROBE), "--port", str(port), "--timeout", "5", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "MT5GW_RUN": "/nonexistent"},
    )


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "terminal_secret"
    path.write_bytes(SECRET + b"\n")
    return path


@pytest.fixture
def server(secret_file: Path) -> Iterator[int]:
    port = free_port()
    env = entrypoint_env(
        TERMINAL_HOST="127.0.0.1",
        TERMINAL_PORT=str(port),
        TERMINAL_SECRET_FILE=str(secret_file),
        LOG_LEVEL="WARNING",
    )
    with running(["sh", str(REPO / "terminal-image" / "sim-entrypoint.sh")], port, env=env):
        yield port


def test_healthy_only_once_mt5_is_connected_to_its_broker(server: int, secret_file: Path) -> None:
    before = probe(server, "--secret-file", str(secret_file))
    assert before.returncode == 1
    assert "terminal server answers" in before.stdout and "MT5 not attached" in before.stdout

    conn = connect(server, SECRET)
    try:
        assert conn.root.call("initialize", (), ())[1][0] == 1
        kwargs = (("password", "demo-10001"), ("server", "Sim-Demo"))
        assert conn.root.call("login", (10001,), kwargs)[1][0] == 1
        after = probe(server, "--secret-file", str(secret_file))
        assert after.returncode == 0, after.stdout
        assert after.stdout.startswith("healthy:") and "MT5 connected to its broker" in after.stdout
    finally:
        conn.close()


def test_server_alone_when_the_broker_is_not_required(server: int, secret_file: Path) -> None:
    result = probe(server, "--secret-file", str(secret_file), "--no-require-broker")
    assert result.returncode == 0 and result.stdout.startswith("healthy:")


def test_wrong_secret_is_unhealthy(server: int, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-secret-0123456789abcdef")
    result = probe(server, "--secret-file", str(wrong), "--no-require-broker")
    assert result.returncode == 1 and "refused the secret" in result.stdout
    assert "not-the-secret" not in result.stdout


def test_nothing_listening_is_unhealthy() -> None:
    result = probe(free_port(), "--no-require-broker")
    assert result.returncode == 1 and result.stdout.startswith("unhealthy:")


def test_a_port_that_only_accepts_is_unhealthy(secret_file: Path) -> None:
    """A TCP connect alone (the old health check) is not enough."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def answer_garbage() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 64)

        thread = threading.Thread(target=answer_garbage, daemon=True)
        thread.start()
        result = probe(port, "--secret-file", str(secret_file), "--no-require-broker")
        thread.join(timeout=10)
    assert result.returncode == 1 and "handshake" in result.stdout
