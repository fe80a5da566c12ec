"""Shared by the deployment tests: `require_binary` and fixtures for system binaries."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `import deploy_support`

from deploy_support import require_binary

__all__ = ["require_binary"]


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
