"""Engines, sessions and migrations on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError

from gateway import tables  # noqa: F401  (every table, so drift is checked for all)
from gateway.db import (
    Base,
    alembic_config,
    downgrade_database,
    make_engine,
    make_sessionmaker,
    normalize_url,
    session_scope,
    upgrade_database,
)

pytestmark = pytest.mark.anyio

TABLES = {
    "mt5_accounts",
    "user_state",
    "idempotency_keys",
    "trade_requests",
    "audit_log",
    "login_throttle",
}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgres://u:p@db.x.supabase.co:5432/postgres",
            "postgresql+asyncpg://u:p@db.x.supabase.co:5432/postgres",
        ),
        ("postgresql://u:p@h/d?sslmode=require", "postgresql+asyncpg://u:p@h/d?ssl=require"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("sqlite:///./data/gateway.db", "sqlite+aiosqlite:///./data/gateway.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


def _table_names(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _schema_drift(conn: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


async def test_migrations_from_empty_to_head_and_back(databases: Any) -> None:
    url = databases.empty()
    await upgrade_database(url)
    await upgrade_database(url)  # a second startup is a no-op
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_table_names) >= TABLES
            assert await conn.run_sync(_schema_drift) == []  # migrations == models
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert version == head
        await downgrade_database(url)
        async with engine.connect() as conn:
            assert await conn.run_sync(_table_names) & TABLES == set()
        await upgrade_database(url)
        async with engine.connect() as conn:
            assert await conn.run_sync(_table_names) >= TABLES
    finally:
        await engine.dispose()


async def test_sqlite_connections_are_configured(tmp_path: pytest.TempPathFactory) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/sub/dir/x.db")  # parent dirs are created
    try:
        async with engine.connect() as conn:
            pragma = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10_000}


async def test_foreign_keys_are_enforced(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO user_state (user_id, current_account_id, updated_at) "
                        "VALUES ('u', 'no-such-account', CURRENT_TIMESTAMP)"
                    )
                )
    finally:
        await engine.dispose()


async def test_session_scope_commits_or_rolls_back(db_url: str) -> None:
    engine = make_engine(db_url)
    maker = make_sessionmaker(engine)
    insert = text("INSERT INTO audit_log (at, user_id, action) VALUES (CURRENT_TIMESTAMP, :u, 'x')")
    count = text("SELECT count(*) FROM audit_log")
    try:
        async with session_scope(maker) as session:
            await session.execute(insert, {"u": "kept"})
        with pytest.raises(RuntimeError):
            async with session_scope(maker) as session:
                await session.execute(insert, {"u": "dropped"})
                raise RuntimeError("boom")
        async with session_scope(maker) as session:
            assert (await session.execute(count)).scalar() == 1
    finally:
        await engine.dispose()


async def test_supabase_api_roles_see_no_rows(db_url: str) -> None:
    """Tables granted to an API role (as Supabase does) still show it nothing."""
    if not db_url.startswith("postgresql"):
        pytest.skip("row-level security is PostgreSQL's")
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:  # rolled back on exit: the role goes too
            await conn.execute(
                text(
                    "INSERT INTO audit_log (at, user_id, action) "
                    "VALUES (CURRENT_TIMESTAMP, 'u', 'x')"
                )
            )
            await conn.execute(text("CREATE ROLE anon_probe NOLOGIN"))
            await conn.execute(text("GRANT SELECT ON ALL TABLES IN SCHEMA public TO anon_probe"))
            await conn.execute(text("SET LOCAL ROLE anon_probe"))
            seen = (await conn.execute(text("SELECT count(*) FROM audit_log"))).scalar()
            await conn.execute(text("RESET ROLE"))
            owner_sees = (await conn.execute(text("SELECT count(*) FROM audit_log"))).scalar()
    finally:
        await engine.dispose()
    assert (seen, owner_sees) == (0, 1)
