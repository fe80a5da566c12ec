"""Start the real terminal server (``python -m terminal_server``) as a subprocess for tests.

Reusable from other test folders::

    sys.path.insert(0, str(REPO / "tests" / "terminal"))
    from server_process import start_terminal_server

    with start_terminal_server(terminals=2) as server:
        RpycTerminal("t1", server.host, server.ports[0])
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
READY_LINE = "ready:"
STARTUP_DEADLINE_S = 60.0


def free_ports(count: int = 1, host: str = "127.0.0.1") -> list[int]:
    """``count`` consecutive TCP ports that are free right now."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind((host, 0))
            first = probe.getsockname()[1]
        if first + count > 65535:
            continue
        if all(_port_free(host, port) for port in range(first, first + count)):
            return list(range(first, first + count))
    raise RuntimeError("no run of free ports found")


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class TerminalServerProcess:
    """A running ``python -m terminal_server``; use as a context manager or call ``stop()``."""

    def __init__(
        self,
        args: list[str],
        host: str,
        ports: list[int],
        log_path: str,
        compat_port: int | None = None,
        *,
        fd_limit: int | None = None,
        env: Mapping[str, str | None] | None = None,
    ) -> None:
        self.host = host
        self.compat_port = compat_port
        self.ports = ports
        self.port = ports[0]
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - the server writes to it until stop()
        environ = dict(os.environ)
        environ["PYTHONPATH"] = os.pathsep.join(
            [str(REPO), str(REPO / "terminal-image"), environ.get("PYTHONPATH", "")]
        )
        for name, value in (env or {}).items():  # None removes a variable
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value
        self.process = subprocess.Popen(
            [sys.executable, "-m", "terminal_server", *args],
            cwd=REPO,
            env=environ,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_limit_descriptors(fd_limit) if fd_limit else None,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        """Everything the server has logged so far (stdout and stderr)."""
        return Path(self.log_path).read_text()

    def wait_ready(self) -> TerminalServerProcess:
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while READY_LINE not in self.output():
            if self.process.poll() is not None:
                raise RuntimeError(f"terminal server exited early:\n{self.output()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"terminal server did not start:\n{self.output()}")
            time.sleep(0.05)
        return self

    def stop(self) -> int:
        """Terminate (SIGTERM, then SIGKILL after 10 s); returns the exit status."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> TerminalServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _limit_descriptors(limit: int) -> Callable[[], None]:
    """A ``preexec_fn`` giving the child a soft RLIMIT_NOFILE of ``limit`` (``ulimit -n``)."""

    def apply() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))

    return apply


def start_terminal_server(
    *,
    terminals: int = 1,
    host: str = "127.0.0.1",
    port: int | None = None,
    extra_args: Sequence[str] = (),
    classic_compat: bool = False,
    wait: bool = True,
    fd_limit: int | None = None,
    env: Mapping[str, str | None] | None = None,
) -> TerminalServerProcess:
    """Start ``python -m terminal_server --backend sim`` on free ports and wait until ready.

    ``server.ports`` are the terminal ports; with ``classic_compat`` the mt5linux port is
    ``server.compat_port``. ``extra_args`` go to the CLI as they are (auth, TLS, profile...);
    ``fd_limit`` runs it under that ``ulimit -n``; ``env`` adds (or, with None, removes)
    environment variables."""
    ports = [port + i for i in range(terminals)] if port else free_ports(terminals + 1, host)
    args = ["--backend", "sim", "--host", host, "--port", str(ports[0])]
    args += ["--terminals", str(terminals), *extra_args]
    compat_port = None
    if classic_compat:
        compat_port = ports[terminals] if len(ports) > terminals else free_ports(1, host)[0]
        args += ["--classic-compat-port", str(compat_port)]
    handle, log_path = tempfile.mkstemp(prefix="terminal-server-", suffix=".log")
    os.close(handle)
    server = TerminalServerProcess(
        args, host, ports[:terminals], log_path, compat_port, fd_limit=fd_limit, env=env
    )
    return server.wait_ready() if wait else server


def run_terminal_server_cli(
    args: Sequence[str], timeout_s: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion (for arguments it must refuse)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "terminal-image")])
    return subprocess.run(
        [sys.executable, "-m", "terminal_server", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
