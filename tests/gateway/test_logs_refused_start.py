"""A production start refused for a bad setting prints no piece of any secret (issue 8 item 12).

Pydantic quotes the input of a failed validation; for a model-level check that input is every
setting, so the end of ``DEFAULT_ACCOUNT_PASSWORD``, ``MT5_ENCRYPTION_KEYS`` or
``SUPABASE_JWT_SECRET`` reached the log. Each case starts the real ``uvicorn --factory`` process
with the three secrets set, one setting wrong, and reads everything it printed.
"""

from __future__ import annotations

import json

import pytest
from gateway_process import GatewayProcess

from gateway.store.crypto import generate_key

PASSWORD = "Pw7hQzXk2Lm9RtVb"
KEYRING = generate_key("k1")
JWT_SECRET = "Hs9Yq4WtJc8Rn2Lp5Dz7Fv3Xb6Mg1Ks0Qa"  # 34 characters: acceptable
GOOD = {
    "ENVIRONMENT": "production",
    "SUPABASE_URL": "http://127.0.0.1:9",
    "SUPABASE_JWT_SECRET": JWT_SECRET,
    "MT5_ENCRYPTION_KEYS": KEYRING,
    "DEFAULT_ACCOUNT_PASSWORD": PASSWORD,
    "TERMINALS": "t1=127.0.0.1:9",
    "DATABASE_URL": "sqlite+aiosqlite:///./gateway.db",
}
CASES = {
    "short-jwt-secret": {"SUPABASE_JWT_SECRET": "Hs9Yq4WtJc8Rn2Lp"},
    "placeholder-encryption-key": {"MT5_ENCRYPTION_KEYS": "k1:REPLACEvWq8Jd3Nf5Gh7Kp1Ls4Zx6Cb"},
    "no-supabase-url": {"SUPABASE_URL": ""},
    "malformed-encryption-key": {"MT5_ENCRYPTION_KEYS": "k1:Zq8!Jd3#Nf5Gh7Kp1Ls4Zx6CbWq"},
}


def pieces(secret: str, size: int = 5) -> set[str]:
    """Every run of ``size`` characters of the secret's value (a key's id is no secret)."""
    value = secret.removeprefix("k1:")
    return {value[i : i + size] for i in range(len(value) - size + 1)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_start_prints_no_secret(case: str) -> None:
    env = {**GOOD, **CASES[case]}
    gateway = GatewayProcess(env)
    code = gateway.wait_exit()
    output = gateway.output()
    assert code != 0, output
    secrets = {
        env["SUPABASE_JWT_SECRET"],
        env["MT5_ENCRYPTION_KEYS"],
        env["DEFAULT_ACCOUNT_PASSWORD"],
    }
    for secret in secrets:
        for piece in pieces(secret):
            assert piece not in output, f"{piece!r} of a secret printed:\n{output}"
    lines = gateway.lines()
    records = [json.loads(line) for line in lines]  # every line is JSON
    refusal = [r for r in records if r["level"] in ("CRITICAL", "ERROR")]
    assert refusal, output
