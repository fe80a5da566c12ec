"""The console's pages and files over HTTP: the strict CSP on every page, no inline script or
style in them, the development token only outside production, only to a caller on this
machine and only signed with the gateway's generated dev keys, and the vendored files equal
to what MANIFEST.json records (the npm packages pinned in clients/typescript)."""

from __future__ import annotations

import hashlib
import json
import re
import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager
from html.parser import HTMLParser
from pathlib import Path

import httpx
import jwt
import pytest
from client_support import LiveGateway, live_gateway
from helpers import JwksServer
from pydantic import SecretStr
from server_process import TerminalServerProcess

from gateway.config import DEV_SECRET_PREFIX, Settings
from gateway.console.devtoken import DEV_USER_ID, dev_token
from gateway.console.router import PAGES, STATIC

VENDOR = STATIC / "vendor"


@pytest.mark.parametrize("path", ["/console", "/docs"])
def test_pages_carry_a_strict_csp(gateway: LiveGateway, path: str) -> None:
    response = httpx.get(f"{gateway.url}{path}", timeout=30)
    assert response.status_code == 200
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_console_config_has_no_token_in_production(gateway: LiveGateway) -> None:
    body = httpx.get(f"{gateway.url}/console/config.json", timeout=30).json()
    assert body == {"dev_token": None, "environment": "production"}


def test_dev_token_only_in_development(tmp_path: Path) -> None:
    dev = Settings(_env_file=None, dev_secrets_file=tmp_path / "dev.json")  # type: ignore[call-arg]
    token = dev_token(dev)
    assert token is not None
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == DEV_USER_ID and claims["aud"] == "authenticated"
    production = dev.model_copy(update={"environment": "production"})
    assert dev_token(production) is None
    project = dev.model_copy(update={"supabase_url": "https://x.supabase.co"})
    generated = SecretStr(f"{DEV_SECRET_PREFIX}generated-for-development-only")
    assert dev_token(project.model_copy(update={"supabase_jwt_secret": generated})) is not None
    real = SecretStr("the-project-s-own-jwt-secret-of-32-chars")
    assert dev_token(project.model_copy(update={"supabase_jwt_secret": real})) is None


def _development(
    jwks: JwksServer, sim: TerminalServerProcess, folder: Path, **extra: object
) -> AbstractContextManager[LiveGateway]:
    return live_gateway(
        jwks,
        sim,
        folder,
        console=True,
        environment="development",
        dev_secrets_file=folder / "dev-secrets.json",
        allowed_user_ids=[],
        **extra,
    )


@pytest.fixture(scope="module")
def dev_gateway(
    jwks: JwksServer, sim_server: TerminalServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveGateway]:
    """Development as `make run` has it: no Supabase project, so the gateway signs with its own
    generated key pair; bound to every address, so a caller can come from off loopback."""
    folder = tmp_path_factory.mktemp("console-dev")
    with _development(
        jwks, sim_server, folder, host="0.0.0.0", supabase_url=None, supabase_jwt_secret=None
    ) as live:
        yield live


def _outward_address() -> str | None:
    """This machine's non-loopback IPv4 address (a UDP connect sends nothing), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address: str = sock.getsockname()[0]
    return None if address.startswith("127.") else address


def _config(url: str, **headers: str) -> dict[str, object]:
    response = httpx.get(f"{url}/console/config.json", headers=headers, timeout=30)
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def test_dev_token_goes_to_a_local_caller_and_works(dev_gateway: LiveGateway) -> None:
    token = _config(dev_gateway.url)["dev_token"]
    assert isinstance(token, str)
    me = httpx.get(
        f"{dev_gateway.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert me.status_code == 200 and me.json()["id"] == DEV_USER_ID


def test_no_dev_token_for_a_caller_off_this_machine(dev_gateway: LiveGateway) -> None:
    """A caller whose address is not loopback (a real socket from this machine's network
    address), or one relayed by a proxy (uvicorn takes X-Forwarded-For from a loopback proxy,
    as behind nginx), gets no token."""
    relayed = _config(dev_gateway.url, **{"X-Forwarded-For": "203.0.113.9"})
    assert relayed == {"dev_token": None, "environment": "development"}
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to call from")
    remote = _config(f"http://{address}:{dev_gateway.server.port}")
    assert remote == {"dev_token": None, "environment": "development"}
    assert isinstance(_config(dev_gateway.url)["dev_token"], str)  # the same gateway, locally


def test_no_dev_token_when_a_real_secret_signs(
    jwks: JwksServer, sim_server: TerminalServerProcess, tmp_path: Path
) -> None:
    """Development with a Supabase project and its real SUPABASE_JWT_SECRET configured: the
    token would be valid for that project, so not even a local caller gets one."""
    with _development(jwks, sim_server, tmp_path) as live:
        assert _config(live.url) == {"dev_token": None, "environment": "development"}


class _Inline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "style" or "style" in names or any(n.startswith("on") for n in names):
            self.found.append(tag)
        if tag == "script" and "src" not in names:
            self.found.append("inline script")
        if tag in ("script", "link") and any(
            v and re.match(r"(https?:)?//", v) for n, v in attrs if n in ("src", "href")
        ):
            self.found.append(f"remote {tag}")


@pytest.mark.parametrize("page", sorted(p.name for p in PAGES.glob("*.html")))
def test_pages_have_no_inline_code_and_load_nothing_remote(page: str) -> None:
    parser = _Inline()
    parser.feed((PAGES / page).read_text())
    assert parser.found == []


def test_vendored_files_match_the_manifest() -> None:
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())
    assert set(manifest) == {"lightweight-charts", "swagger-ui-dist"}
    for entry in manifest.values():
        for file, digest in entry["files"].items():
            data = (VENDOR / entry["folder"] / Path(file).name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, file


@pytest.mark.needs_binary("node")
def test_vendored_files_are_the_pinned_npm_packages() -> None:
    """The committed copies equal node_modules after ``npm ci`` at package-lock.json's pins."""
    from node_support import TS, built

    built()
    lock = json.loads((TS / "package-lock.json").read_text())["packages"]
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())
    for name, entry in manifest.items():
        pinned = lock[f"node_modules/{name}"]
        assert (entry["version"], entry["integrity"]) == (pinned["version"], pinned["integrity"])
        for file in entry["files"]:
            source = TS / "node_modules" / name / file
            copy = VENDOR / entry["folder"] / Path(file).name
            assert source.read_bytes() == copy.read_bytes(), f"{name}/{file}: npm run vendor"


def test_no_cdn_documentation_page_is_left(gateway: LiveGateway) -> None:
    assert httpx.get(f"{gateway.url}/redoc", timeout=30).status_code == 404
    page = httpx.get(f"{gateway.url}/docs", timeout=30).text
    assert "cdn" not in page.lower() and "/console/static/vendor/swagger-ui/" in page
