"""Fake `wine` and `wineserver` for running the terminal image's scripts as plain processes.

Only Windows is faked; everything else is real: the scripts, bash, curl (file:// URLs), s6,
the terminal server (Linux Python with the simulator standing in for the MetaTrader5 package).

`wine PROGRAM ARGS` behaves by program name:
* ``...mt5setup.exe``: the Nth run does what the Nth word of $FAKE_SETUP_MODES says:
  ``hang`` (never ends), ``fail`` (exits 1), ``install`` (writes terminal64.exe, starts the
  terminal as the real installer does, and then hangs);
* ``...terminal64.exe``: a terminal that runs until killed; with FAKE_TERMINAL_MODE=restart
  it starts a detached copy of itself and exits, like MT5 after a live update;
* ``...python.exe -m terminal_server ...``: the real terminal server under Linux Python, with
  Wine's Z: paths turned back into Linux paths (FAKE_PYTHON_MODE=echo: only log the call).
Every call is logged to $FAKE_LOG.  `wineserver -k` kills the fake Windows processes of
$WINEPREFIX (they carry FAKE_WINE_PROC=1 in their environment), as the real one does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from deploy_support import REPO

IMAGE = REPO / "terminal-image"

FAKE_WINE = r"""#!/bin/bash
exe="$1"; shift
printf '%s\n' "$exe $*" >>"$FAKE_LOG"
export FAKE_WINE_PROC=1
terminal_name='C:\Program Files\MetaTrader 5\terminal64.exe'
start_terminal() {  # a terminal detached from the caller, as Wine starts Windows programs
    setsid bash -c "exec -a '$terminal_name' sleep 100000" </dev/null >/dev/null 2>&1 &
}
case "$exe" in
    *mt5setup.exe)
        runs=$(( $(cat "$FAKE_STATE/setup-runs" 2>/dev/null || echo 0) + 1 ))
        echo "$runs" >"$FAKE_STATE/setup-runs"
        IFS=, read -r -a modes <<<"${FAKE_SETUP_MODES:-install}"
        mode="${modes[$(( runs - 1 ))]:-${modes[-1]}}"
        case "$mode" in
            fail) exit 1 ;;
            install)
                dir="$WINEPREFIX/drive_c/Program Files/MetaTrader 5"
                mkdir -p "$dir"
                printf 'MZ fake terminal' >"$dir/terminal64.exe"
                start_terminal
                ;;
        esac
        exec -a "$exe" sleep 100000
        ;;
    *terminal64.exe)
        if [ "${FAKE_TERMINAL_MODE:-run}" = restart ]; then
            start_terminal
            exit 0
        fi
        exec -a "$terminal_name" sleep 100000
        ;;
    *python.exe)
        args=()
        for arg in "$@"; do
            if [[ "$arg" == Z:* ]]; then arg="${arg#Z:}"; arg="${arg//\\//}"; fi
            args+=("$arg")
        done
        printf 'python-args %s\n' "${args[*]}" >>"$FAKE_LOG"
        [ "${FAKE_PYTHON_MODE:-run}" = echo ] && exit 0
        exec "$FAKE_PYTHON" "${args[@]}"
        ;;
esac
echo "fake wine: no fake for $exe" >&2
exit 2
"""

FAKE_WINESERVER = r"""#!/bin/bash
printf 'wineserver %s\n' "$*" >>"$FAKE_LOG"
[ "${1:-}" = -k ] || exit 0
for environ in /proc/[0-9]*/environ; do
    pid="${environ#/proc/}"; pid="${pid%/environ}"
    vars=$(tr '\0' '\n' 2>/dev/null <"$environ") || continue
    if grep -qx 'FAKE_WINE_PROC=1' <<<"$vars" && grep -qxF "WINEPREFIX=$WINEPREFIX" <<<"$vars"; then
        kill -KILL "$pid" 2>/dev/null
    fi
done
exit 0
"""

# Stands in for the Windows-only MetaTrader5 package: one simulated terminal.
FAKE_MT5_MODULE = """
from simulator.catalog import DEMO_SEED, demo_servers
from simulator.module import make_module
from simulator.terminal import SimulatedTerminal
from simulator.world import World

_module = make_module(SimulatedTerminal(World(seed=DEMO_SEED, servers=demo_servers()), name="mt5"))
globals().update({k: getattr(_module, k) for k in dir(_module) if not k.startswith("__")})
"""


@dataclass
class FakeWindows:
    """A temp tree laid out like the container, and the environment for the scripts."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> Path:
        return self.root / "config" / ".wine"

    @property
    def terminal_exe(self) -> Path:
        return self.prefix / "drive_c" / "Program Files" / "MetaTrader 5" / "terminal64.exe"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "config" / "logs"

    def calls(self) -> list[str]:
        log = Path(self.env["FAKE_LOG"])
        return log.read_text().splitlines() if log.exists() else []

    def install_terminal(self) -> None:
        self.terminal_exe.parent.mkdir(parents=True, exist_ok=True)
        self.terminal_exe.write_bytes(b"MZ fake terminal")

    def windows_pids(self) -> list[int]:
        """Fake Windows processes still running in this prefix."""
        found = []
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                variables = environ.read_bytes().split(b"\0")
            except OSError:
                continue
            if b"FAKE_WINE_PROC=1" in variables and (
                f"WINEPREFIX={self.prefix}".encode() in variables
            ):
                found.append(int(environ.parent.name))
        return found

    def kill_windows(self) -> None:
        subprocess.run(["wineserver", "-k"], env=self.env, check=False, timeout=30)

    def run(
        self, script: str, *args: str, timeout: float = 60, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """Run a terminal-image script to completion (the timeout is only a safety bound)."""
        return subprocess.run(
            ["bash", str(IMAGE / script), *args],
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def fake_windows(tmp_path: Path) -> FakeWindows:
    bin_dir = tmp_path / "bin"
    state = tmp_path / "state"
    modules = tmp_path / "pymodules"
    for folder in (bin_dir, state, modules, tmp_path / "config"):
        folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("wine", FAKE_WINE), ("wineserver", FAKE_WINESERVER)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (modules / "MetaTrader5.py").write_text(FAKE_MT5_MODULE)
    fake = FakeWindows(tmp_path)
    fake.env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MT5", "TERMINAL_", "FAKE_"))},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "WINEPREFIX": str(fake.prefix),
        "MT5GW_HOME": str(IMAGE),
        "MT5GW_RUN": str(fake.run_dir),
        "MT5GW_LOGS": str(fake.logs),
        "MT5GW_USER": "",
        "MT5GW_POLL_S": "0.2",
        "MT5GW_RETRY_PAUSE_S": "1",
        "MT5_INSTALL_POLL_S": "0.2",
        "FAKE_LOG": str(state / "calls.log"),
        "FAKE_STATE": str(state),
        "FAKE_PYTHON": sys.executable,
        "PYTHONPATH": os.pathsep.join([str(modules), str(REPO), str(IMAGE)]),
    }
    fake.env.pop("DISPLAY", None)
    return fake
