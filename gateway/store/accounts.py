"""Repository of MT5 accounts, always scoped to the owning user.

Ownership is enforced at lookup: :func:`get_for_user` returns ``None`` for another user's
account (the API answers 404), and every other function takes the ``Mt5Account`` that lookup
returned. Deleted accounts are invisible everywhere; deleting is soft (``deleted_at``), so
history and audit rows keep their reference, and the same login may be added again.

Each user has at most one default account among live ones (a partial unique index backs
this up), and a *current* account in ``user_state``; without one, the default is current.
The first account a user adds becomes the default; deleting the default promotes the
oldest remaining account.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.crypto import Encrypted, Keyring, account_aad
from gateway.store.models import AccountStatus, Mt5Account, UserState, new_id, utcnow


class Keep(enum.Enum):
    """Marker for "leave this field as it is" where ``None`` is a meaningful value."""

    KEEP = "keep"


# Users whose accounts a session changed, for caches to forget once it commits
# (gateway.accounts.cache). Every writer below marks the session with ``_changed``.
CHANGED_USERS = "changed_users"


def _changed(session: AsyncSession, user_id: str) -> None:
    session.info.setdefault(CHANGED_USERS, set()).add(user_id)


KEEP = Keep.KEEP


def _live(user_id: str) -> Any:
    return (Mt5Account.user_id == user_id) & Mt5Account.deleted_at.is_(None)


async def list_for_user(session: AsyncSession, user_id: str) -> list[Mt5Account]:
    """The user's live accounts, oldest first."""
    stmt = select(Mt5Account).where(_live(user_id)).order_by(Mt5Account.created_at, Mt5Account.id)
    return list((await session.scalars(stmt)).all())


async def get_for_user(session: AsyncSession, user_id: str, account_id: str) -> Mt5Account | None:
    """The account if it exists, is live and belongs to ``user_id``; otherwise ``None``."""
    stmt = select(Mt5Account).where(_live(user_id), Mt5Account.id == account_id)
    return (await session.scalars(stmt)).one_or_none()


async def find_by_login(
    session: AsyncSession, user_id: str, login: int, server: str
) -> Mt5Account | None:
    stmt = select(Mt5Account).where(
        _live(user_id), Mt5Account.login == login, Mt5Account.server == server
    )
    return (await session.scalars(stmt)).one_or_none()


async def save(
    session: AsyncSession,
    keyring: Keyring,
    *,
    user_id: str,
    login: int,
    server: str,
    password: str | SecretStr,
    is_investor: bool = False,
    label: str | None = None,
    risk_limits: dict[str, Any] | None = None,
    is_default: bool = False,
) -> Mt5Account:
    """Add an account, or refresh the password/flags of the user's live one with that login.

    Two concurrent saves of the same new login: one flush fails with ``IntegrityError``.
    """
    account = await find_by_login(session, user_id, login, server)
    if account is not None:
        return await update(
            session,
            keyring,
            account,
            password=password,
            is_investor=is_investor,
            label=label if label is not None else KEEP,
            risk_limits=risk_limits if risk_limits is not None else KEEP,
            is_default=is_default or KEEP,
        )
    first = await _default_for(session, user_id) is None
    if is_default and not first:
        await _clear_default(session, user_id)
    account = Mt5Account(
        id=new_id(),
        user_id=user_id,
        login=login,
        server=server,
        label=label,
        is_investor=is_investor,
        risk_limits=risk_limits or {},
        is_default=is_default or first,
        status=AccountStatus.UNKNOWN,
    )
    _store_password(keyring, account, password)
    session.add(account)
    _changed(session, user_id)
    await session.flush()
    return account


async def update(
    session: AsyncSession,
    keyring: Keyring,
    account: Mt5Account,
    *,
    label: str | Keep | None = KEEP,
    risk_limits: dict[str, Any] | Keep = KEEP,
    password: str | SecretStr | None = None,
    is_investor: bool | Keep = KEEP,
    is_default: bool | Keep = KEEP,
) -> Mt5Account:
    """Change what the user may change; ``is_default=False`` on the default is ignored."""
    session.add(account)  # an account loaded by an earlier session is attached again
    _changed(session, account.user_id)
    if not isinstance(label, Keep):
        account.label = label
    if not isinstance(risk_limits, Keep):
        account.risk_limits = dict(risk_limits)
    if not isinstance(is_investor, Keep):
        account.is_investor = is_investor
    if password is not None:
        _store_password(keyring, account, password)
    if is_default is True:
        await set_default(session, account)
    await session.flush()
    return account


async def soft_delete(session: AsyncSession, account: Mt5Account) -> None:
    """Hide the account for good; promote another default; unset it as anyone's current."""
    session.add(account)
    _changed(session, account.user_id)
    was_default = account.is_default
    account.deleted_at = utcnow()
    account.is_default = False
    await session.execute(
        sql_update(UserState)
        .where(UserState.current_account_id == account.id)
        .values(current_account_id=None)
    )
    await session.flush()
    if was_default:
        remaining = await list_for_user(session, account.user_id)
        if remaining:
            remaining[0].is_default = True
            await session.flush()


async def set_default(session: AsyncSession, account: Mt5Account) -> None:
    """Make ``account`` the user's only default."""
    session.add(account)
    _changed(session, account.user_id)
    await _clear_default(session, account.user_id, keep_id=account.id)
    account.is_default = True
    await session.flush()


async def set_current(session: AsyncSession, account: Mt5Account) -> None:
    """Remember ``account`` as its owner's current account."""
    _changed(session, account.user_id)
    state = await session.get(UserState, account.user_id)
    if state is None:
        session.add(UserState(user_id=account.user_id, current_account_id=account.id))
    else:
        state.current_account_id = account.id
    await session.flush()


async def get_current(session: AsyncSession, user_id: str) -> Mt5Account | None:
    """The current account, else the default one, else ``None``."""
    stmt = (
        select(Mt5Account)
        .join(UserState, UserState.current_account_id == Mt5Account.id)
        .where(UserState.user_id == user_id, _live(user_id))
    )
    current = (await session.scalars(stmt)).one_or_none()
    return current if current is not None else await _default_for(session, user_id)


async def record_status(
    session: AsyncSession,
    account: Mt5Account,
    status: AccountStatus,
    *,
    error: str | None = None,
    seen_at: datetime | None = None,
) -> None:
    """What the terminal last said about the account (``last_seen_at`` kept if not given)."""
    session.add(account)
    _changed(session, account.user_id)
    account.status = status
    account.last_error = error
    if seen_at is not None:
        account.last_seen_at = seen_at
    await session.flush()


def decrypt_password(keyring: Keyring, account: Mt5Account) -> SecretStr:
    """The account's password; raises ``crypto.UnknownKeyError`` / ``DecryptionError``."""
    stored = Encrypted(account.key_id, account.encrypted_password)
    return keyring.decrypt(stored, account_aad(account.id, account.login, account.server))


async def reencrypt_all(session: AsyncSession, keyring: Keyring, *, batch_size: int = 200) -> int:
    """Move up to ``batch_size`` rows (deleted ones too) still on old keys to the primary key.

    Returns how many moved; call again (one transaction per batch) until it returns 0.
    """
    stmt = (
        select(Mt5Account)
        .where(Mt5Account.key_id != keyring.primary)
        .order_by(Mt5Account.id)
        .limit(batch_size)
    )
    rows = list((await session.scalars(stmt)).all())
    for account in rows:
        _store_password(keyring, account, decrypt_password(keyring, account))
        _changed(session, account.user_id)
    await session.flush()
    return len(rows)


async def key_usage(session: AsyncSession) -> dict[str, int]:
    """How many rows each key id encrypts: an old key may be dropped once it is absent."""
    stmt = select(Mt5Account.key_id, func.count()).group_by(Mt5Account.key_id)
    return {key_id: count for key_id, count in (await session.execute(stmt)).all()}


def _store_password(keyring: Keyring, account: Mt5Account, password: str | SecretStr) -> None:
    sealed = keyring.encrypt(password, account_aad(account.id, account.login, account.server))
    account.key_id = sealed.key_id
    account.encrypted_password = sealed.ciphertext


async def _default_for(session: AsyncSession, user_id: str) -> Mt5Account | None:
    stmt = select(Mt5Account).where(_live(user_id), Mt5Account.is_default.is_(True))
    return (await session.scalars(stmt)).one_or_none()


async def _clear_default(session: AsyncSession, user_id: str, keep_id: str | None = None) -> None:
    stmt = sql_update(Mt5Account).where(_live(user_id), Mt5Account.is_default.is_(True))
    if keep_id is not None:
        stmt = stmt.where(Mt5Account.id != keep_id)
    await session.execute(stmt.values(is_default=False))
