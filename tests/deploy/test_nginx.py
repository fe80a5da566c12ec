"""The production nginx site (nginx/*.conf), run by real nginx on loopback ports in front of a
real uvicorn.  The config is rendered only by swapping ports, paths and the domain, each
swap checked to have matched, so these tests exercise the file that ships."""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from deploy_support import REPO, free_port, running, wait_for_port
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

NGINX_DIR = REPO / "nginx"
DOMAIN = "api.example.com"
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"


@dataclass
class Site:
    http_port: int
    https_port: int
    webroot: Path
    cert: Path
    conf: Path

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def client(self, source: str = "127.0.0.1") -> httpx.Client:
        """HTTPS client for https://localhost:PORT whose TCP source address is `source`
        (any 127.x address is local, so nginx sees a distinct $remote_addr per test)."""
        transport = httpx.HTTPTransport(verify=self.tls_context(), local_address=source)
        return httpx.Client(
            transport=transport, base_url=f"https://localhost:{self.https_port}", timeout=10
        )


def _swap(text: str, old: str, new: str, *, regex: bool = False) -> str:
    result, count = re.subn(old if regex else re.escape(old), new, text)
    assert count, f"render: {old!r} not found in the nginx config (did it change?)"
    return result


def render_site(
    tmp: Path,
    *,
    http_port: int,
    https_port: int,
    upstream_port: int,
    cert: Path,
    key: Path,
    webroot: Path,
) -> str:
    text = (NGINX_DIR / "mt5-gateway.conf").read_text()
    text = _swap(text, r"\n\s*listen \[::\]:\d+[^;]*;", "", regex=True)  # no IPv6 in tests
    text = _swap(text, r"listen 80\b", f"listen 127.0.0.1:{http_port}", regex=True)
    text = _swap(text, r"listen 443\b", f"listen 127.0.0.1:{https_port}", regex=True)
    text = _swap(text, "server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};")
    text = _swap(text, f"/etc/letsencrypt/live/{DOMAIN}/fullchain.pem", str(cert))
    text = _swap(text, f"/etc/letsencrypt/live/{DOMAIN}/privkey.pem", str(key))
    text = _swap(text, "/etc/nginx/snippets/mt5-gateway/", f"{NGINX_DIR}/")
    text = _swap(text, "/var/www/letsencrypt", str(webroot))
    return _swap(text, f"server_name {DOMAIN};", "server_name localhost;")


def main_conf(prefix: Path, site_conf: Path) -> str:
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/tmp/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must read tmp files
    return f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
{temp}
    include {site_conf};
}}
"""


def make_cert(openssl: str, directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def upstream_port() -> Iterator[int]:
    """Real uvicorn, run with the proxy-header flags of deploy/mt5-gateway.service."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "echo_app:app",
        "--app-dir",
        str(Path(__file__).parent),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--proxy-headers",
        "--forwarded-allow-ips",
        "127.0.0.1",
        "--no-server-header",
        "--log-level",
        "warning",
    ]
    with running(cmd, port):
        yield port


@pytest.fixture(scope="module")
def site(
    nginx_bin: str, openssl_bin: str, upstream_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    prefix = tmp_path_factory.mktemp("nginx")
    (prefix / "tmp").mkdir()
    webroot = prefix / "webroot"
    (webroot / ".well-known" / "acme-challenge").mkdir(parents=True)
    cert, key = make_cert(openssl_bin, prefix)
    http_port, https_port = free_port(), free_port()
    site_conf = prefix / "site.conf"
    site_conf.write_text(
        render_site(
            prefix,
            http_port=http_port,
            https_port=https_port,
            upstream_port=upstream_port,
            cert=cert,
            key=key,
            webroot=webroot,
        )
    )
    conf = prefix / "nginx.conf"
    conf.write_text(main_conf(prefix, site_conf))
    test = subprocess.run(
        [nginx_bin, "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True
    )
    assert test.returncode == 0, test.stderr
    subprocess.run([nginx_bin, "-p", str(prefix), "-c", str(conf)], check=True)
    try:
        wait_for_port(https_port)
        wait_for_port(http_port)
        yield Site(http_port, https_port, webroot, cert, conf)
    finally:
        pid_file = prefix / "nginx.pid"
        if pid_file.exists():
            subprocess.run(
                [nginx_bin, "-p", str(prefix), "-c", str(conf), "-s", "stop"], check=False
            )


def seen(response: httpx.Response) -> dict:
    """What the upstream reported receiving."""
    return json.loads(response.text)


# --- plain HTTP --------------------------------------------------------------------------


def test_http_redirects_to_https(site: Site) -> None:
    r = httpx.get(
        f"http://127.0.0.1:{site.http_port}/api/v1/positions?symbol=EURUSD",
        headers={"Host": "localhost"},
    )
    assert r.status_code == 301
    assert r.headers["location"] == "https://localhost/api/v1/positions?symbol=EURUSD"


def test_acme_challenge_is_served_over_http(site: Site) -> None:
    (site.webroot / ".well-known" / "acme-challenge" / "tok3n").write_text("tok3n.key")
    r = httpx.get(
        f"http://127.0.0.1:{site.http_port}/.well-known/acme-challenge/tok3n",
        headers={"Host": "localhost"},
    )
    assert (r.status_code, r.text) == (200, "tok3n.key")


# --- TLS ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_12_and_13_are_served(site: Site, version: ssl.TLSVersion) -> None:
    ctx = site.tls_context()
    ctx.minimum_version = ctx.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", site.https_port)) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert (
            tls.version()
            == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
        )


def test_unknown_server_name_gets_no_certificate(site: Site) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", site.https_port)) as raw,
        pytest.raises(ssl.SSLError, match=r"(?i)unrecognized.name"),
    ):
        ctx.wrap_socket(raw, server_hostname="scanner.invalid")


# --- headers -----------------------------------------------------------------------------


def test_security_headers_on_success_and_on_errors(site: Site) -> None:
    with site.client() as client:
        for status in (200, 404, 500):
            r = client.get("/api/v1/account/info", params={"status": status})
            assert r.status_code == status
            assert r.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["referrer-policy"] == "no-referrer"
            assert r.headers["content-security-policy"] == STRICT_CSP
            assert r.headers["server"] == "nginx"  # no version, no uvicorn banner


def test_docs_get_a_csp_that_lets_swagger_ui_load(site: Site) -> None:
    with site.client() as client:
        csp = client.get("/docs").headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net" in csp
    assert "frame-ancestors 'none'" in csp


def test_forwarded_for_is_overwritten_with_the_real_client(site: Site) -> None:
    with site.client(source="127.0.0.2") as client:
        r = client.get(
            "/health", headers={"X-Forwarded-For": "6.6.6.6, 10.0.0.1", "X-Real-IP": "6.6.6.6"}
        )
    got = seen(r)
    assert got["headers"]["x-forwarded-for"] == ["127.0.0.2"]
    assert got["headers"]["x-real-ip"] == ["127.0.0.2"]
    assert got["headers"]["x-forwarded-proto"] == ["https"]
    # uvicorn (trusting only nginx at 127.0.0.1) resolves the client to the true address
    assert (got["client"], got["scheme"]) == ("127.0.0.2", "https")


# --- access control and limits -----------------------------------------------------------


def test_metrics_only_from_localhost(site: Site) -> None:
    with site.client(source="127.0.0.2") as outsider:
        assert outsider.get("/metrics").status_code == 403
    with site.client(source="127.0.0.1") as local:
        r = local.get("/metrics")
    assert r.status_code == 200 and seen(r)["path"] == "/metrics"


def test_burst_past_the_limit_gets_429(site: Site) -> None:
    statuses = []
    with site.client(source="127.0.0.3") as client:
        for _ in range(400):  # bounded; the burst of 40 is spent long before the end
            statuses.append(client.get("/api/v1/symbols").status_code)
            if statuses[-1] == 429:
                break
    assert statuses[:41] == [200] * 41  # rate + burst=40 with nodelay: never queued
    assert statuses[-1] == 429


def test_trade_writes_have_a_tighter_limit_than_reads(site: Site) -> None:
    with site.client(source="127.0.0.4") as client:
        reads = [client.get("/api/v1/positions").status_code for _ in range(30)]
        writes = []
        for _ in range(200):
            writes.append(client.post("/api/v1/trades", json={"symbol": "EURUSD"}).status_code)
            if writes[-1] == 429:
                break
    assert reads == [200] * 30  # GETs are not keyed in the trade zone
    assert writes[:11] == [200] * 11 and writes[-1] == 429
    assert len(writes) < 41  # stopped by the trade zone, not by the general one


def test_oversized_body_is_refused_with_413(site: Site) -> None:
    with site.client(source="127.0.0.5") as client:
        small = client.post("/api/v1/trades", content=b"x" * 32_000)
        big = client.post("/api/v1/trades", content=b"x" * 100_000)
    assert small.status_code == 200 and seen(small)["body_len"] == 32_000
    assert big.status_code == 413


# --- WebSocket ---------------------------------------------------------------------------


def test_websocket_upgrade_passes_on_stream_paths(site: Site) -> None:
    url = f"wss://localhost:{site.https_port}/api/v1/stream/quotes"
    with ws_connect(url, ssl=site.tls_context(), open_timeout=10) as ws:
        got = json.loads(ws.recv(timeout=10))
    assert got["type"] == "websocket" and got["path"] == "/api/v1/stream/quotes"
    assert got["headers"]["upgrade"] == ["websocket"]
    assert got["headers"]["x-forwarded-for"] == ["127.0.0.1"]


def test_websocket_upgrade_is_not_passed_elsewhere(site: Site) -> None:
    url = f"wss://localhost:{site.https_port}/api/v1/account/info"
    with pytest.raises(InvalidStatus):
        ws_connect(url, ssl=site.tls_context(), open_timeout=10)
