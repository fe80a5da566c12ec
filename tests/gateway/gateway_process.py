"""The gateway as operators run it: ``uvicorn --factory gateway.main:create_app`` in its own
process, configured by environment variables only, with everything it prints kept for the test.

It runs in an empty working directory (no ``.env`` of the checkout is read) with none of the
caller's gateway settings in its environment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
from helpers import free_port

from gateway.config import Settings

STARTUP_DEADLINE_S = 90.0


def clean_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """The current environment without any gateway setting, plus ``settings``."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env.update(settings)
    return env


class GatewayProcess:
    """``with GatewayProcess({...}) as gw:`` → ``gw.url``, ``gw.output()``, ``gw.lines()``."""

    def __init__(self, settings: Mapping[str, str], cwd: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cwd = cwd or Path(tempfile.mkdtemp(prefix="mt5gw-proc-"))
        self.log_path = self.cwd / "gateway.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - written by the child until stop()
        command = [sys.executable, "-m", "uvicorn", "--factory", "gateway.main:create_app"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command,
            cwd=self.cwd,
            env=clean_environment(settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def lines(self) -> list[str]:
        return [line for line in self.output().splitlines() if line.strip()]

    def wait_ready(self) -> GatewayProcess:
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=10).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gateway did not start:\n{self.output()}")
            time.sleep(0.1)

    def wait_exit(self, timeout_s: float = 60.0) -> int:
        code = self.process.wait(timeout=timeout_s)
        self._log.close()
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn's own graceful shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()

    def __enter__(self) -> GatewayProcess:
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
