"""Node.js for the TypeScript client's tests: the machine's node and npm (skipped when missing,
failing when MT5GW_REQUIRE_BINARIES=1), ``npm ci`` when node_modules is missing, then a build."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

TS = Path(__file__).resolve().parents[2] / "clients" / "typescript"


def require(name: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    message = f"system binary {name!r} not found (Node.js 20 with npm)"
    if os.environ.get("MT5GW_REQUIRE_BINARIES") == "1":
        pytest.fail(f"{message} and MT5GW_REQUIRE_BINARIES=1")
    pytest.skip(message)


def npm(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require("npm"), *args], cwd=TS, capture_output=True, text=True, timeout=timeout
    )


@functools.cache
def built() -> None:
    """``npm ci`` (when node_modules is absent) and ``npm run build``; fails on errors."""
    if not (TS / "node_modules" / ".package-lock.json").exists():
        done = npm("ci", "--no-audit", "--no-fund")
        assert done.returncode == 0, done.stdout + done.stderr
    done = npm("run", "--silent", "build")
    assert done.returncode == 0, done.stdout + done.stderr


def node_test(
    *files: str, env: dict[str, str], pattern: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``node --test`` on the built client (Node 20 needs the WebSocket flag; 22 has it)."""
    args = [require("node"), "--experimental-websocket", "--test", "--test-reporter=spec"]
    if pattern:
        args.append(f"--test-name-pattern={pattern}")
    return subprocess.run(
        [*args, *files],
        cwd=TS,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
