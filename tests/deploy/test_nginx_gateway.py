"""The shipped nginx site in front of the real gateway (uvicorn with the systemd unit's flags,
the embedded simulator behind it): TLS all the way to an MT5 answer."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_support import REPO, free_port, running
from nginx_support import Site
from prometheus_client.parser import text_string_to_metric_families
from test_monitoring import EXTERNAL_METRICS, used_metrics
from test_nginx import site  # noqa: F401 - the site fixture, here in front of the gateway


@pytest.fixture(scope="module")
def gateway_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("gateway")
    return {
        **os.environ,
        "TERMINALS": "sim",
        "SIM_TERMINALS": "1",
        "DATABASE_URL": f"sqlite+aiosqlite:///{data / 'gateway.db'}",
        "DEV_SECRETS_FILE": str(data / "dev-secrets.json"),
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="module")
def upstream_port(gateway_env: dict[str, str]) -> Iterator[int]:
    """The gateway as deploy/mt5-gateway.service runs it (one worker, proxy headers)."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "gateway.main:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1", "--no-server-header",
        "--timeout-keep-alive", "30", "--log-level", "warning",
    ]  # fmt: skip
    with running(cmd, port, cwd=REPO, env=gateway_env, attempts=2400):
        yield port


def dev_token(env: dict[str, str]) -> str:
    script = Path(REPO / "scripts" / "dev_token.py")
    return subprocess.run(
        [sys.executable, str(script)], cwd=REPO, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_health_and_account_through_tls(site: Site, gateway_env: dict[str, str]) -> None:  # noqa: F811
    with site.client() as client:
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "healthy"
        assert health.headers["strict-transport-security"].startswith("max-age=")
        auth = {"Authorization": f"Bearer {dev_token(gateway_env)}"}
        info = client.get("/api/v1/account/info", headers=auth)
        assert info.status_code == 200, info.text
        assert info.json()["login"] == 10001 and info.json()["balance"] == 10000.0
        refused = client.get("/api/v1/account/info", headers={"Authorization": "Bearer x.y.z"})
        assert refused.status_code == 401 and refused.json()["code"]
        assert refused.headers["www-authenticate"].startswith("Bearer")


def test_ten_thousand_bars_travel_gzipped(site: Site, gateway_env: dict[str, str]) -> None:  # noqa: F811
    auth = {"Authorization": f"Bearer {dev_token(gateway_env)}"}
    with site.client() as client:
        url = "/api/v1/market-data/EURUSD"
        with client.stream(
            "GET", url, params={"timeframe": "H1", "bars": 10_000}, headers=auth
        ) as r:
            wire = b"".join(r.iter_raw())
        assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
        raw = gzip.decompress(wire)
        assert len(json.loads(raw)["data"]) == 10_000
        print(f"10,000 H1 bars: {len(raw):,} bytes of JSON, {len(wire):,} on the wire (gzip)")
        assert len(wire) * 4 < len(raw)


def exported_names(exposition: str) -> set[str]:
    """Every series name a Prometheus scrape of this exposition can produce."""
    suffixes = {"counter": ["_total", "_created"], "histogram": ["_bucket", "_sum", "_count"]}
    names = set()
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        names.update(family.name + s for s in suffixes.get(family.type, []))
        names.update(sample.name for sample in family.samples)
    return names


def test_alert_rules_name_only_metrics_the_gateway_exports(site: Site) -> None:  # noqa: F811
    with site.client(source="127.0.0.1") as local:
        local.get("/api/v1/account/info")  # a 401 among the counted requests
        r = local.get("/metrics")
    assert r.status_code == 200
    exported = exported_names(r.text)
    assert {"gateway_pool_healthy_terminals", "gateway_requests_total"} <= exported
    unknown = used_metrics() - exported - EXTERNAL_METRICS
    assert not unknown, f"alerts.yml names metrics the gateway does not export: {unknown}"
