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
