"""``/api/v1/keys``: create, list and revoke your API keys (with a signed-in session; a key
cannot manage keys: ``gateway.keys.scopes``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from gateway.accounts.context import ACCOUNT_ID_PATTERN, resolve_account
from gateway.auth.schemas import User
from gateway.deps import CurrentUser, KeyringDep, SessionDep, SettingsDep
from gateway.errors import Forbidden, GatewayError, NotFound, ValidationFailed
from gateway.keys import store
from gateway.keys.auth import KeyAuthenticator
from gateway.keys.keyformat import digest, new_key
from gateway.keys.models import ApiKey
from gateway.keys.schemas import KeyCreate, KeyCreated, KeyList, KeyOut
from gateway.keys.scopes import ADMIN
from gateway.store import audit

router = APIRouter(prefix="/keys", tags=["keys"])

KeyId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, description="The key's id")]


class TooManyKeys(GatewayError):
    status, code = 409, "KEY_LIMIT"


def key_out(row: ApiKey, now: datetime) -> KeyOut:
    expired = row.expires_at is not None and row.expires_at <= now
    return KeyOut(
        id=row.id,
        prefix=row.prefix,
        name=row.name,
        account_id=row.account_id,
        scopes=list(row.scopes),
        expires_at=row.expires_at,
        allowed_ips=row.allowed_ips,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        last_used_ip=row.last_used_ip,
        active=row.revoked_at is None and not expired,
    )


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_key(
    body: KeyCreate,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
) -> KeyCreated:
    """A new key; `key` (the secret) is in this answer only, store it now.

    `account_id` must be one of your accounts (404 otherwise); `admin` needs an admin."""
    now = datetime.now(UTC)
    if ADMIN in body.scopes and not user.is_admin:
        raise Forbidden("Only admins may give a key the admin scope")
    if body.expires_at is not None and body.expires_at <= now:
        raise ValidationFailed("expires_at is in the past")
    account_id = user.acting_for(body.account_id)  # a bound session makes bound keys only
    if account_id is not None:
        account_id = (await resolve_account(session, keyring, settings, user, account_id)).ref.id
    if await store.count_usable(session, user.id, now) >= settings.api_keys_per_user:
        raise TooManyKeys(f"At most {settings.api_keys_per_user} active keys; revoke one first")
    secret, prefix = new_key()
    row = await store.add(
        session,
        ApiKey(
            user_id=user.id,
            name=body.name,
            prefix=prefix,
            secret_hash=digest(secret),
            account_id=account_id,
            scopes=list(body.scopes),
            allowed_ips=body.allowed_ips,
            granted_by_admin=user.is_admin and ADMIN in body.scopes,
            created_at=now,
            expires_at=body.expires_at,
        ),
    )
    await _audit(session, user, "api_key.created", row, _ip(request))
    return KeyCreated(**key_out(row, now).model_dump(), key=secret)


@router.get("")
async def list_keys(user: CurrentUser, session: SessionDep) -> KeyList:
    """Your keys, newest first, revoked and expired ones included (never their secrets)."""
    now = datetime.now(UTC)
    return KeyList(keys=[key_out(r, now) for r in await store.list_for_user(session, user.id)])


@router.delete("/{key_id}")
async def revoke_key(
    key_id: KeyId, request: Request, user: CurrentUser, session: SessionDep
) -> KeyOut:
    """Revoke a key: refused from its next request on (other gateway replicas within
    `API_KEY_CACHE_S`)."""
    row = await store.get_for_user(session, user.id, key_id)
    if row is None or (user.account_id is not None and row.account_id != user.account_id):
        raise NotFound("API key not found", code="KEY_NOT_FOUND")
    await store.revoke(session, row)
    await _audit(session, user, "api_key.revoked", row, _ip(request))
    await session.commit()  # before the cache forgets it: no request may re-read the old row
    keys: KeyAuthenticator = request.state.api_keys
    keys.forget(row.id)
    return key_out(row, datetime.now(UTC))


async def _audit(session: SessionDep, user: User, action: str, row: ApiKey, ip: str | None) -> None:
    await audit.append(
        session,
        user_id=user.id,
        action=action,
        account_id=row.account_id,
        request={
            "id": row.id,
            "prefix": row.prefix,
            "name": row.name,
            "scopes": list(row.scopes),
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
            "allowed_ips": row.allowed_ips,
        },
        ip=ip,
    )
