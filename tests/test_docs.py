"""The README's tables stay true: the retcode table is the code's, every setting is listed."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.config import Settings
from gateway.trading.retcodes import markdown_table

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def block(name: str) -> str:
    match = re.search(f"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", README, re.S)
    assert match, name
    return match.group(1)


def test_retcode_table_is_the_code_table() -> None:
    assert block("retcode-table").strip() == markdown_table().strip()


def test_every_setting_is_in_the_table() -> None:
    table = block("settings-table")
    # the first column of each row names the settings (several may share a row)
    first_cells = [row.split("|")[1] for row in table.splitlines()[2:]]
    listed = {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}
    assert {name.upper() for name in Settings.model_fields} <= listed
    assert listed <= {name.upper() for name in Settings.model_fields}


def test_the_two_commands_and_the_curl_line() -> None:
    assert "make run" in README and "make test" in README
    assert 'curl -H "Authorization: Bearer $(make -s token)"' in README


REPO = Path(__file__).resolve().parent.parent
# Top-level folders a newcomer must find in the table (build output, data and venvs aside).
TOP_LEVEL = ("simulator", "terminal-image", "clients", "bench", "deploy", "nginx", "tests")


def folder_table_paths() -> set[str]:
    """The folders the README's folder table names in its first column, as ``a/b``."""
    rows = block("folder-table").splitlines()[2:]
    cells = [row.split("|")[1] for row in rows]
    return {name.rstrip("/") for cell in cells for name in re.findall(r"`([^`]+/)`", cell)}


def test_every_gateway_package_is_in_the_folder_table() -> None:
    packages = {
        f"gateway/{folder.name}"
        for folder in (REPO / "gateway").iterdir()
        if folder.is_dir() and any(folder.glob("*.py"))
    }
    assert "gateway/trading" in packages and "gateway/events" in packages  # the scan works
    listed = folder_table_paths()
    assert not packages - listed, f"add to the README's folder table: {sorted(packages - listed)}"


def test_the_top_level_folders_are_in_the_folder_table() -> None:
    listed = folder_table_paths()
    assert not set(TOP_LEVEL) - listed, sorted(set(TOP_LEVEL) - listed)


def test_every_folder_the_table_names_exists() -> None:
    missing = sorted(p for p in folder_table_paths() if not (REPO / p).is_dir())
    assert not missing, f"the README's folder table names folders that are gone: {missing}"
