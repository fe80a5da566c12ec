"""`python -m gateway.store.rotate` moves every stored password and webhook secret onto the
first key."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from gateway.db import make_engine, make_sessionmaker, session_scope, upgrade_database
from gateway.store import accounts
from gateway.store.crypto import Keyring, generate_key
from gateway.webhooks.delivery import decrypt_secret, secret_aad
from gateway.webhooks.models import WebhookEndpoint

HOOK_ID = "0b6f1c9e-2d4a-4e8b-9a51-7c3e5d2f1a00"
HOOK_SECRET = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LTMyYnl0ZXMhIQ=="


async def _store_on_old_key(url: str, old: Keyring) -> None:
    await upgrade_database(url)
    engine = make_engine(url)
    try:
        async with session_scope(make_sessionmaker(engine)) as s:
            for login in (10001, 10002, 10003):
                await accounts.save(
                    s, old, user_id="u", login=login, server="Sim-Demo", password=f"p{login}"
                )
            sealed = old.encrypt(HOOK_SECRET, secret_aad(HOOK_ID))
            s.add(WebhookEndpoint(id=HOOK_ID, user_id="u", url="https://example.com/hook",
                                  secret=sealed.ciphertext, key_id=sealed.key_id))  # fmt: skip
    finally:
        await engine.dispose()


async def _passwords(url: str, keyring: Keyring) -> list[str]:
    engine = make_engine(url)
    try:
        async with session_scope(make_sessionmaker(engine)) as s:
            rows = await accounts.list_for_user(s, "u")
            hook = await s.get(WebhookEndpoint, HOOK_ID)
            assert hook is not None
            return [accounts.decrypt_password(keyring, r).get_secret_value() for r in rows] + [
                decrypt_secret(keyring, hook)
            ]
    finally:
        await engine.dispose()


def test_rotation_command(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    old, new = generate_key("k1"), generate_key("k2")
    asyncio.run(_store_on_old_key(url, Keyring.parse(old)))
    env = {**os.environ, "DATABASE_URL": url, "MT5_ENCRYPTION_KEYS": f"{new},{old}"}
    out = subprocess.run(
        [sys.executable, "-m", "gateway.store.rotate"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert out.splitlines() == ["k2: 4 row(s)  (encrypting key)"]
    # the old key can go: the new one alone reads every password and the webhook secret
    assert sorted(asyncio.run(_passwords(url, Keyring.parse(new)))) == [
        "p10001",
        "p10002",
        "p10003",
        HOOK_SECRET,
    ]
