"""The mt5linux matrix (issue 14): stock mt5linux clients, as pip installs them, against the
terminal server's classic-compat port.

Each combination (tests/compat/venvs.py) runs in its own cached venv: the docs-example programs
(tests/bots/examples/docs_programs.py), which build DataFrames from positions_get() and the
other results, run through ``mt5linux.MetaTrader5(host, port)`` in a subprocess and report
per program. The interpreter a combination needs may be missing on a developer machine: the
test then skips, unless ``MT5GW_REQUIRE_BINARIES=1`` (CI), where it fails.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import venvs
from compat_support import fresh_terminal, venv_for

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = REPO / "tests" / "bots" / "examples" / "docs_programs.py"
CLIENT_TIMEOUT_S = 600


def run_client(python: Path, server) -> dict[str, str]:
    done = subprocess.run(
        [str(python), str(PROGRAMS), "--host", server.host, "--port", str(server.compat_port)],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("combo", venvs.COMBOS, ids=[c.name for c in venvs.COMBOS])
def test_stock_mt5linux_runs_the_docs_programs(combo: venvs.Combo, compat_server) -> None:
    python = venv_for(combo)
    installed = venvs.installed_versions(python)
    pins = {r.split("==")[0]: r.split("==")[1] for r in combo.requirements + combo.no_deps}
    for name in ("rpyc", "numpy", "pandas", "mt5linux"):
        if name in pins:
            assert installed[name] == pins[name], (name, installed)
    fresh_terminal(compat_server)
    report = run_client(python, compat_server)
    assert len(report) == 17
    failures = {name: text for name, text in report.items() if text != "ok"}
    expected = {name: text for name, text in failures.items()
                if text.startswith(combo.known_failures.get(name, "\0"))}  # fmt: skip
    assert failures == expected, f"{combo.name} ({installed}): {failures}"
    # Every known failure still happens (an mt5linux fix would show up here).
    assert set(expected) == set(combo.known_failures)
    for name in ("positions", "orders", "history", "copy_rates", "account_info"):
        assert report[name] == "ok"  # the DataFrames built from results work
