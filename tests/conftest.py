"""Suite-wide: figures a test measures (e.g. the systemd sandbox exposure) shown at the end of
the run, also under pytest-xdist.

xdist drops what a worker prints, even through ``capsys.disabled()``, so a test hands its
figure to the ``report_figure`` fixture instead: the line goes to a file in this run's folder
under tests/artifacts/figures/, and the controller (which runs ``pytest_terminal_summary``
under xdist too) prints every line in a "figures" section and keeps them in
tests/artifacts/figures.txt.  The folder is per run (the controller names it in
``MT5GW_TEST_FIGURES`` before the workers start; they inherit it), so runs side by side in one
checkout never mix their figures."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FIGURES_ENV = "MT5GW_TEST_FIGURES"


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if _is_worker(config):
        return
    folder = ARTIFACTS / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[FIGURES_ENV] = tempfile.mkdtemp(prefix="run-", dir=folder)


def _run_folder() -> Path | None:
    value = os.environ.get(FIGURES_ENV)
    return Path(value) if value else None


@pytest.fixture
def report_figure() -> Callable[[str, str], None]:
    """``report_figure(name, line)``: print ``line`` in the run's closing "figures" section."""

    def report(name: str, line: str) -> None:
        folder = _run_folder()
        if folder is None or not folder.is_dir():
            return
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        (folder / f"{safe}.txt").write_text(line.strip() + "\n")

    return report


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    folder = _run_folder()
    if _is_worker(config) or folder is None or not folder.is_dir():
        return
    lines = [path.read_text().strip() for path in sorted(folder.glob("*.txt"))]
    if lines:
        terminalreporter.write_sep("-", "figures")
        for line in lines:
            terminalreporter.write_line(line)
        (ARTIFACTS / "figures.txt").write_text("\n".join(lines) + "\n")


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = _run_folder()
    if not _is_worker(config) and folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
