"""The console's pages and files over HTTP: the strict CSP on every page, no inline script or
style in them, the development token only outside production, and the vendored files equal
to what MANIFEST.json records (the npm packages pinned in clients/typescript)."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import jwt
import pytest
from client_support import LiveGateway

from gateway.config import Settings
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
