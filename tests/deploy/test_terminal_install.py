"""terminal-image/install-mt5.sh and run-mt5-terminal.sh as plain processes, with a fake
`wine` whose MetaTrader 5 installer hangs, fails, or installs and leaves the terminal running
(terminal_fakes.py).  They must never wait past their timeout, must retry, and must leave no
installer or stray terminal behind."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_support import free_port, wait_for_port
from terminal_fakes import IMAGE, FakeWindows, fake_windows


@pytest.fixture
def windows(tmp_path: Path) -> Iterator[FakeWindows]:
    fake = fake_windows(tmp_path)
    installer = tmp_path / "download" / "mt5setup.exe"
    installer.parent.mkdir()
    installer.write_bytes(b"MZ fake installer")
    fake.env["MT5_SETUP_URL"] = installer.as_uri()
    fake.env["MT5_INSTALL_TIMEOUT_S"] = "2"
    fake.env["MT5_INSTALL_ATTEMPTS"] = "3"
    fake.env["MT5_INSTALL_BACKOFF_S"] = "0"
    yield fake
    fake.kill_windows()


def setup_runs(fake: FakeWindows) -> int:
    return sum(1 for line in fake.calls() if line.split(" ", 1)[0].endswith("mt5setup.exe"))


def test_a_hanging_installer_is_killed_and_retried(windows: FakeWindows) -> None:
    result = windows.run("install-mt5.sh", FAKE_SETUP_MODES="hang,install")
    assert result.returncode == 0, result.stderr
    assert windows.terminal_exe.exists()
    assert setup_runs(windows) == 2
    assert "attempt 1 of 3" in result.stderr and "attempt 2 of 3" in result.stderr
    assert "no terminal64.exe after this attempt" in result.stderr
    # The hung installer, the second installer (which never exits) and the terminal it
    # started are all gone: the supervised service starts its own terminal.
    assert windows.windows_pids() == []
    assert any(line == "wineserver -k" for line in windows.calls())
    assert not any("wineserver -w" in line for line in windows.calls())


def test_gives_up_after_its_attempts_without_hanging(windows: FakeWindows) -> None:
    result = windows.run("install-mt5.sh", FAKE_SETUP_MODES="hang", MT5_INSTALL_ATTEMPTS="2")
    assert result.returncode == 1
    assert setup_runs(windows) == 2
    assert "not installed after 2 attempts" in result.stderr
    assert windows.windows_pids() == []
    assert not windows.terminal_exe.exists()


def test_a_failing_installer_is_retried(windows: FakeWindows) -> None:
    result = windows.run("install-mt5.sh", FAKE_SETUP_MODES="fail,fail,install")
    assert result.returncode == 0, result.stderr
    assert setup_runs(windows) == 3
    assert windows.windows_pids() == []


def test_nothing_to_do_when_installed(windows: FakeWindows) -> None:
    windows.install_terminal()
    result = windows.run("install-mt5.sh")
    assert result.returncode == 0 and setup_runs(windows) == 0


def test_installer_with_the_wrong_checksum_never_runs(windows: FakeWindows) -> None:
    result = windows.run("install-mt5.sh", MT5_SETUP_SHA256="0" * 64, MT5_INSTALL_ATTEMPTS="1")
    assert result.returncode == 1
    assert "does not match MT5_SETUP_SHA256" in result.stderr
    assert setup_runs(windows) == 0


def test_installer_with_the_pinned_checksum_runs(windows: FakeWindows, tmp_path: Path) -> None:
    digest = hashlib.sha256((tmp_path / "download" / "mt5setup.exe").read_bytes()).hexdigest()
    result = windows.run("install-mt5.sh", MT5_SETUP_SHA256=digest)
    assert result.returncode == 0, result.stderr
    assert setup_runs(windows) == 1


def test_terminal_service_installs_then_runs_the_terminal_in_the_foreground(
    windows: FakeWindows,
) -> None:
    """First start without a terminal from the build: install, then exec the terminal with
    the startup configuration (s6 supervises that process)."""
    windows.run_dir.mkdir()
    (windows.run_dir / "startup.ini").write_bytes(b"\xff\xfe")
    proc = subprocess.Popen(
        ["bash", str(IMAGE / "run-mt5-terminal.sh")],
        env={**windows.env, "FAKE_SETUP_MODES": "install"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_until(lambda: terminal_launches(windows) == 1, proc)
        launch = [c for c in windows.calls() if c.split(" /", 1)[0].endswith("terminal64.exe")]
        ini = "Z:" + str(windows.run_dir / "startup.ini").replace("/", "\\")
        assert launch[0].endswith("/config:" + ini)
        assert proc.poll() is None  # the terminal runs in the foreground of the service
    finally:
        proc.kill()
        proc.wait()


def test_terminal_service_does_not_start_a_second_terminal(windows: FakeWindows) -> None:
    """After a live update the terminal restarts itself detached; the service must wait for
    that one instead of starting another, and end when it ends (s6 then starts a fresh one)."""
    windows.install_terminal()
    subprocess.run(
        ["wine", str(windows.terminal_exe)],
        env={**windows.env, "FAKE_TERMINAL_MODE": "restart"},
        check=True,
        timeout=30,
    )
    assert wait_until(lambda: len(windows.windows_pids()) == 1)
    launches_before = terminal_launches(windows)
    proc = subprocess.Popen(
        ["bash", str(IMAGE / "run-mt5-terminal.sh")],
        env=windows.env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_until(lambda: b"already running" in _stderr_so_far(proc), proc)
        assert terminal_launches(windows) == launches_before
        windows.kill_windows()
        assert proc.wait(timeout=30) == 0
        assert terminal_launches(windows) == launches_before
    finally:
        proc.kill()
        proc.wait()


def terminal_launches(fake: FakeWindows) -> int:
    return sum(1 for c in fake.calls() if c.split(" /", 1)[0].endswith("terminal64.exe"))


_seen: dict[int, bytes] = {}


def _stderr_so_far(proc: subprocess.Popen[str]) -> bytes:
    """Lines the process wrote to stderr so far (non-blocking)."""
    import fcntl
    import os

    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        chunk = b""
    _seen[proc.pid] = _seen.get(proc.pid, b"") + chunk
    return _seen[proc.pid]


def wait_until(
    condition: object, proc: subprocess.Popen[str] | None = None, attempts: int = 300
) -> bool:
    """Poll a condition (bounded attempts, 0.1 s apart); False if it never held."""
    assert callable(condition)
    for _ in range(attempts):
        if condition():
            return True
        if proc is not None and proc.poll() is not None:
            return bool(condition())
        time.sleep(0.1)
    return False


def test_the_server_starts_only_after_the_install_is_over(windows: FakeWindows) -> None:
    """install-mt5.sh ends each attempt with `wineserver -k`, which kills every Windows process
    of the prefix.  The terminal server waits for terminal64.exe; it must also wait for the
    install to end, or the install's kill takes it down right after it started."""
    windows.run_dir.mkdir()
    (windows.run_dir / "terminal_secret").write_text("install-race-secret-0123456789")
    port = free_port()
    env = {**windows.env, "TERMINAL_HOST": "127.0.0.1", "TERMINAL_PORT": str(port),
           "MT5GW_POLL_S": "0.1", "LOG_LEVEL": "WARNING"}  # fmt: skip
    server = subprocess.Popen(
        ["bash", str(IMAGE / "run-terminal-server.sh")], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        # terminal64.exe appears at once; the install then checks it twice, 1 s apart, and
        # kills the prefix: the server (polling every 0.1 s) sees the file long before that.
        install = windows.run("install-mt5.sh", FAKE_SETUP_MODES="install", MT5_INSTALL_POLL_S="1")
        assert install.returncode == 0, install.stderr
        wait_for_port(port, server, attempts=600)
        calls = windows.calls()
        last_kill = max(i for i, c in enumerate(calls) if c == "wineserver -k")
        first_server = min(i for i, c in enumerate(calls) if c.startswith("python-args"))
        assert last_kill < first_server, calls
        assert server.poll() is None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
