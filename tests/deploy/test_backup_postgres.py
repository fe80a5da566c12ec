"""deploy/mt5-gateway-backup.sh on PostgreSQL: a real throwaway cluster with password
authentication (scram), the gateway's own migrations, pg_dump, the check and pg_restore."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from deploy_support import REPO, free_port, require_binary

SCRIPT = REPO / "deploy" / "mt5-gateway-backup.sh"
PASSWORD = "p@ss:w/rd%20 ü"  # every character a URL must escape, and one that decodes wrongly


def as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Path, int]]:
    """(bin dir, port) of a cluster whose `postgres` user needs PASSWORD."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    bindir = Path(found[-1]).parent if found else Path(require_binary("initdb")).parent
    for tool in ("pg_dump", "pg_restore", "psql"):
        require_binary(tool)
    datadir = Path(tempfile.mkdtemp(prefix="mt5gw-pgbackup-"))
    pwfile = datadir / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    run = {"check": True, "capture_output": True, "text": True}
    subprocess.run(
        as_postgres([str(bindir / "initdb"), "-D", str(datadir / "db"), "-A", "scram-sha-256",
                     "-U", "postgres", f"--pwfile={pwfile}", "--no-sync"]), **run,
    )  # fmt: skip
    port = free_port()
    options = f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = str(bindir / "pg_ctl")
    subprocess.run(
        as_postgres([pg_ctl, "-D", str(datadir / "db"), "-o", options, "-l",
                     str(datadir / "log"), "-w", "start"]), **run,
    )  # fmt: skip
    try:
        yield bindir, port
    finally:
        subprocess.run(as_postgres([pg_ctl, "-D", str(datadir / "db"), "-m", "fast", "stop"]),
                       capture_output=True)  # fmt: skip
        shutil.rmtree(datadir, ignore_errors=True)


def url(port: int, driver: str = "+asyncpg") -> str:
    return f"postgresql{driver}://postgres:{quote(PASSWORD, safe='')}@127.0.0.1:{port}/postgres"


def psql(port: int, sql: str) -> str:
    return subprocess.run(
        ["psql", "-At", "-c", sql, url(port, "")],
        env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def backup(*args: str, port: int, backups: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url(port) + "?ssl=disable", "BACKUP_DIR": str(backups),
           "ENV_FILE": "/nonexistent"}  # fmt: skip
    env.pop("PGPASSWORD", None)
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_pg_dump_backup_check_and_restore(cluster: tuple[Path, int], tmp_path: Path) -> None:
    _, port = cluster
    alembic = Path(sys.executable).with_name("alembic")
    subprocess.run([str(alembic), "upgrade", "head"], cwd=REPO, check=True, capture_output=True,
                   env={**os.environ, "DATABASE_URL": url(port)})  # fmt: skip
    psql(port, "INSERT INTO audit_log (at, user_id, action) VALUES (now(), 'u1', 'a'), "
               "(now(), 'u2', 'b')")  # fmt: skip
    backups = tmp_path / "backups"

    made = backup(port=port, backups=backups)
    assert made.returncode == 0, made.stderr
    (dump,) = backups.glob("gateway-*.dump")
    assert PASSWORD not in made.stdout + made.stderr

    checked = backup("check", str(dump), port=port, backups=backups)
    assert checked.returncode == 0 and "readable pg_dump archive" in checked.stdout

    psql(port, "DELETE FROM audit_log")
    restored = backup("restore", str(dump), port=port, backups=backups)
    assert restored.returncode == 0, restored.stderr
    assert psql(port, "SELECT string_agg(user_id, ',' ORDER BY user_id) FROM audit_log") == "u1,u2"


def test_a_wrong_password_fails_loudly(cluster: tuple[Path, int], tmp_path: Path) -> None:
    _, port = cluster
    wrong = f"postgresql+asyncpg://postgres:wrong@127.0.0.1:{port}/postgres"
    env = {**os.environ, "BACKUP_DIR": str(tmp_path / "b"), "ENV_FILE": "/nonexistent",
           "DATABASE_URL": wrong}  # fmt: skip
    result = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode != 0 and "password authentication failed" in result.stderr
    assert list((tmp_path / "b").iterdir()) == []  # no partial dump left behind
