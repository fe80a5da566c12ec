"""The embedded default: a simulator terminal server started as a child process.

The gateway never imports the simulator; it starts
``python -m terminal_server --backend sim --terminals N`` on free loopback ports (one per
simulated terminal, all sharing one simulated world), exactly as a real terminal server runs
next to MT5, and reaches them over RPyC like any other terminal.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import time
from pathlib import Path

log = logging.getLogger("gateway.embedded")

_REPO = Path(__file__).resolve().parents[2]
_IMAGE_DIR = _REPO / "terminal-image"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(count: int, host: str = "127.0.0.1") -> int:
    """The first of ``count`` consecutive ports that are free right now."""
    for _ in range(100):
        first = free_port(host)
        if first + count <= 65536 and all(
            _bindable(host, p) for p in range(first + 1, first + count)
        ):
            return first
    raise RuntimeError(f"no {count} consecutive free ports on {host}")


async def _accepts(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


class EmbeddedSimulator:
    """One ``terminal_server --backend sim`` child process serving ``terminals`` terminals on
    127.0.0.1, ports ``port`` .. ``port + terminals - 1`` (see :attr:`ports`)."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int | None = None, terminals: int = 1
    ) -> None:
        self.host = host
        self.terminals = terminals
        self.port = port or free_ports(terminals, host)
        self._process: asyncio.subprocess.Process | None = None

    @property
    def ports(self) -> list[int]:
        return list(range(self.port, self.port + self.terminals))

    async def start(self, timeout_s: float) -> None:
        env = dict(os.environ)
        if _IMAGE_DIR.is_dir():  # works from a checkout even without the editable install
            paths = (str(_IMAGE_DIR), str(_REPO), env.get("PYTHONPATH", ""))
            env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        args = ["-m", "terminal_server", "--backend", "sim"]
        args += ["--host", self.host, "--port", str(self.port), "--terminals", str(self.terminals)]
        self._process = await asyncio.create_subprocess_exec(sys.executable, *args, env=env)
        log.info(
            "started simulator terminal server: %d terminal(s) on %s:%d",
            self.terminals,
            self.host,
            self.port,
        )
        deadline = time.monotonic() + timeout_s
        while not await _accepts(self.host, self.ports[-1]):
            if self._process.returncode is not None:
                raise RuntimeError(f"simulator exited with code {self._process.returncode}")
            if time.monotonic() > deadline:
                await self.stop()
                raise RuntimeError("simulator terminal server did not start in time")
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            process.kill()
            await process.wait()
