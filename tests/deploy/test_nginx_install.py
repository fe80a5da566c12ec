"""nginx/install.sh and the site's settings against the distro's nginx and the gateway's own
deadlines: what the live tests in test_nginx.py cannot show by one request."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from deploy_support import REPO, unit_directives
from nginx_support import (
    DOMAIN,
    NGINX_DIR,
    copy_distro_etc,
    distro_root,
    install_site,
    make_cert,
    nginx_test,
    warnings_of,
)

from gateway.config import Settings

UNIT = REPO / "deploy" / "mt5-gateway.service"


def seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([smh]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "s": 1, "m": 60, "h": 3600}[unit]


def test_the_site_runs_inside_the_distros_http_block(nginx_bin: str, openssl_bin: str) -> None:
    """`nginx -T`: the distro's own http-level TLS lines and our server blocks load together."""
    with distro_root() as root:
        etc = copy_distro_etc(root)
        make_cert(openssl_bin, root / "live" / DOMAIN)
        assert install_site(root, etc).returncode == 0
        dump = subprocess.run(
            [nginx_bin, "-T", "-c", str(etc / "nginx.conf")], capture_output=True, text=True
        )
        assert dump.returncode == 0 and not warnings_of(dump), dump.stderr
        assert f"# configuration file {etc}/sites-enabled/mt5-gateway.conf:" in dump.stdout
        assert re.search(r"(?m)^\s*ssl_prefer_server_ciphers on;", dump.stdout)  # the distro's
        assert not (etc / "sites-enabled" / "default").exists()  # the runbook disables it


def test_an_http_level_duplicate_of_the_distro_is_caught(nginx_bin: str) -> None:
    """The check the old site failed: these tests load the distro's nginx.conf, so an http-level
    ssl_prefer_server_ciphers (which that file sets) cannot pass unnoticed."""
    with distro_root() as root:
        etc = copy_distro_etc(root)
        (etc / "sites-enabled" / "clash.conf").write_text("ssl_prefer_server_ciphers off;\n")
        result = nginx_test(nginx_bin, etc)
    assert result.returncode != 0
    assert '"ssl_prefer_server_ciphers" directive is duplicate' in result.stderr


def test_http_only_install_loads_before_any_certificate(nginx_bin: str) -> None:
    with distro_root() as root:
        etc = copy_distro_etc(root)
        refused = install_site(root, etc)
        assert refused.returncode == 1 and "run with --http-only" in refused.stderr
        assert not (etc / "sites-enabled" / "mt5-gateway.conf").exists()
        installed = install_site(root, etc, "--http-only")
        assert installed.returncode == 0, installed.stderr
        assert sorted(p.name for p in (etc / "sites-enabled").iterdir()) == [
            "mt5-gateway-http.conf"
        ]
        result = nginx_test(nginx_bin, etc)
        assert result.returncode == 0 and not warnings_of(result), result.stderr
        assert (root / "webroot").is_dir()


@pytest.mark.parametrize("domain", ["", "a b.example", "x.example;evil", "-x.example", "a/b"])
def test_install_refuses_what_is_not_a_domain(domain: str) -> None:
    with distro_root() as root:
        etc = copy_distro_etc(root)
        result = subprocess.run(
            ["bash", str(NGINX_DIR / "install.sh"), "--http-only", domain],
            env={**os.environ, "NGINX_ETC": str(etc), "ACME_ROOT": str(root / "w")},
            capture_output=True,
            text=True,
        )
        assert (
            result.returncode != 0
            and not (etc / "sites-enabled" / "mt5-gateway-http.conf").exists()
        )


@pytest.mark.parametrize(
    ("version", "listen", "http2_on"),
    [("1.22.1", "listen 443 ssl http2;", False), ("1.24.0", "listen 443 ssl http2;", False),
     ("1.25.1", "listen 443 ssl;", True), ("1.26.3", "listen 443 ssl;", True)],
)  # fmt: skip
def test_install_writes_the_http2_syntax_of_the_installed_nginx(
    openssl_bin: str, tmp_path: Path, version: str, listen: str, http2_on: bool
) -> None:
    fake = tmp_path / "nginx"
    fake.write_text(f"#!/bin/sh\necho 'nginx version: nginx/{version}' >&2\n")
    fake.chmod(0o755)
    with distro_root() as root:
        etc = copy_distro_etc(root)
        make_cert(openssl_bin, root / "live" / DOMAIN)
        env = {**os.environ, "NGINX": str(fake), "NGINX_ETC": str(etc),
               "ACME_ROOT": str(root / "w"), "LETSENCRYPT_LIVE": str(root / "live")}  # fmt: skip
        subprocess.run(["bash", str(NGINX_DIR / "install.sh"), DOMAIN], env=env, check=True)
        site = (etc / "sites-available" / "mt5-gateway.conf").read_text()
    servers = site[site.index("server_name") - 200 :]
    assert listen in servers
    assert bool(re.search(r"(?m)^\s*http2 on;", site)) is http2_on
    assert "#http2 on;" not in site


def test_install_script_passes_shellcheck(shellcheck_bin: str) -> None:
    result = subprocess.run(
        [shellcheck_bin, str(NGINX_DIR / "install.sh")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


# --- timeouts against the gateway's and uvicorn's --------------------------------------------


def directive(text: str, name: str) -> list[str]:
    return re.findall(rf"(?m)^\s*{name}\s+([^;]+);", text)


def test_api_read_timeout_outlasts_the_gateways_worst_case() -> None:
    """queue wait + account switch + MT5 call, from the gateway's own defaults."""
    fields = Settings.model_fields
    worst = sum(
        float(fields[name].default)
        for name in ("request_timeout_s", "pool_login_timeout_s", "terminal_timeout_s")
    )
    site = (NGINX_DIR / "mt5-gateway.conf").read_text()
    server_level, stream = site.split("location ^~ /api/v1/stream", 1)
    stream = stream[: stream.index("}")]
    assert [seconds(v) for v in directive(server_level, "proxy_read_timeout")] == [200]
    assert 200 > worst == 180
    assert seconds(directive(stream, "proxy_read_timeout")[0]) >= 3600  # quiet streams stay


def test_upstream_keepalive_closes_before_uvicorns() -> None:
    site = (NGINX_DIR / "mt5-gateway.conf").read_text()
    upstream = site[site.index("upstream mt5_gateway") :]
    upstream = upstream[: upstream.index("}")]
    nginx_idle = seconds(directive(upstream, "keepalive_timeout")[0])
    argv = shlex.split(unit_directives(UNIT.read_text())["ExecStart"][0])
    uvicorn_idle = int(argv[argv.index("--timeout-keep-alive") + 1])
    assert directive(upstream, "keepalive") and nginx_idle < uvicorn_idle
