"""deploy/env.example names only settings the gateway really reads, and a filled-in copy
passes the gateway's production checks."""

from __future__ import annotations

import re

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
    values["terminal_secret"] = "4f" * 32
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
        ("mt5", "127.0.0.1", 8001)
    ]
    assert settings.jwks_url == (
        "https://your-project-ref.supabase.co/auth/v1/.well-known/jwks.json"
    )
