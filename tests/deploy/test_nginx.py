"""The production nginx site (nginx/*), installed by nginx/install.sh into a copy of the
distro's own /etc/nginx and run by the distro's nginx on loopback, in front of a real uvicorn
(tests/deploy/nginx_support.py says what is copied and what is changed)."""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from deploy_support import free_port, running
from nginx_support import DOMAIN, Site, running_site
from websockets.exceptions import InvalidStatus

STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"


def echo_upstream(port: int) -> list[str]:
    """Real uvicorn with the flags of deploy/mt5-gateway.service, serving echo_app."""
    return [
        sys.executable, "-m", "uvicorn", "echo_app:app", "--app-dir", str(Path(__file__).parent),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--proxy-headers",
        "--forwarded-allow-ips", "127.0.0.1", "--no-server-header", "--timeout-keep-alive", "30",
        "--log-level", "warning",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def upstream_port() -> Iterator[int]:
    port = free_port()
    with running(echo_upstream(port), port):
        yield port


@pytest.fixture(scope="module")
def site(nginx_bin: str, openssl_bin: str, upstream_port: int) -> Iterator[Site]:
    with running_site(nginx_bin, openssl_bin, upstream_port) as served:
        yield served


def seen(response: httpx.Response) -> dict:
    """What the upstream reported receiving."""
    return json.loads(response.text)


def assert_json_error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"detail", "code"} and body["code"] == code and body["detail"]
    assert r.headers["strict-transport-security"].startswith("max-age=")  # headers kept
    assert r.headers["content-security-policy"] == STRICT_CSP


# --- plain HTTP --------------------------------------------------------------------------


@pytest.mark.parametrize("host", [DOMAIN, "evil.example", "127.0.0.1"])
def test_http_redirects_to_the_configured_name_whatever_the_host(site: Site, host: str) -> None:
    r = httpx.get(
        f"http://127.0.0.1:{site.http_port}/api/v1/positions?symbol=EURUSD",
        headers={"Host": host},
    )
    assert r.status_code == 301
    assert r.headers["location"] == f"https://{DOMAIN}/api/v1/positions?symbol=EURUSD"


def test_acme_challenge_is_served_over_http(site: Site) -> None:
    challenge = site.webroot / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True, exist_ok=True)
    (challenge / "tok3n").write_text("tok3n.key")
    r = httpx.get(
        f"http://127.0.0.1:{site.http_port}/.well-known/acme-challenge/tok3n",
        headers={"Host": DOMAIN},
    )
    assert (r.status_code, r.text) == (200, "tok3n.key")
    missing = httpx.get(f"http://127.0.0.1:{site.http_port}/.well-known/acme-challenge/nope")
    assert missing.status_code == 404  # never redirected: certbot must see the miss


# --- TLS ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_12_and_13_are_served(site: Site, version: ssl.TLSVersion) -> None:
    ctx = site.tls_context()
    ctx.minimum_version = ctx.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", site.https_port)) as raw,
        ctx.wrap_socket(raw, server_hostname=DOMAIN) as tls,
    ):
        assert tls.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2"}.get(version, "TLSv1.3")


def test_http2_is_negotiated(site: Site) -> None:
    ctx = site.tls_context()
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", site.https_port)) as raw,
        ctx.wrap_socket(raw, server_hostname=DOMAIN) as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"


def test_unknown_server_name_gets_no_certificate(site: Site) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", site.https_port)) as raw,
        pytest.raises(ssl.SSLError, match=r"(?i)unrecognized.name"),
    ):
        ctx.wrap_socket(raw, server_hostname="scanner.invalid")


# --- headers and compression -------------------------------------------------------------


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


def test_json_of_1kb_and_more_is_gzipped(site: Site) -> None:
    with site.client(source="127.0.0.6") as client:
        with client.stream("GET", "/api/v1/symbols", params={"pad": 50_000}) as big:
            wire = b"".join(big.iter_raw())
        small = client.get("/api/v1/symbols", params={"pad": 10})
        plain = client.get(
            "/api/v1/symbols", params={"pad": 50_000}, headers={"Accept-Encoding": "identity"}
        )
    assert big.headers["content-encoding"] == "gzip" and "Accept-Encoding" in big.headers["vary"]
    assert len(wire) < 5_000 and seen_pad(gzip.decompress(wire)) == 50_000
    assert len(small.content) < 1024 and "content-encoding" not in small.headers
    assert "content-encoding" not in plain.headers and seen_pad(plain.content) == 50_000


def seen_pad(body: bytes) -> int:
    return len(json.loads(body)["pad"])


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


# --- access control and limits: nginx's own errors are the API's JSON ---------------------


def test_metrics_only_from_localhost(site: Site) -> None:
    with site.client(source="127.0.0.2") as outsider:
        assert_json_error(outsider.get("/metrics"), 403, "FORBIDDEN")
    with site.client(source="127.0.0.1") as local:
        r = local.get("/metrics")
    assert r.status_code == 200 and seen(r)["path"] == "/metrics"


def test_burst_past_the_limit_gets_json_429_with_retry_after(site: Site) -> None:
    statuses = []
    with site.client(source="127.0.0.3") as client:
        for _ in range(400):  # bounded; the burst of 40 is spent long before the end
            r = client.get("/api/v1/symbols")
            statuses.append(r.status_code)
            if r.status_code == 429:
                break
    assert statuses[:41] == [200] * 41  # rate + burst=40 with nodelay: never queued
    assert_json_error(r, 429, "RATE_LIMITED")
    assert r.headers["retry-after"] == "1"


def test_upstream_429_passes_unchanged(site: Site) -> None:
    with site.client(source="127.0.0.7") as client:
        r = client.get("/api/v1/account/info", params={"status": 429})
    assert r.status_code == 429 and seen(r)["path"] == "/api/v1/account/info"


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


def test_oversized_body_is_refused_with_json_413(site: Site) -> None:
    with site.client(source="127.0.0.5") as client:
        small = client.post("/api/v1/trades", content=b"x" * 32_000)
        big = client.post("/api/v1/trades", content=b"x" * 100_000)
    assert small.status_code == 200 and seen(small)["body_len"] == 32_000
    assert_json_error(big, 413, "BODY_TOO_LARGE")


# --- WebSocket ---------------------------------------------------------------------------


def test_websocket_upgrade_passes_on_stream_paths(site: Site) -> None:
    with site.websocket("/api/v1/stream") as ws:
        got = json.loads(ws.recv(timeout=10))
    assert got["type"] == "websocket" and got["path"] == "/api/v1/stream"
    assert got["headers"]["upgrade"] == ["websocket"]
    assert got["headers"]["x-forwarded-for"] == ["127.0.0.1"]


def test_websocket_upgrade_is_not_passed_elsewhere(site: Site) -> None:
    with pytest.raises(InvalidStatus):
        site.websocket("/api/v1/account/info")


# --- the gateway down --------------------------------------------------------------------


def test_gateway_down_is_json_503_with_retry_after(nginx_bin: str, openssl_bin: str) -> None:
    with (
        running_site(nginx_bin, openssl_bin, upstream_port=free_port()) as down,
        down.client() as client,
    ):
        r = client.get("/api/v1/account/info")
    assert_json_error(r, 503, "GATEWAY_UNAVAILABLE")
    assert r.headers["retry-after"] == "5"
