"""Headless Chromium for the console tests: Debian's ``chromium`` through Playwright (never a
downloaded browser), with every request to another host refused and recorded, and CSP
violations collected from the console log."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str:
    """Debian's chromium; skip when missing, fail when MT5GW_REQUIRE_BINARIES=1."""
    for path in (*CHROMIUM_PATHS, shutil.which("chromium") or ""):
        if path and os.access(path, os.X_OK):
            return path
    message = "system binary 'chromium' not found (apt-get install chromium)"
    if os.environ.get("MT5GW_REQUIRE_BINARIES") == "1":
        pytest.fail(f"{message} and MT5GW_REQUIRE_BINARIES=1")
    pytest.skip(message)


@dataclass
class Browser:
    page: Any
    origin: str
    foreign: list[str] = field(default_factory=list)  # requests to anything but the gateway
    csp: list[str] = field(default_factory=list)  # Content-Security-Policy reports
    errors: list[str] = field(default_factory=list)  # uncaught page errors


@contextmanager
def browser(origin: str) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            args=[  # no background traffic: this machine's network is closed
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = chromium.new_context(viewport={"width": 1280, "height": 1400})
        page = context.new_page()
        page.set_default_timeout(30_000)
        seen = Browser(page, origin)
        host = urlsplit(origin).netloc

        def gate(route: Any) -> None:
            if urlsplit(route.request.url).netloc == host:
                route.continue_()
            else:
                seen.foreign.append(route.request.url)
                route.abort()

        context.route("**/*", gate)

        def on_console(message: Any) -> None:
            if "Content Security Policy" in message.text:
                seen.csp.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: seen.errors.append(str(error)))
        try:
            yield seen
        finally:
            context.close()
            chromium.close()
