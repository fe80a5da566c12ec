"""The Python client stands on its own: it installs from clients/python without the gateway
(its wheel requires only httpx, pydantic and websockets, and no module of it imports the
gateway), and its examples, which follow seed 000's flows, run against a live gateway."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from client_support import REPO, LiveGateway

PACKAGE = REPO / "clients" / "python"
ALLOWED = {"httpx", "pydantic", "websockets"}


def test_the_wheel_depends_on_httpx_pydantic_and_websockets_only(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    (wheel,) = tmp_path.glob("mt5gw_client-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    requires = {
        line.split(":", 1)[1].strip().split(">")[0].split("<")[0].split("=")[0].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    }
    assert requires == ALLOWED
    assert "mt5gw_client/py.typed" in names and "mt5gw_client/models.py" in names
    assert not any(n.startswith(("gateway/", "simulator/")) for n in names)


def test_no_module_imports_the_gateway() -> None:
    for path in (PACKAGE / "src" / "mt5gw_client").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert not roots & {"gateway", "simulator", "terminal_server"}, path


def run_example(gateway: LiveGateway, name: str, *args: str) -> str:
    env = {**os.environ, "MT5GW_URL": gateway.url, "MT5GW_TOKEN": gateway.token()}
    run = subprocess.run(
        [sys.executable, str(PACKAGE / "examples" / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_quickstart_example(gateway: LiveGateway) -> None:
    out = run_example(gateway, "quickstart.py")
    assert "account 10001 on Sim-Demo: USD 100:1" in out
    assert "EURUSD: 5 digits" in out and "snapshot:" in out


def test_trade_example(gateway: LiveGateway) -> None:
    out = run_example(gateway, "trade.py", "BTCUSD", "0.01")
    assert "opened #" in out and "stop loss set to" in out and "closed #" in out


def test_stream_example(gateway: LiveGateway) -> None:
    out = run_example(gateway, "stream.py", "3")
    assert "snapshot at seq" in out and "balance " in out
