"""A non-editable install (what the runbook's `pip install .` makes) carries the migrations
and the terminal server, and migrates a database from outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_installed_package_migrates_from_anywhere(tmp_path: Path) -> None:
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], check=True)
    (wheel,) = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "gateway/migrations/env.py" in names and "terminal_server/__main__.py" in names
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    script = (
        "import asyncio, gateway.db as db\n"
        f"assert db.__file__.startswith({str(target)!r}), db.__file__\n"
        f"asyncio.run(db.upgrade_database('sqlite+aiosqlite:///{tmp_path / 'x.db'}'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=True)
