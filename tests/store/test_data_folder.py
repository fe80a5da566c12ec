"""``make run`` keeps its data private (issue 8): the data folder is 0700 and the store and the
dev secrets inside are 0600, under an ordinary umask (022), whether the folder is new or left
world-readable by an older version.

The real ``make run`` recipe runs from an empty folder (the checkout's Makefile and virtualenv,
``-o`` so make does not try to rebuild the virtualenv from that folder), until the gateway
answers ``/health``; then it is stopped and the modes read.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway.config import Settings

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)  # the virtualenv running these tests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def make_run(folder: Path) -> None:
    """``make run`` in ``folder`` until /health answers, then stop it."""
    port = free_port()
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env["TERMINALS"] = f"t1=127.0.0.1:{free_port()}"  # nothing listens: no simulator to start
    installed = VENV / ".installed"
    command = ["make", "-s", "-f", str(REPO / "Makefile"), "run", f"VENV={VENV}", f"PORT={port}"]
    command += ["-o", str(installed)]
    log = folder.parent / f"{folder.name}-make.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: os.umask(0o022),
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return tmp_path / "checkout"


def assert_private(data: Path) -> None:
    assert mode(data) == 0o700
    files = [p for p in data.iterdir() if p.name.startswith(("gateway.db", "dev-secrets"))]
    names = {p.name for p in files}
    assert {"gateway.db", "dev-secrets.json"} <= names
    for path in files:
        assert mode(path) == 0o600, (path.name, oct(mode(path)))


def test_make_run_creates_a_private_data_folder(folder: Path) -> None:
    folder.mkdir()
    make_run(folder)
    assert_private(folder / "data")


def test_make_run_tightens_a_folder_left_readable(folder: Path) -> None:
    data = folder / "data"
    data.mkdir(parents=True, mode=0o755)
    data.chmod(0o755)
    (data / "gateway.db").touch(mode=0o644)  # an empty file is an empty SQLite database
    (data / "gateway.db").chmod(0o644)
    make_run(folder)
    assert_private(data)
