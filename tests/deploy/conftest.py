"""Shared by the deployment tests: `require_binary` and fixtures for system binaries."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `import deploy_support`


def require_binary(name: str) -> str:
    """Path of system binary `name`; skip the test when it is missing, but fail when
    MT5GW_REQUIRE_BINARIES=1 (CI sets it, so a missing package cannot hide a test)."""
    path = shutil.which(name) or next(
        (p for d in ("/usr/sbin", "/sbin") if os.access(p := f"{d}/{name}", os.X_OK)), None)
    if path:
        return path
    message = f"system binary {name!r} not found"
    if os.environ.get("MT5GW_REQUIRE_BINARIES") == "1":
        pytest.fail(f"{message} and MT5GW_REQUIRE_BINARIES=1")
    pytest.skip(message)


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    return require_binary("nginx")


@pytest.fixture(scope="session")
def openssl_bin() -> str:
    return require_binary("openssl")


@pytest.fixture(scope="session")
def systemd_analyze_bin() -> str:
    return require_binary("systemd-analyze")


@pytest.fixture(scope="session")
def shellcheck_bin() -> str:
    return require_binary("shellcheck")
