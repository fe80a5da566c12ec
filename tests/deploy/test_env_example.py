"""deploy/env.example names only settings the gateway really reads, and a filled-in copy
passes the gateway's production checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from deploy_support import REPO
from pydantic import ValidationError

from gateway.store.crypto import generate_key

EXAMPLE = REPO / "deploy" / "env.example"


def example_keys(include_commented: bool) -> dict[str, str]:
    pattern = r"^#?\s?([A-Z][A-Z0-9_]+)=(.*)$" if include_commented else r"^([A-Z][A-Z0-9_]+)=(.*)$"
    return {m[1]: m[2] for m in re.finditer(pattern, EXAMPLE.read_text(), re.M)}


def test_every_name_is_a_real_setting() -> None:
    from gateway.config import Settings

    known = {name.upper() for name in Settings.model_fields}
    unknown = set(example_keys(include_commented=True)) - known
    assert not unknown, f"env.example names settings the gateway does not have: {unknown}"


def filled_in() -> dict[str, str]:
    """The example with its REPLACE_... templates filled in, as an operator would."""
    values = {k.lower(): v for k, v in example_keys(include_commented=False).items() if v}
    values["terminal_secrets"] = "mt5-1=" + "4f" * 32
    values["mt5_encryption_keys"] = generate_key("k1")
    return values


def test_unfilled_example_is_refused_in_production() -> None:
    from gateway.config import Settings

    values = {k.lower(): v for k, v in example_keys(include_commented=False).items() if v}
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(_env_file=None, **values)


def test_filled_in_example_is_accepted_in_production() -> None:
    from gateway.config import Settings

    settings = Settings(_env_file=None, **filled_in())
    assert settings.is_production
    assert [(e.name, e.host, e.port) for e in settings.terminal_endpoints()] == [
        ("mt5-1", "127.0.0.1", 8001)
    ]
    assert settings.jwks_url == (
        "https://your-project-ref.supabase.co/auth/v1/.well-known/jwks.json"
    )


def test_terminals_line_is_what_deploy_terminals_prints(tmp_path: Path) -> None:
    """The example's TERMINALS= is the line `deploy/terminals.sh 1` prints for the compose
    file's first terminal, and that line is a valid gateway setting for any N."""
    import shutil
    import subprocess

    from gateway.config import parse_terminals

    shutil.copy(REPO / "docker-compose.yml", tmp_path / "docker-compose.yml")
    printed = {}
    for count in (1, 4):
        result = subprocess.run(
            ["bash", str(REPO / "deploy" / "terminals.sh"), str(count), "--dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        line = next(ln for ln in result.stdout.splitlines() if ln.startswith("TERMINALS="))
        printed[count] = line.removeprefix("TERMINALS=")
    assert example_keys(include_commented=False)["TERMINALS"] == printed[1]
    assert [(e.name, e.port) for e in parse_terminals(printed[4])] == [
        (f"mt5-{n}", 8000 + n) for n in range(1, 5)
    ]
