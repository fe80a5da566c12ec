"""Database errors under a real ``uvicorn`` process (issue 8 item 13), on SQLite and PostgreSQL.

Before: an unhandled database error went through Starlette's last-resort handler, which
re-raises, so uvicorn printed the traceback, whose text holds the SQL and its parameters (user
ids, the ``encrypted_password`` ciphertext). Now one handler answers ``{detail, code}`` (500
``DATABASE_ERROR``, or 503 ``DATABASE_UNAVAILABLE`` when the database is unreachable) and logs
the error's type, the route template and the request id only. The gateway runs at
``LOG_LEVEL=DEBUG`` so that no library's debug output may leak parameters either.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
from accounts_support import KEYRING
from gateway_process import GatewayProcess
from helpers import JwksServer, claims, sign
from server_process import TerminalServerProcess
from sqlalchemy import make_url

BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")  # a ciphertext (nonce + tag: >= 40 chars)
PG_BOOM = """
CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'boom: %', NEW.encrypted_password; END $$;
CREATE TRIGGER boom BEFORE UPDATE ON mt5_accounts FOR EACH ROW EXECUTE FUNCTION boom();
"""
SQLITE_BOOM = (
    "CREATE TRIGGER boom BEFORE UPDATE ON mt5_accounts BEGIN SELECT RAISE(ABORT, 'boom'); END"
)


def run_sql(db_url: str, sql: str) -> None:
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(url.database or "") as conn:
            conn.executescript(sql)
        return

    async def run() -> None:
        conn = await asyncpg.connect(db_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def make_unreachable(db_url: str) -> None:
    """SQLite: the table the next request needs is gone. PostgreSQL: the database refuses
    connections and the gateway's are cut."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        run_sql(db_url, "DROP TABLE user_state")
        return
    name = url.database
    admin = db_url.rsplit("/", 1)[0] + "/postgres"
    run_sql(
        admin,
        f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false; '
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
    )


def gateway_env(jwks: JwksServer, sims: TerminalServerProcess, db_url: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "production",
        "SUPABASE_URL": jwks.supabase_url,
        "TERMINALS": ",".join(f"t{i + 1}={sims.host}:{p}" for i, p in enumerate(sims.ports)),
        "KNOWN_SERVERS": "Sim-Demo",
        "SERVER_UTC_OFFSETS": "Sim-Demo=7200",
        "DATABASE_URL": db_url,
        "MT5_ENCRYPTION_KEYS": KEYRING,
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": "json",
    }


def assert_error(
    response: httpx.Response, status: int, codes: set[str], logged: list[str]
) -> dict[str, Any]:
    assert response.status_code == status, (response.text, logged)
    body: dict[str, Any] = response.json()
    assert set(body) == {"detail", "code"} and body["code"] in codes, body
    return body


def test_database_errors_answer_json_and_log_no_parameters(
    jwks: JwksServer, sims: TerminalServerProcess, backend: Any
) -> None:
    db_url = backend.empty()
    sub = str(uuid.uuid4())
    token = sign(jwks.keys[0], claims(jwks.issuer, sub=sub))
    with GatewayProcess(gateway_env(jwks, sims, db_url)) as gateway:
        with httpx.Client(
            base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as user:
            body = {"login": 10002, "password": "demo-10002", "server": "Sim-Demo"}
            created = user.post("/api/v1/accounts/connect", json=body)
            assert created.status_code == 201, created.text
            account_id = created.json()["id"]

            run_sql(db_url, PG_BOOM if backend.backend == "postgresql" else SQLITE_BOOM)
            failed = user.put(
                f"/api/v1/accounts/{account_id}",
                json={"password": "demo-10002"},
                headers={"X-Request-ID": "db-error-1"},
            )
            make_unreachable(db_url)
            down = user.get("/api/v1/accounts", headers={"X-Request-ID": "db-down-1"})
        output = gateway.output()

    errors_logged = [line for line in output.splitlines() if '"ERROR"' in line]
    assert_error(failed, 500, {"DATABASE_ERROR"}, errors_logged)
    assert failed.headers["x-request-id"] == "db-error-1"
    assert_error(down, 503, {"DATABASE_UNAVAILABLE"}, errors_logged)
    assert int(down.headers["retry-after"]) > 0

    assert sub not in output
    for text in ("[SQL", "parameters", "UPDATE mt5_accounts", "SELECT", "boom", "Traceback"):
        assert text not in output, text
    assert not BASE64_RUN.search(output), BASE64_RUN.search(output)
    records = [json.loads(line) for line in gateway.lines()]
    errors = {r["request_id"]: r for r in records if r["level"] == "ERROR" and "request_id" in r}
    assert errors["db-error-1"]["route"] == "/api/v1/accounts/{account_id}"
    assert errors["db-error-1"]["code"] == "DATABASE_ERROR"
    assert errors["db-down-1"]["route"] == "/api/v1/accounts"
    assert errors["db-down-1"]["code"] == "DATABASE_UNAVAILABLE"
    assert all(
        set(r["error_type"]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        for r in errors.values()
    )
