"""Account repository on both databases: lifecycle, isolation, defaults, secrets at rest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db import Base, session_scope
from gateway.store import accounts
from gateway.store.crypto import DecryptionError, Keyring, UnknownKeyError, generate_key
from gateway.store.models import AccountStatus, Mt5Account

pytestmark = pytest.mark.anyio

Maker = async_sessionmaker[AsyncSession]
ALICE, BOB = "user-alice", "user-bob"
LIMITS = {
    "max_volume_per_order": 1.0,
    "max_open_positions": 5,
    "allowed_symbols": ["EURUSD"],
    "max_daily_loss": 250.0,
}


async def _add(
    maker: Maker, ring: Keyring, user: str, login: int, password: str = "", **kw: Any
) -> Mt5Account:
    async with session_scope(maker) as s:
        return await accounts.save(
            s,
            ring,
            user_id=user,
            login=login,
            server="Sim-Demo",
            password=password or f"pw-{login}",
            **kw,
        )


async def test_full_lifecycle(sessionmaker: Maker, keyring: Keyring) -> None:
    first = await _add(sessionmaker, keyring, ALICE, 10001, label="main", risk_limits=LIMITS)
    second = await _add(sessionmaker, keyring, ALICE, 10002, is_investor=True)
    async with session_scope(sessionmaker) as s:
        listed = await accounts.list_for_user(s, ALICE)
        assert [a.login for a in listed] == [10001, 10002]
        got = await accounts.get_for_user(s, ALICE, first.id)
        assert got is not None and got.label == "main" and got.risk_limits == LIMITS
        assert got.is_default and not got.is_investor and got.status is AccountStatus.UNKNOWN
        assert got.created_at.tzinfo is not None
        assert (await accounts.get_current(s, ALICE)).id == first.id  # type: ignore[union-attr]

        other = await accounts.get_for_user(s, ALICE, second.id)
        assert other is not None and other.is_investor and not other.is_default
        await accounts.update(
            s,
            keyring,
            other,
            label="ro",
            risk_limits={"max_open_positions": 1},
            password="new-secret",
        )
        await accounts.set_current(s, other)
        seen = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
        await accounts.record_status(s, other, AccountStatus.ERROR, error="auth", seen_at=seen)

    async with session_scope(sessionmaker) as s:
        current = await accounts.get_current(s, ALICE)
        assert current is not None and current.id == second.id and current.label == "ro"
        assert current.risk_limits == {"max_open_positions": 1}
        assert (current.status, current.last_error, current.last_seen_at) == (
            AccountStatus.ERROR,
            "auth",
            seen,
        )
        assert accounts.decrypt_password(keyring, current).get_secret_value() == "new-secret"
        await accounts.soft_delete(s, current)

    async with session_scope(sessionmaker) as s:
        assert [a.id for a in await accounts.list_for_user(s, ALICE)] == [first.id]
        assert await accounts.get_for_user(s, ALICE, second.id) is None
        assert (await accounts.get_current(s, ALICE)).id == first.id  # type: ignore[union-attr]


async def test_save_twice_refreshes_the_live_account(sessionmaker: Maker, keyring: Keyring) -> None:
    a = await _add(sessionmaker, keyring, ALICE, 10001, password="old", label="x")
    b = await _add(sessionmaker, keyring, ALICE, 10001, password="new", is_investor=True)
    assert a.id == b.id
    async with session_scope(sessionmaker) as s:
        (only,) = await accounts.list_for_user(s, ALICE)
        assert only.label == "x" and only.is_investor
        assert accounts.decrypt_password(keyring, only).get_secret_value() == "new"


async def test_other_users_accounts_are_invisible(sessionmaker: Maker, keyring: Keyring) -> None:
    alice = await _add(sessionmaker, keyring, ALICE, 10001)
    bob = await _add(sessionmaker, keyring, BOB, 10001)  # same login, another owner
    assert alice.id != bob.id
    async with session_scope(sessionmaker) as s:
        assert await accounts.get_for_user(s, BOB, alice.id) is None
        assert await accounts.get_for_user(s, ALICE, bob.id) is None
        assert [a.id for a in await accounts.list_for_user(s, BOB)] == [bob.id]
        assert (await accounts.get_current(s, BOB)).id == bob.id  # type: ignore[union-attr]
        assert await accounts.get_current(s, "user-nobody") is None


async def test_soft_delete_then_add_again(sessionmaker: Maker, keyring: Keyring) -> None:
    old = await _add(sessionmaker, keyring, ALICE, 10001, password="one")
    async with session_scope(sessionmaker) as s:
        await accounts.soft_delete(s, await s.get_one(Mt5Account, old.id))
    new = await _add(sessionmaker, keyring, ALICE, 10001, password="two")
    assert new.id != old.id
    async with session_scope(sessionmaker) as s:
        (live,) = await accounts.list_for_user(s, ALICE)
        assert live.id == new.id and live.is_default
        rows = (await s.scalars(select(Mt5Account).order_by(Mt5Account.created_at))).all()
        assert [(r.id, r.deleted_at is not None) for r in rows] == [(old.id, True), (new.id, False)]


async def test_live_duplicate_is_refused_by_the_database(
    sessionmaker: Maker, keyring: Keyring
) -> None:
    await _add(sessionmaker, keyring, ALICE, 10001)
    row = Mt5Account(
        user_id=ALICE,
        login=10001,
        server="Sim-Demo",
        encrypted_password="x",
        key_id="k1",
        risk_limits={},
    )
    with pytest.raises(IntegrityError):
        async with session_scope(sessionmaker) as s:
            s.add(row)


async def test_one_default_per_user(sessionmaker: Maker, keyring: Keyring) -> None:
    a = await _add(sessionmaker, keyring, ALICE, 10001)
    await _add(sessionmaker, keyring, ALICE, 10002, is_default=True)
    c = await _add(sessionmaker, keyring, ALICE, 10003)
    await _add(sessionmaker, keyring, BOB, 20001)  # Bob's default is untouched throughout

    async def defaults() -> dict[str, list[int]]:
        async with session_scope(sessionmaker) as s:
            rows = await s.scalars(
                select(Mt5Account).where(
                    Mt5Account.is_default.is_(True), Mt5Account.deleted_at.is_(None)
                )
            )
            found: dict[str, list[int]] = {}
            for r in rows:
                found.setdefault(r.user_id, []).append(r.login)
            return found

    assert await defaults() == {ALICE: [10002], BOB: [20001]}
    async with session_scope(sessionmaker) as s:
        await accounts.set_default(s, await s.get_one(Mt5Account, c.id))
    assert await defaults() == {ALICE: [10003], BOB: [20001]}
    async with session_scope(sessionmaker) as s:
        await accounts.update(s, keyring, await s.get_one(Mt5Account, a.id), is_default=True)
    assert await defaults() == {ALICE: [10001], BOB: [20001]}
    async with session_scope(sessionmaker) as s:  # deleting the default promotes the oldest
        await accounts.soft_delete(s, await s.get_one(Mt5Account, a.id))
    assert await defaults() == {ALICE: [10002], BOB: [20001]}


async def test_passwords_are_never_stored_in_plain_text(
    sessionmaker: Maker, keyring: Keyring
) -> None:
    plain = "Pl41n-T3xt-Passw0rd"
    acc = await _add(sessionmaker, keyring, ALICE, 10001, password=plain, label="lbl")
    async with session_scope(sessionmaker) as s:
        await accounts.update(s, keyring, await s.get_one(Mt5Account, acc.id), password=plain)
        await accounts.set_current(s, await s.get_one(Mt5Account, acc.id))
    await _add(sessionmaker, keyring, BOB, 10001, password=plain)
    async with sessionmaker() as s:
        cells: list[str] = []
        for table in Base.metadata.sorted_tables:
            for row in (await s.execute(select(table))).all():
                cells.extend(str(v) for v in row)
        assert len(cells) > 20
        assert not [c for c in cells if plain in c or plain.encode().hex() in c]
        raw = (await s.execute(text("SELECT encrypted_password FROM mt5_accounts"))).scalars()
        assert all(plain not in v for v in raw)
        account = await s.get_one(Mt5Account, acc.id)
        assert plain not in repr(account) and plain not in repr(
            accounts.decrypt_password(keyring, account)
        )


async def test_key_rotation(sessionmaker: Maker) -> None:
    k1, k2 = generate_key("k1"), generate_key("k2")
    old_ring, new_ring = Keyring.parse(k1), Keyring.parse(f"{k2},{k1}")
    for login in (10001, 10002, 10003):
        await _add(sessionmaker, old_ring, ALICE, login, password=f"pw{login}")
    async with session_scope(sessionmaker) as s:  # a deleted row is rotated too
        await accounts.soft_delete(s, (await accounts.list_for_user(s, ALICE))[2])
    await _add(sessionmaker, new_ring, BOB, 20001, password="pw20001")

    async with session_scope(sessionmaker) as s:
        assert await accounts.key_usage(s) == {"k1": 3, "k2": 1}
        for acc in await accounts.list_for_user(s, ALICE):  # old rows readable meanwhile
            assert accounts.decrypt_password(new_ring, acc).get_secret_value() == f"pw{acc.login}"
        assert await accounts.reencrypt_all(s, new_ring, batch_size=2) == 2
    async with session_scope(sessionmaker) as s:
        assert await accounts.reencrypt_all(s, new_ring, batch_size=2) == 1
        assert await accounts.reencrypt_all(s, new_ring) == 0
        assert await accounts.key_usage(s) == {"k2": 4}

    only_new = Keyring.parse(k2)  # k1 dropped: everything still decrypts
    async with session_scope(sessionmaker) as s:
        for user in (ALICE, BOB):
            for acc in await accounts.list_for_user(s, user):
                assert accounts.decrypt_password(only_new, acc).get_secret_value() == (
                    f"pw{acc.login}"
                )
        with pytest.raises(UnknownKeyError, match=r"'k2'.*k1"):
            accounts.decrypt_password(Keyring.parse(k1), (await accounts.list_for_user(s, BOB))[0])


async def test_ciphertext_swapped_between_rows_is_refused(
    sessionmaker: Maker, keyring: Keyring
) -> None:
    a = await _add(sessionmaker, keyring, ALICE, 10001, password="alice-secret")
    b = await _add(sessionmaker, keyring, BOB, 10001, password="bob-secret")
    async with session_scope(sessionmaker) as s:  # an attacker with write access to the table
        await s.execute(
            text("UPDATE mt5_accounts SET encrypted_password = :c WHERE id = :id"),
            {"c": a.encrypted_password, "id": b.id},
        )
    async with session_scope(sessionmaker) as s:
        stolen = await accounts.get_for_user(s, BOB, b.id)
        assert stolen is not None
        with pytest.raises(DecryptionError):
            accounts.decrypt_password(keyring, stolen)
