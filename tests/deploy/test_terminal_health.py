"""terminal-image/healthcheck.py (the containers' HEALTHCHECK) against the real terminal server
(simulator backend, started by sim-entrypoint.sh): healthy only after the shared-secret
handshake, and only while MT5 is connected to its broker unless told otherwise.  Under mutual
TLS, through the Wine image's own chain (init-mt5gw.sh, run-terminal-server.sh, fake wine)."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_support import REPO, free_port, require_binary, running, wait_for_port
from terminal_fakes import IMAGE, FakeWindows, fake_windows
from test_sim_entrypoint import SECRET, connect, entrypoint_env
from test_terminal_install import wait_until

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


# --- under mutual TLS (the two-host setup): the Wine image's own chain -------------------------


@pytest.fixture(scope="module")
def mtls_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """make-certs.sh's CA, two terminals' server certificates and the gateways' client one."""
    require_binary("openssl")
    certs = tmp_path_factory.mktemp("mtls")
    made = subprocess.run(
        ["bash", str(REPO / "deploy" / "compose-two-host" / "make-certs.sh"),
         "--dir", str(certs), "--san", "IP:127.0.0.1", "2"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return certs


def mtls_container(root: Path, certs: Path, n: int) -> FakeWindows:
    """Terminal n as host-b.yml starts it: TLS files, no RPyC secret, after init-mt5gw.sh."""
    fake = fake_windows(root)
    (root / "secrets").mkdir()
    fake.env.update(
        MT5GW_SECRETS=str(root / "secrets"), PASSWORD="vnc-password-0123",
        TERMINAL_TLS_CERT=str(certs / f"terminal-{n}" / "tls.crt"),
        TERMINAL_TLS_KEY=str(certs / f"terminal-{n}" / "tls.key"),
        TERMINAL_TLS_CA=str(certs / "tls" / "ca.crt"),
    )  # fmt: skip
    fake.install_terminal()
    init = fake.run("init-mt5gw.sh")
    assert init.returncode == 0, init.stderr
    return fake


def image_probe(port: int, run_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """healthcheck.py as the image's HEALTHCHECK runs it: no options, files from MT5GW_RUN."""
    return subprocess.run(
        [sys.executable, str(PROBE), "--port", str(port), "--no-require-broker"],
        capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "MT5GW_RUN": str(run_dir), **env},
    )  # fmt: skip


def log_entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


@pytest.mark.needs_binary("openssl")
def test_probe_passes_mutual_tls_with_its_own_certificate_only(
    tmp_path: Path, mtls_certs: Path
) -> None:
    """The Wine image's chain under mutual TLS: init-mt5gw.sh, run-terminal-server.sh (the real
    terminal server behind a fake wine), then the probe with its defaults.  The terminal's own
    certificate is serverAuth only, so the probe has an identity of its own, which only its
    own terminal trusts: another terminal's probe (or server certificate) is refused."""
    one = mtls_container(tmp_path / "t1", mtls_certs, 1)
    two = mtls_container(tmp_path / "t2", mtls_certs, 2)
    port = free_port()
    one.env.update(TERMINAL_HOST="127.0.0.1", TERMINAL_PORT=str(port), LOG_LEVEL="DEBUG",
                   LOG_FORMAT="json", PYTHONDONTWRITEBYTECODE="1")  # fmt: skip
    log = tmp_path / "terminal-server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            ["bash", str(IMAGE / "run-terminal-server.sh")], env=one.env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for_port(port, server, attempts=600)
        healthy = image_probe(port, one.run_dir)
        assert healthy.returncode == 0 and healthy.stdout.startswith("healthy:"), healthy.stdout
        assert wait_until(lambda: any("goodbye" in e["message"] for e in log_entries(log)))
        entries = log_entries(log)
        assert [e for e in entries if e["level"] not in ("DEBUG", "INFO")] == []
        assert any(e["level"] == "DEBUG" and "mt5gw-health-probe" in e["message"]
                   for e in entries)  # fmt: skip
        assert all(e["level"] == "DEBUG" for e in entries[
            next(i for i, e in enumerate(entries) if e["message"].startswith("ready")) + 1 :
        ])  # fmt: skip
        # The gateways' certificate still opens it (the operator's CA is still trusted).
        gateway = image_probe(port, one.run_dir,
                              HEALTH_TLS_CERT=str(mtls_certs / "gateway" / "tls.crt"),
                              HEALTH_TLS_KEY=str(mtls_certs / "gateway" / "tls.key"))  # fmt: skip
        assert gateway.returncode == 0, gateway.stdout
        # Terminal 2's probe identity, and a terminal's server certificate, open nothing here.
        for cert, key in (
            (two.run_dir / "probe.crt", two.run_dir / "probe.key"),
            (two.run_dir / "tls.crt", two.run_dir / "tls.key"),
            (one.run_dir / "tls.crt", one.run_dir / "tls.key"),
        ):
            stranger = image_probe(port, one.run_dir, HEALTH_TLS_CERT=str(cert),
                                   HEALTH_TLS_KEY=str(key))  # fmt: skip
            assert stranger.returncode == 1 and stranger.stdout.startswith("unhealthy:"), cert
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    for name in ("probe.key", "probe.crt", "tls.client-ca"):
        assert stat.S_IMODE((one.run_dir / name).stat().st_mode) == 0o600, name
    assert (one.run_dir / "probe.crt").read_bytes() != (two.run_dir / "probe.crt").read_bytes()
