"""The terminal image's s6 service scripts (terminal-image/s6/s6-rc.d/*/run) under a real s6
supervisor (Debian's s6: s6-svscan, s6-supervise, s6-log), as plain processes: the terminal
server and the MT5 terminal come back after they are killed, and their logs rotate by size.

Only Windows is faked (terminal_fakes.py); the terminal server is the real one, on Linux
Python, with the simulator standing in for the MetaTrader5 package."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from deploy_support import free_port, require_binary, wait_for_port
from terminal_fakes import IMAGE, FakeWindows, fake_windows
from test_terminal_install import wait_until

S6 = IMAGE / "s6" / "s6-rc.d"
SECRET = "supervised-terminal-secret-0123456789"
SERVICES = {  # scandir name -> (s6-rc service, its logger)
    "mt5gw-server": ("svc-mt5gw-server", "svc-mt5gw-server-log"),
    "mt5-terminal": ("svc-mt5-terminal", "svc-mt5-terminal-log"),
}


@dataclass
class Supervised:
    fake: FakeWindows
    scandir: Path
    port: int

    def pid(self, service: str) -> int:
        out = subprocess.run(
            [require_binary("s6-svstat"), "-o", "up,pid", str(self.scandir / service)],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.split()
        return int(out[1]) if out[0] == "true" else -1

    def probe(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                str(IMAGE / "healthcheck.py"),
                "--port",
                str(self.port),
                "--no-require-broker",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "MT5GW_RUN": str(self.fake.run_dir)},
        )


def s6_run_file(path: Path, script: Path) -> None:
    """A classic s6 run file that executes one of the image's s6-rc run scripts (their
    `with-contenv` shebang belongs to s6-overlay; the environment comes from s6-svscan)."""
    path.write_text(f"#!/bin/sh\nexec bash {script}\n")
    path.chmod(0o755)


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[Supervised]:
    svscan = require_binary("s6-svscan")
    require_binary("s6-log")
    fake = fake_windows(tmp_path)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "terminal_secret").write_text(SECRET)
    port = free_port()
    fake.env.update(
        MT5GW_SECRETS=str(secrets),
        PASSWORD="vnc-password",
        TERMINAL_HOST="127.0.0.1",
        TERMINAL_PORT=str(port),
        LOG_LEVEL="WARNING",
    )
    fake.install_terminal()
    init = subprocess.run(
        ["bash", str(S6 / "init-mt5gw-config" / "run")],
        env=fake.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert init.returncode == 0, init.stderr
    scandir = tmp_path / "scan"
    for name, (service, logger) in SERVICES.items():
        (scandir / name / "log").mkdir(parents=True)
        s6_run_file(scandir / name / "run", S6 / service / "run")
        s6_run_file(scandir / name / "log" / "run", S6 / logger / "run")
    proc = subprocess.Popen(
        [svscan, str(scandir)],
        env=fake.env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, attempts=600)
        yield Supervised(fake, scandir, port)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # s6-svscan brings its services down and exits
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        fake.kill_windows()


def test_the_server_comes_back_after_it_is_killed(supervised: Supervised) -> None:
    first = supervised.pid("mt5gw-server")
    assert first > 0
    assert supervised.probe().returncode == 0
    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: supervised.pid("mt5gw-server") not in (first, -1))
    wait_for_port(supervised.port, attempts=600)
    result = supervised.probe()
    assert result.returncode == 0, result.stdout
    assert "terminal server answers" in result.stdout


def test_the_server_runs_with_this_terminals_secret(supervised: Supervised) -> None:
    args = [c for c in supervised.fake.calls() if c.startswith("python-args ")][-1].split()
    assert args[args.index("--auth-secret-file") + 1] == str(
        supervised.fake.run_dir / "terminal_secret"
    )
    assert "--allow-remote" not in args  # 127.0.0.1 here; 0.0.0.0 in the image adds it


def test_the_terminal_comes_back_after_it_is_killed(supervised: Supervised) -> None:
    assert wait_until(lambda: is_terminal(supervised.pid("mt5-terminal")))
    first = supervised.pid("mt5-terminal")
    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: supervised.pid("mt5-terminal") not in (first, -1))
    assert wait_until(lambda: is_terminal(supervised.pid("mt5-terminal")))
    terminals = [pid for pid in supervised.fake.windows_pids() if is_terminal(pid)]
    assert len(terminals) == 1  # one terminal, never two


def is_terminal(pid: int) -> bool:
    """The supervised process is the terminal itself (run script, wine, then terminal64.exe
    all exec into one another, so s6 watches the terminal)."""
    argv0 = _read(Path(f"/proc/{pid}/cmdline")).split(b"\0")[0] if pid > 0 else b""
    return argv0.endswith(b"terminal64.exe")


def test_service_output_reaches_its_log(supervised: Supervised) -> None:
    log = supervised.fake.logs / "terminal-server" / "current"
    assert wait_until(lambda: b"starting the terminal server on port" in _read(log))


def test_logs_rotate_by_size_and_reach_the_container_output(tmp_path: Path) -> None:
    """The loggers' run script (s6-log): at most LOG_KEEP_FILES archives of about
    LOG_MAX_BYTES, and every line also on stdout (`docker compose logs`)."""
    require_binary("s6-log")
    fake = fake_windows(tmp_path)
    lines = b"".join(b"line %05d %s\n" % (i, b"x" * 60) for i in range(3000))  # ~200 kB
    result = subprocess.run(
        ["bash", str(S6 / "svc-mt5gw-server-log" / "run")],
        input=lines,
        capture_output=True,
        timeout=60,
        env={**fake.env, "LOG_MAX_BYTES": "8192", "LOG_KEEP_FILES": "3"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == lines
    log_dir = fake.logs / "terminal-server"
    archives = [p for p in log_dir.iterdir() if p.name.startswith("@")]
    assert 1 <= len(archives) <= 3
    assert sum(p.stat().st_size for p in log_dir.iterdir()) < 5 * 16384
    assert b"line 02999" in (log_dir / "current").read_bytes() + max(
        (p.read_bytes() for p in archives), key=len
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
