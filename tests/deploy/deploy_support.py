"""Process and port helpers for the deployment tests (importable: conftest puts this folder
on sys.path, whatever pytest's import mode)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def require_binary(name: str) -> str:
    """Path of system binary `name`; skip the test when it is missing, but fail when
    MT5GW_REQUIRE_BINARIES=1 (CI sets it, so a missing package cannot hide a test)."""
    path = shutil.which(name) or next(
        (p for d in ("/usr/sbin", "/sbin") if os.access(p := f"{d}/{name}", os.X_OK)), None
    )
    if path:
        return path
    message = f"system binary {name!r} not found"
    if os.environ.get("MT5GW_REQUIRE_BINARIES") == "1":
        pytest.fail(f"{message} and MT5GW_REQUIRE_BINARIES=1")
    pytest.skip(message)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int,
    proc: subprocess.Popen[bytes] | None = None,
    host: str = "127.0.0.1",
    attempts: int = 300,
) -> None:
    """Poll until something accepts on host:port (bounded attempts, 0.05 s apart)."""
    for _ in range(attempts):
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"process exited with {proc.returncode} before listening:\n{out}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {host}:{port}")


@contextmanager
def running(
    cmd: list[str], port: int, *, attempts: int = 300, **kwargs: object
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `cmd`, wait until it listens on `port`, terminate it afterwards."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)  # type: ignore[call-overload]
    try:
        wait_for_port(port, proc, attempts=attempts)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def unit_directives(text: str) -> dict[str, list[str]]:
    """systemd unit file -> {key: [values]} (continuation lines joined, comments dropped)."""
    out: dict[str, list[str]] = {}
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out
