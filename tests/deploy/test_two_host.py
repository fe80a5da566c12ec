"""The two-host Compose setup (deploy/compose-two-host): both files through the real Docker
Compose binary, and its wiring run for real on loopback: make-certs.sh's certificates, a
terminal server (simulator backend, through terminal-image/sim-entrypoint.sh) requiring
mutual TLS, two gateway processes as host A runs them (TERMINAL_TLS_* files, no shared
secret), and the distro's nginx with the shipped site plus nginx-upstreams.sh's two servers.
One replica is killed with SIGKILL mid-way: nginx keeps answering through the other.

The two gateways share one SQLite file here (a test of wiring, not of leases); the setup
itself uses PostgreSQL, which the lease tests of issue 17 exercise."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy_support import REPO, free_port, running, wait_for_port
from nginx_support import (
    DOMAIN,
    Site,
    bind_to_loopback,
    copy_distro_etc,
    distro_root,
    install_site,
    make_cert,
    nginx_test,
    warnings_of,
)
from prometheus_client.parser import text_string_to_metric_families
from test_compose_and_images import compose_binary

from gateway.terminal.rpyc_client import TlsConfig, open_connection

HERE = REPO / "deploy" / "compose-two-host"
MAKE_CERTS = HERE / "make-certs.sh"
UPSTREAMS = HERE / "nginx-upstreams.sh"


def compose(file: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MT5_", "HOST_B_"))}
    return subprocess.run(
        [str(compose_binary()), "-f", str(HERE / file), *args],
        capture_output=True, text=True, env={**clean, **env}, cwd=REPO, timeout=120,
    )  # fmt: skip


def resolved(file: str, **env: str) -> dict[str, Any]:
    result = compose(file, "config", "--format", "json", **env)
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def secret_paths(service: dict[str, Any]) -> set[str]:
    """Where the service's secrets appear in the container."""
    paths = set()
    for secret in service.get("secrets", []):
        target = secret.get("target", secret["source"])
        paths.add(target if target.startswith("/") else f"/run/secrets/{target}")
    return paths


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("host-a") / "gateway.env"
    path.write_text("ENVIRONMENT=production\n")
    return str(path)


# --- the compose files -------------------------------------------------------------------------


def test_host_a_runs_two_hardened_replicas_on_loopback(env_file: str) -> None:
    assert compose("host-a.yml", "config", "-q", GATEWAY_ENV_FILE=env_file).returncode == 0
    model = resolved("host-a.yml", GATEWAY_ENV_FILE=env_file)
    services = model["services"]
    assert sorted(services) == ["gateway-1", "gateway-2"]
    published = set()
    dockerfile = (REPO / "Dockerfile.gateway").read_text()
    for service in services.values():
        (port,) = service["ports"]
        assert port["host_ip"] == "127.0.0.1" and port["target"] == 8000
        published.add(int(port["published"]))
        assert Path(service["build"]["context"], service["build"]["dockerfile"]).exists()
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
        assert f"USER {service['user']}" in dockerfile
        assert "no-new-privileges:true" in service["security_opt"]
        assert service["mem_limit"] and service["pids_limit"]
        mounted = secret_paths(service)
        env = service["environment"]
        assert "TERMINAL_SECRET" not in env  # mutual TLS authenticates
        for key in ("TERMINAL_TLS_CA_FILE", "TERMINAL_TLS_CERT_FILE", "TERMINAL_TLS_KEY_FILE"):
            assert env[key] in mounted
        assert env["REPLICA_LEASES"] == "true"
    assert published == {8000, 8010}
    ids = {name: s["environment"]["REPLICA_ID"] for name, s in services.items()}
    assert len(set(ids.values())) == 2  # each replica its own lease owner
    for name, service in services.items():
        assert service["environment"]["REPLICA_ADDRESS"] == f"http://{name}:8000"


def test_host_b_needs_its_private_address() -> None:
    refused = compose("host-b.yml", "config", "-q")
    assert refused.returncode != 0 and "HOST_B_RPYC_ADDRESS" in refused.stderr


def test_host_b_terminals_speak_mutual_tls_on_the_private_address_only() -> None:
    address = "10.8.0.2"
    assert compose("host-b.yml", "config", "-q", HOST_B_RPYC_ADDRESS=address).returncode == 0
    services = resolved("host-b.yml", HOST_B_RPYC_ADDRESS=address)["services"]
    assert sorted(services) == ["terminal-1", "terminal-2"]
    rpyc_ports = set()
    for service in services.values():
        by_target = {p["target"]: p for p in service["ports"]}
        assert by_target[3000]["host_ip"] == "127.0.0.1"  # VNC: ssh -L only
        assert by_target[8001]["host_ip"] == address
        rpyc_ports.add(by_target[8001]["published"])
        targets = secret_paths(service)
        assert "/run/secrets/terminal_secret" not in targets
        env = service["environment"]
        for key in ("TERMINAL_TLS_CERT", "TERMINAL_TLS_KEY", "TERMINAL_TLS_CA"):
            assert env[key] in targets
        assert env["FILE__PASSWORD"] in targets
        # Inherited from docker-compose.yml's terminal: limits and privileges.
        assert service["mem_limit"] and "no-new-privileges:true" in service["security_opt"]
        assert service["stop_grace_period"] == "45s"
    assert rpyc_ports == {"8001", "8002"}
    sources = [s["source"] for svc in services.values() for s in svc["secrets"]]
    assert len({s for s in sources if "tls_cert" in s or "tls_key" in s}) == 4  # per terminal


# --- the certificates --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory, openssl_bin: str) -> Path:
    out = tmp_path_factory.mktemp("certs") / "secrets"
    made = subprocess.run(
        ["bash", str(MAKE_CERTS), "--dir", str(out), "--san", "IP:127.0.0.1", "2"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return out


def verify(openssl: str, certs: Path, cert: Path, purpose: str) -> bool:
    ca = str(certs / "tls" / "ca.crt")
    result = subprocess.run(
        [openssl, "verify", "-x509_strict", "-CAfile", ca, "-purpose", purpose, str(cert)],
        capture_output=True, text=True,
    )  # fmt: skip
    return result.returncode == 0


@pytest.mark.needs_binary("openssl")
def test_certificates_keep_server_and_client_apart(certs: Path, openssl_bin: str) -> None:
    terminal, gateway = certs / "terminal-1" / "tls.crt", certs / "gateway" / "tls.crt"
    assert verify(openssl_bin, certs, terminal, "sslserver")
    assert not verify(openssl_bin, certs, terminal, "sslclient")
    assert verify(openssl_bin, certs, gateway, "sslclient")
    assert not verify(openssl_bin, certs, gateway, "sslserver")
    for key in ("tls/ca.key", "terminal-1/tls.key", "terminal-2/tls.key"):
        assert (certs / key).stat().st_mode & 0o777 == 0o600, key


def test_make_certs_keeps_what_exists(certs: Path) -> None:
    before = {p: p.read_bytes() for p in certs.rglob("*") if p.is_file()}
    again = subprocess.run(
        ["bash", str(MAKE_CERTS), "--dir", str(certs), "--san", "IP:127.0.0.1", "2"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert again.returncode == 0 and "created" not in again.stdout
    assert {p: p.read_bytes() for p in certs.rglob("*") if p.is_file()} == before
    bad = subprocess.run(["bash", str(MAKE_CERTS), "--san", "IP:1.2.3.4;rm", "1"], text=True,
                         capture_output=True)  # fmt: skip
    assert bad.returncode == 64


# --- the wiring, for real ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def terminals(certs: Path) -> Iterator[int]:
    """Two simulated terminals (one world) that accept mutual TLS and nothing else."""
    port = free_port()
    while port + 1 == free_port() or not _free(port + 1):
        port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TERMINAL_", "SIM_"))}
    env.update(
        PYTHON=sys.executable,
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "terminal-image")]),
        TERMINAL_HOST="127.0.0.1", TERMINAL_PORT=str(port), SIM_TERMINALS="2",
        TERMINAL_SECRET_FILE="", LOG_LEVEL="WARNING",
        TERMINAL_TLS_CERT=str(certs / "terminal-1" / "tls.crt"),
        TERMINAL_TLS_KEY=str(certs / "terminal-1" / "tls.key"),
        TERMINAL_TLS_CA=str(certs / "tls" / "ca.crt"),
    )  # fmt: skip
    script = REPO / "terminal-image" / "sim-entrypoint.sh"
    with running(["sh", str(script)], port, env=env, cwd=REPO, attempts=600):
        wait_for_port(port + 1)
        yield port


def _free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def tls(certs: Path, client: str) -> TlsConfig:
    return TlsConfig(
        ca_file=str(certs / "tls" / "ca.crt"),
        cert_file=str(certs / client / "tls.crt"),
        key_file=str(certs / client / "tls.key"),
    )


@pytest.mark.needs_binary("openssl")
def test_terminal_admits_the_gateways_certificate_only(
    certs: Path, terminals: int, tmp_path: Path
) -> None:
    conn = open_connection("127.0.0.1", terminals, tls=tls(certs, "gateway"), timeout_s=10)
    try:
        assert conn.root.ping() is True
    finally:
        conn.close()
    other = tmp_path / "other"
    subprocess.run(["bash", str(MAKE_CERTS), "--dir", str(other), "--san", "IP:127.0.0.1", "1"],
                   check=True, capture_output=True)  # fmt: skip
    strangers = [
        tls(certs, "terminal-2"),  # a terminal's own certificate, used as a client
        TlsConfig(ca_file=str(certs / "tls" / "ca.crt"), cert_file=str(other / "gateway" /
                  "tls.crt"), key_file=str(other / "gateway" / "tls.key")),  # another CA
        TlsConfig(ca_file=str(certs / "tls" / "ca.crt")),  # no certificate at all
    ]  # fmt: skip
    for config in strangers:
        with pytest.raises((OSError, EOFError)):
            conn = open_connection("127.0.0.1", terminals, tls=config, timeout_s=10)
            try:
                conn.root.ping()
            finally:
                conn.close()


@contextmanager
def gateway_replica(
    env: dict[str, str], log: Path
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "gateway.main:create_app",
           "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--proxy-headers",
           "--no-server-header", "--log-level", "warning"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    try:
        wait_for_port(port, proc, attempts=2400)
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def two_upstream_site(nginx: str, openssl: str, ports: list[int]) -> Iterator[Site]:
    """The shipped site in the distro's nginx (nginx/install.sh), then nginx-upstreams.sh."""
    with distro_root() as root:
        etc = copy_distro_etc(root)
        cert, _ = make_cert(openssl, root / "live" / DOMAIN)
        assert install_site(root, etc).returncode == 0
        http_port, https_port = free_port(), free_port()
        bind_to_loopback(etc, http_port, https_port, ports[0])
        rewrite = subprocess.run(
            ["bash", str(UPSTREAMS), *(f"127.0.0.1:{p}" for p in ports)],
            env={**os.environ, "NGINX_ETC": str(etc)}, capture_output=True, text=True,
        )  # fmt: skip
        assert rewrite.returncode == 0, rewrite.stderr
        checked = nginx_test(nginx, etc)
        assert checked.returncode == 0 and not warnings_of(checked), checked.stderr
        conf = str(etc / "nginx.conf")
        subprocess.run([nginx, "-c", conf], check=True)
        try:
            wait_for_port(https_port)
            yield Site(http_port, https_port, root / "webroot", cert, etc)
        finally:
            subprocess.run([nginx, "-c", conf, "-s", "stop"], check=False, capture_output=True)
            for _ in range(200):
                if not (root / "nginx.pid").exists():
                    break
                subprocess.run(["sleep", "0.05"], check=False)


def served(port: int) -> float:
    """Requests for the account route this replica has answered (its own /metrics)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "gateway_requests"
        for sample in family.samples
        if sample.name == "gateway_requests_total" and "account" in sample.labels.get("route", "")
    )


@pytest.mark.needs_binary("nginx")
def test_two_replicas_behind_nginx_over_mutual_tls(
    certs: Path, terminals: int, tmp_path: Path, nginx_bin: str, openssl_bin: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TERMINAL", "SIM_"))}
    env.update(
        ENVIRONMENT="development", LOG_LEVEL="WARNING",
        TERMINALS=f"mt5-1=127.0.0.1:{terminals},mt5-2=127.0.0.1:{terminals + 1}",
        TERMINAL_TLS_CA_FILE=str(certs / "tls" / "ca.crt"),
        TERMINAL_TLS_CERT_FILE=str(certs / "gateway" / "tls.crt"),
        TERMINAL_TLS_KEY_FILE=str(certs / "gateway" / "tls.key"),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        DEV_SECRETS_FILE=str(tmp_path / "dev-secrets.json"),
    )  # fmt: skip
    with ExitStack() as stack:
        first, first_proc = stack.enter_context(gateway_replica(env, tmp_path / "gw1.log"))
        second, _ = stack.enter_context(gateway_replica(env, tmp_path / "gw2.log"))
        for port in (first, second):  # each replica reached both terminals over mutual TLS
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=30).json()
            assert [t["reachable"] for t in health["terminals"]] == [True, True], health
            # Not "ready" before a first login: why Kubernetes' readiness gate is /health.
            ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=30)
            assert ready.status_code == 503, ready.text
        token = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "dev_token.py")],
            env=env, cwd=REPO, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        auth = {"Authorization": f"Bearer {token}"}
        site = stack.enter_context(two_upstream_site(nginx_bin, openssl_bin, [first, second]))
        with site.client() as client:
            for _ in range(12):
                info = client.get("/api/v1/account/info", headers=auth)
                assert info.status_code == 200 and info.json()["login"] == 10001, info.text
            before = served(second)
            assert served(first) > 0 and before > 0  # nginx used both replicas
            ready = httpx.get(f"http://127.0.0.1:{second}/health/ready", timeout=30)
            assert ready.status_code == 200, ready.text
            first_proc.send_signal(signal.SIGKILL)
            first_proc.wait(timeout=10)
            for _ in range(8):
                info = client.get("/api/v1/account/info", headers=auth)
                assert info.status_code == 200, info.text  # the survivor answers
        assert served(second) == before + 8


def test_runbook_names_the_published_ports_and_settings(env_file: str) -> None:
    runbook = (REPO / "deploy" / "RUNBOOK.md").read_text()
    chapter = runbook[runbook.index("## 12. Beyond one VPS") :]
    services = resolved("host-a.yml", GATEWAY_ENV_FILE=env_file)["services"]
    upstreams = " ".join(
        f"127.0.0.1:{s['ports'][0]['published']}" for _, s in sorted(services.items())
    )
    assert f"nginx-upstreams.sh {upstreams}\n" in chapter
    (line,) = [x for x in chapter.splitlines() if x.startswith("- `TERMINALS=")]
    ports = resolved("host-b.yml", HOST_B_RPYC_ADDRESS="10.8.0.2")["services"]
    published = [p["published"] for _, s in sorted(ports.items()) for p in s["ports"]
                 if p["target"] == 8001]  # fmt: skip
    assert line.count("10.8.0.2:") == len(published)
    assert all(f"10.8.0.2:{p}" in line for p in published)
    assert "make-certs.sh --san IP:10.8.0.2" in chapter
