"""Trade requests and the audit log on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db import session_scope
from gateway.store import accounts, audit, trades
from gateway.store.crypto import Keyring
from gateway.store.models import TradeRequest, TradeState

pytestmark = pytest.mark.anyio

Maker = async_sessionmaker[AsyncSession]


async def _account_id(maker: Maker, keyring: Keyring, user: str = "u1") -> str:
    async with session_scope(maker) as s:
        acc = await accounts.save(
            s, keyring, user_id=user, login=10001, server="Sim-Demo", password="pw"
        )
        return acc.id


async def test_trade_request_lifecycle(sessionmaker: Maker, keyring: Keyring) -> None:
    account_id = await _account_id(sessionmaker, keyring)
    request = {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0}
    async with session_scope(sessionmaker) as s:
        trade = await trades.create(
            s, user_id="u1", account_id=account_id, request=request, idempotency_key="k-1"
        )
        other = await trades.create(s, user_id="u1", account_id=account_id, request=request)
    assert trade.client_id.startswith("gw") and len(trade.client_id) == 12
    assert trade.client_id != other.client_id and trade.state is TradeState.PENDING

    async with session_scope(sessionmaker) as s:
        found = await trades.find_by_client_id(s, trade.client_id)
        assert found is not None and found.request == request and found.idempotency_key == "k-1"
        await trades.set_state(s, found, TradeState.UNKNOWN)
        await trades.set_state(s, other, TradeState.DONE, {"retcode": 10009, "order": 5})
    async with session_scope(sessionmaker) as s:
        assert [t.request_id for t in await trades.list_unresolved(s)] == [trade.request_id]
        assert await trades.get_for_user(s, "u2", trade.request_id) is None
        done = await trades.get_for_user(s, "u1", other.request_id)
        assert done is not None and done.result == {"retcode": 10009, "order": 5}
        assert done.state is TradeState.DONE


async def test_trade_request_may_name_the_configured_account(sessionmaker: Maker) -> None:
    # Migration 0004: the single-tenant account ("default") has no mt5_accounts row.
    async with session_scope(sessionmaker) as s:
        s.add(TradeRequest(user_id="u1", account_id="default", client_id="gwx", request={}))
    async with session_scope(sessionmaker) as s:
        assert (await s.get(TradeRequest, (await _only_request_id(s)))) is not None


async def _only_request_id(session: AsyncSession) -> str:
    return (await session.scalars(select(TradeRequest.request_id))).one()


def test_strip_secrets_masks_at_any_depth() -> None:
    given = {
        "login": 1,
        "Password": "p",
        "nested": [{"api-key": "k", "x": 1}],
        "headers": {"Authorization": "Bearer t"},
        "investor_password": "i",
    }
    assert audit.strip_secrets(given) == {
        "login": 1,
        "Password": "***",
        "nested": [{"api-key": "***", "x": 1}],
        "headers": {"Authorization": "***"},
        "investor_password": "***",
    }


async def test_audit_append_and_list(sessionmaker: Maker, keyring: Keyring) -> None:
    account_id = await _account_id(sessionmaker, keyring)
    async with session_scope(sessionmaker) as s:
        for i in range(5):
            await audit.append(
                s,
                user_id="u1",
                action="trade.open",
                account_id=account_id,
                request={"volume": i, "password": "hunter2"},
                outcome={"retcode": 10009},
                retcode=10009,
                ip="127.0.0.1",
            )
        await audit.append(s, user_id="u2", action="account.connect", request={"login": 9})

    async with session_scope(sessionmaker) as s:
        mine = await audit.list_entries(s, user_id="u1")
        assert [e.request for e in mine] == [
            {"volume": i, "password": "***"} for i in (4, 3, 2, 1, 0)
        ]
        assert {(e.action, e.retcode, e.ip, e.account_id) for e in mine} == {
            ("trade.open", 10009, "127.0.0.1", account_id)
        }
        assert all(e.at.tzinfo is not None for e in mine)

        page1 = await audit.list_entries(s, user_id="u1", limit=2)
        page2 = await audit.list_entries(s, user_id="u1", limit=2, before_id=page1[-1].id)
        page3 = await audit.list_entries(s, user_id="u1", limit=2, before_id=page2[-1].id)
        assert [e.request["volume"] for e in page1 + page2 + page3] == [4, 3, 2, 1, 0]  # type: ignore[index]

        everyone = await audit.list_entries(s, user_id=None)
        assert [e.user_id for e in everyone] == ["u2"] + ["u1"] * 5
        assert [
            e.user_id for e in await audit.list_entries(s, user_id=None, action="account.connect")
        ] == ["u2"]
        assert len(await audit.list_entries(s, user_id=None, account_id=account_id)) == 5
