"""mt5linux 1.1.1, the current release, against the classic-compat port: what it can and
cannot do (issue 14; docs/simulator.md says so with working pins).

1.x finds its server only through a container engine (a Docker or udocker container of the
``lprett/mt5linux`` image on the port): without one it raises before connecting. Given a
``docker`` CLI that reports such a container (the one thing stubbed: the container engine is
outside this project), it connects to our server, and then fetches every result with
``rpyc.classic.obtain``, i.e. by pickling it on the server: arrays and plain values arrive,
named results fail as the real package's do (their types cannot be pickled).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import venvs
from compat_support import fresh_terminal, venv_for

CLIENT = """
import json, sys
from mt5linux import MetaTrader5
out = {}
try:
    mt5 = MetaTrader5(host=sys.argv[1], port=int(sys.argv[2]), timeout=20)
except Exception as error:
    print(json.dumps({"connect": type(error).__name__ + ": " + str(error)}))
    sys.exit(0)
out["connect"] = "ok"
for name, call in [
    ("initialize", lambda: mt5.initialize()),
    ("version", lambda: list(mt5.version())),
    ("rates", lambda: mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_H1, 0, 10)["close"].size),
    ("positions_total", lambda: mt5.positions_total()),
    ("account_info", lambda: mt5.account_info().login),
]:
    try:
        out[name] = call()
    except Exception as error:
        out[name] = type(error).__name__ + ": " + str(error).splitlines()[0]
print(json.dumps(out))
"""


def run_client(python: Path, server, path: str) -> dict[str, object]:
    env = dict(os.environ, PATH=path)
    done = subprocess.run(
        [str(python), "-c", CLIENT, server.host, str(server.compat_port)],
        capture_output=True, text=True, timeout=300, env=env, cwd=python.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def stub_docker(folder: Path, port: int) -> None:
    """A ``docker`` CLI whose ``ps`` lists an mt5linux container on ``port``."""
    script = folder / "docker"
    line = f"mt5linux-{port}|127.0.0.1:{port}->18812/tcp|lprett/mt5linux:latest"
    script.write_text(f'#!/bin/sh\nif [ "$1" = ps ]; then echo "{line}"; fi\nexit 0\n')
    script.chmod(0o755)


def test_current_mt5linux_needs_a_container_engine(compat_server, tmp_path):
    python = venv_for(venvs.CURRENT)
    assert venvs.installed_versions(python)["mt5linux"] == "1.1.1"
    fresh_terminal(compat_server)
    report = run_client(python, compat_server, f"{tmp_path}:/bin")  # no docker, no udocker
    assert report["connect"].startswith("RuntimeError")


def test_current_mt5linux_through_a_reported_container(compat_server, tmp_path):
    python = venv_for(venvs.CURRENT)
    fresh_terminal(compat_server)
    stub_docker(tmp_path, compat_server.compat_port)
    report = run_client(python, compat_server, f"{tmp_path}:/usr/bin:/bin")
    assert report["connect"] == "ok"
    assert report["initialize"] is True
    assert report["version"][0] == 500 and report["rates"] == 10
    assert report["positions_total"] == 0
    # Named results cannot be pickled (the real package's cannot either).
    assert str(report["account_info"]).startswith("PicklingError"), report
