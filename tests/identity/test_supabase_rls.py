"""deploy/supabase/ on a real PostgreSQL with Supabase's roles (``anon``, ``authenticated``,
``service_role``) and ``auth.uid()`` as Supabase defines it: the gateway's migrations run as its
own role into its own schema, then each role reads ``mt5gw_app.mt5_accounts`` as the Next.js
app would (``SET ROLE`` and ``request.jwt.claims``, as PostgREST does).

User A's session sees only A's rows, B's only B's; no role reads a password column; ``anon``
sees nothing, even if someone grants it the view; nobody but the gateway writes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from gateway.db import make_engine, make_sessionmaker, session_scope, upgrade_database
from gateway.store import accounts
from gateway.store.crypto import Keyring, generate_key

pytestmark = pytest.mark.needs_binary("postgres")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "supabase"
STUB = Path(__file__).with_name("supabase_stub.sql")
A, B = str(uuid.uuid4()), str(uuid.uuid4())
GATEWAY_PASSWORD = "Gw-" + uuid.uuid4().hex
ROLES = ("anon", "authenticated", "service_role")


def psql(binary: Path, dsn: str, script: Path, **variables: str) -> None:
    command = [str(binary), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn]
    for name, value in variables.items():
        command += ["-v", f"{name}={value}"]
    run = subprocess.run([*command, "-f", str(script)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def as_role(dsn: str, user: str) -> str:
    return dsn.replace("postgresql://postgres@", f"postgresql://{user}:{GATEWAY_PASSWORD}@")


async def seed(gateway_url: str) -> dict[str, list[str]]:
    keyring = Keyring.parse(generate_key("rls"))
    engine = make_engine(gateway_url)
    ids: dict[str, list[str]] = {A: [], B: []}
    try:
        async with session_scope(make_sessionmaker(engine)) as s:
            for user, login in ((A, 10001), (A, 10002), (B, 10003)):
                row = await accounts.save(
                    s, keyring, user_id=user, login=login, server="Sim-Demo", password="pw-x1"
                )
                ids[user].append(row.id)
    finally:
        await engine.dispose()
    return ids


@pytest.fixture(scope="module")
def database(empty_postgres: str, psql_binary: Path) -> Iterator[dict[str, Any]]:
    dsn = empty_postgres
    psql(psql_binary, dsn, STUB)
    psql(psql_binary, dsn, DEPLOY / "01_gateway_schema.sql", gateway_password=GATEWAY_PASSWORD)
    gateway_url = as_role(dsn, "mt5gw")
    asyncio.run(upgrade_database(gateway_url))
    ids = asyncio.run(seed(gateway_url))
    psql(psql_binary, dsn, DEPLOY / "02_app_read_access.sql")
    psql(psql_binary, dsn, DEPLOY / "02_app_read_access.sql")  # idempotent, as after upgrades
    yield {"dsn": dsn, "gateway_url": gateway_url, "ids": ids}


@pytest.fixture
async def conn(database: dict[str, Any]) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection; each test's work is rolled back."""
    connection = await asyncpg.connect(database["dsn"])
    transaction = connection.transaction()
    await transaction.start()
    try:
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def become(conn: asyncpg.Connection, role: str, sub: str | None = None) -> None:
    """Act as PostgREST does for a request: the role, and the JWT's claims."""
    claims = json.dumps({"sub": sub, "role": role}) if sub else ""
    await conn.execute("SELECT set_config('request.jwt.claims', $1, true)", claims)
    await conn.execute(f"SET LOCAL ROLE {role}")


async def visible(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT * FROM mt5gw_app.mt5_accounts ORDER BY account_number"))


def test_the_gateway_lives_in_its_own_schema(database: dict[str, Any]) -> None:
    async def schemas() -> dict[str, str]:
        conn = await asyncpg.connect(database["dsn"])
        try:
            rows = await conn.fetch(
                "SELECT table_name, table_schema FROM information_schema.tables "
                "WHERE table_name IN ('api_keys', 'audit_log', 'alembic_version', 'mt5_accounts')"
                " AND table_schema <> 'mt5gw_app'"
            )
        finally:
            await conn.close()
        return {f"{r['table_schema']}.{r['table_name']}" for r in rows}  # type: ignore[return-value]

    assert asyncio.run(schemas()) == {
        "mt5gw.api_keys",
        "mt5gw.audit_log",
        "mt5gw.alembic_version",
        "mt5gw.mt5_accounts",
        "public.mt5_accounts",  # seed 003's own table, untouched
    }


@pytest.mark.anyio
async def test_each_user_sees_only_their_rows(conn: asyncpg.Connection, database: Any) -> None:
    ids = database["ids"]
    await become(conn, "authenticated", A)
    rows = await visible(conn)
    assert [str(r["id"]) for r in rows] == ids[A]
    assert {str(r["user_id"]) for r in rows} == {A}
    first = dict(rows[0])
    assert (first["account_number"], first["server"], first["broker_name"]) == (
        10001,
        "Sim-Demo",
        "Sim",
    )
    assert (first["account_type"], first["is_active"], first["status"]) == ("demo", True, "unknown")
    await conn.execute("RESET ROLE")
    await become(conn, "authenticated", B)
    assert [str(r["id"]) for r in await visible(conn)] == ids[B]


@pytest.mark.anyio
async def test_a_session_without_a_user_sees_nothing(conn: asyncpg.Connection) -> None:
    await become(conn, "authenticated")
    assert await visible(conn) == []


@pytest.mark.anyio
async def test_anon_sees_nothing(conn: asyncpg.Connection) -> None:
    await become(conn, "anon", A)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await visible(conn)


@pytest.mark.anyio
async def test_anon_sees_nothing_even_when_granted_the_view(conn: asyncpg.Connection) -> None:
    await conn.execute("GRANT USAGE ON SCHEMA mt5gw, mt5gw_app TO anon")
    await conn.execute("GRANT SELECT ON mt5gw_app.mt5_accounts TO anon")
    await conn.execute("GRANT SELECT (id, user_id, login, server, label, is_investor, is_default, "
                       "risk_limits, status, last_error, last_seen_at, deleted_at, created_at, "
                       "updated_at) ON mt5gw.mt5_accounts TO anon")  # fmt: skip
    await become(conn, "anon", A)
    assert await visible(conn) == []  # no policy for anon: row-level security shows no row


@pytest.mark.anyio
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("column", ["encrypted_password", "key_id"])
async def test_no_role_reads_a_password_column(
    conn: asyncpg.Connection, role: str, column: str
) -> None:
    await become(conn, role, A)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.fetch(f"SELECT {column} FROM mt5gw.mt5_accounts")


@pytest.mark.anyio
async def test_the_view_has_no_password_column(conn: asyncpg.Connection) -> None:
    columns = await conn.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'mt5gw_app' AND table_name = 'mt5_accounts'"
    )
    names = {r["column_name"] for r in columns}
    assert {"id", "user_id", "broker_name", "account_number", "server", "account_type"} <= names
    assert {"is_default", "account_name", "risk_limits", "is_active", "is_investor"} <= names
    assert not {n for n in names if "password" in n or n == "key_id"}


@pytest.mark.anyio
async def test_service_role_reads_every_row_without_secrets(
    conn: asyncpg.Connection, database: Any
) -> None:
    await become(conn, "service_role")
    rows = await visible(conn)
    assert sorted(str(r["id"]) for r in rows) == sorted(database["ids"][A] + database["ids"][B])


@pytest.mark.anyio
@pytest.mark.parametrize("role", ROLES)
async def test_only_the_gateway_writes(conn: asyncpg.Connection, role: str) -> None:
    await become(conn, role, A)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("UPDATE mt5gw.mt5_accounts SET label = 'x'")


@pytest.mark.anyio
async def test_the_gateway_itself_is_unaffected(database: Any) -> None:
    engine = make_engine(database["gateway_url"])
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            rows = await accounts.list_for_user(session, A)
    finally:
        await engine.dispose()
    assert [r.id for r in rows] == database["ids"][A]
