"""Step 2 of a key rotation: move every stored MT5 password onto the first key.

    python -m gateway.store.rotate          # reads DATABASE_URL and MT5_ENCRYPTION_KEYS

Runs beside the live gateway (one short transaction per batch), then prints how many rows each
key still encrypts; an old key may be dropped from ``MT5_ENCRYPTION_KEYS`` once it is absent.
"""

from __future__ import annotations

import asyncio
import sys

from gateway.auth.devkeys import load_settings
from gateway.db import make_engine, make_sessionmaker, session_scope
from gateway.store.accounts import key_usage, reencrypt_all
from gateway.store.crypto import Keyring


async def rotate(database_url: str, keyring: Keyring) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        maker = make_sessionmaker(engine)
        moved = -1
        while moved:
            async with session_scope(maker) as session:
                moved = await reencrypt_all(session, keyring)
        async with session_scope(maker) as session:
            return await key_usage(session)
    finally:
        await engine.dispose()


def main() -> int:
    settings = load_settings()
    if settings.mt5_encryption_keys is None:
        print("MT5_ENCRYPTION_KEYS is not set", file=sys.stderr)
        return 2
    keyring = Keyring.parse(settings.mt5_encryption_keys.get_secret_value())
    usage = asyncio.run(rotate(settings.database_url, keyring))
    for key_id, rows in sorted(usage.items()):
        print(f"{key_id}: {rows} row(s){'  (encrypting key)' if key_id == keyring.primary else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
