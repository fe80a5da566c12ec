"""Step 2 of a key rotation: move every stored secret onto the first key: the MT5 passwords
and the webhook signing secrets.

    python -m gateway.store.rotate          # reads DATABASE_URL and MT5_ENCRYPTION_KEYS

Runs beside the live gateway (one short transaction per batch), then prints how many rows each
key still encrypts; an old key may be dropped from ``MT5_ENCRYPTION_KEYS`` once it is absent.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.devkeys import load_settings
from gateway.db import make_engine, make_sessionmaker, session_scope
from gateway.store.accounts import key_usage, reencrypt_all
from gateway.store.crypto import Keyring
from gateway.webhooks.delivery import decrypt_secret, secret_aad
from gateway.webhooks.models import WebhookEndpoint

BATCH = 200


async def reencrypt_webhook_secrets(session: AsyncSession, keyring: Keyring) -> int:
    """Move up to ``BATCH`` webhook secrets still on old keys to the primary key."""
    stmt = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.key_id != keyring.primary)
        .order_by(WebhookEndpoint.id)
        .limit(BATCH)
    )
    rows = list((await session.scalars(stmt)).all())
    for endpoint in rows:
        sealed = keyring.encrypt(decrypt_secret(keyring, endpoint), secret_aad(endpoint.id))
        endpoint.key_id, endpoint.secret = sealed.key_id, sealed.ciphertext
    await session.flush()
    return len(rows)


async def rotate(database_url: str, keyring: Keyring) -> dict[str, int]:
    """Re-encrypt in batches (one short transaction each); how many rows each key encrypts."""
    engine = make_engine(database_url)
    try:
        maker = make_sessionmaker(engine)
        for step in (reencrypt_all, reencrypt_webhook_secrets):
            moved = -1
            while moved:
                async with session_scope(maker) as session:
                    moved = await step(session, keyring)
        async with session_scope(maker) as session:
            usage = Counter(await key_usage(session))
            by_key = select(WebhookEndpoint.key_id, func.count()).group_by(WebhookEndpoint.key_id)
            usage.update(dict((await session.execute(by_key)).tuples().all()))
            return dict(usage)
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
