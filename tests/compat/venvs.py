"""The mt5linux client matrix: one cached venv per combination of pins.

Each :class:`Combo` names a Python version and the exact pip requirements of one client
environment. Its venv lives under the cache folder in a directory named by a hash of
(Python version, pins, ``LAYOUT``), so a changed pin builds a new venv and an unchanged one is
reused. A venv is complete once its ``.complete`` marker exists; a half-built one is removed
and built again.

Cache folder: ``$MT5GW_COMPAT_CACHE``, else ``~/.cache/mt5gw/compat-venvs`` (outside the
checkout, so CI's fresh clone on the same machine reuses the venvs). With ``uv`` on PATH or
next to this Python (``pip install uv``), venvs are built with it: a cold build of the whole
matrix then takes about a minute instead of about fifteen with pip.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

LAYOUT = 1  # bump to rebuild every venv
PIP_TIMEOUT_S = 900


@dataclass(frozen=True)
class Combo:
    """One client environment: a Python version and its pip requirements."""

    name: str
    python: str  # "3.10"
    requirements: tuple[str, ...]
    no_deps: tuple[str, ...] = ()  # installed with --no-deps after the requirements
    note: str = ""
    known_failures: dict[str, str] = field(default_factory=dict)  # program -> error start

    @property
    def key(self) -> str:
        text = json.dumps([LAYOUT, self.python, self.requirements, self.no_deps])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# mt5linux 0.1.9 sends market_book_release as the literal text "mt5.market_book_release(symbol)"
# (its own bug: `symbol` is not defined on the server), so that one call fails in every venv.
MT5LINUX_019_BUGS = {"market_book": "NameError"}

COMBOS: tuple[Combo, ...] = (
    Combo(
        "mt5linux0.1.9-own-pins",
        "3.10",
        ("mt5linux==0.1.9", "pandas==1.5.3"),
        note="pip install mt5linux==0.1.9 as it comes: rpyc 5.0.1, numpy 1.21.4",
        known_failures=MT5LINUX_019_BUGS,
    ),
    Combo(
        "rpyc6-numpy1.21",
        "3.10",
        ("rpyc==6.0.2", "numpy==1.21.4", "pandas==1.5.3"),
        no_deps=("mt5linux==0.1.9",),
        known_failures=MT5LINUX_019_BUGS,
    ),
    Combo(
        "rpyc5-numpy1.26",
        "3.11",
        ("rpyc==5.3.1", "numpy==1.26.4", "pandas==2.2.3"),
        no_deps=("mt5linux==0.1.9",),
        known_failures=MT5LINUX_019_BUGS,
    ),
    Combo(
        "rpyc5-numpy2",
        "3.12",
        ("rpyc==5.0.1", "numpy==2.2.6", "pandas==2.3.3"),
        no_deps=("mt5linux==0.1.9",),
        known_failures=MT5LINUX_019_BUGS,
    ),
    Combo(
        "rpyc6-numpy2",
        "3.12",
        ("rpyc==6.0.2", "numpy==2.2.6", "pandas==2.3.3"),
        no_deps=("mt5linux==0.1.9",),
        known_failures=MT5LINUX_019_BUGS,
    ),
)


# The current release: it finds its server only through a Docker/udocker container and fetches
# every result by pickling it (tests/compat/test_mt5linux_current.py).
CURRENT = Combo("mt5linux1.1.1", "3.12", ("mt5linux==1.1.1", "pandas==2.3.3"))


def cache_root() -> Path:
    configured = os.environ.get("MT5GW_COMPAT_CACHE")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "mt5gw" / "compat-venvs"


def find_python(version: str) -> str | None:
    """An interpreter of ``version``: pyenv's, or ``pythonX.Y`` on PATH."""
    pyenv = Path.home() / ".pyenv" / "versions"
    if pyenv.is_dir():
        for candidate in sorted(pyenv.glob(f"{version}.*"), reverse=True):
            binary = candidate / "bin" / "python"
            if binary.exists():
                return str(binary)
    return shutil.which(f"python{version}")


def find_uv() -> str | None:
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.exists() else shutil.which("uv")


def venv_python(combo: Combo) -> Path:
    return cache_root() / f"{combo.name}-{combo.key}" / "bin" / "python"


def ensure_venv(combo: Combo) -> Path:
    """The venv's python, building the venv first unless a complete one is cached.
    RuntimeError (with pip's output) when it cannot be built; LookupError without Python."""
    python = venv_python(combo)
    home = python.parent.parent
    if (home / ".complete").exists():
        return python
    base = find_python(combo.python)
    if base is None:
        raise LookupError(f"no Python {combo.python} interpreter for {combo.name}")
    shutil.rmtree(home, ignore_errors=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    uv = find_uv()
    if uv:
        _run([uv, "venv", "--quiet", "--seed", "--python", base, str(home)])
        pip = [uv, "pip", "install", "--quiet", "--python", str(python)]
    else:
        _run([base, "-m", "venv", str(home)])
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, *combo.requirements])
    if combo.no_deps:
        _run([*pip, "--no-deps", *combo.no_deps])
    (home / ".complete").write_text(json.dumps(combo.requirements + combo.no_deps))
    return python


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def installed_versions(python: Path) -> dict[str, str]:
    """Versions of rpyc, numpy, pandas and mt5linux inside a venv."""
    code = (
        "import json, importlib.metadata as m\n"
        "print(json.dumps({n: m.version(n) for n in ('rpyc', 'numpy', 'pandas', 'mt5linux')}))"
    )
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout)
