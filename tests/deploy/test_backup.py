"""deploy/mt5-gateway-backup.sh run as a plain process on a real gateway SQLite database (made
by the gateway's own migrations), and its systemd service and timer checked by systemd."""

from __future__ import annotations

import gzip
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from deploy_support import REPO, require_binary

SCRIPT = REPO / "deploy" / "mt5-gateway-backup.sh"
SERVICE = REPO / "deploy" / "mt5-gateway-backup.service"
TIMER = REPO / "deploy" / "mt5-gateway-backup.timer"
INSTALLED_SCRIPT = "/opt/mt5-gateway/deploy/mt5-gateway-backup.sh"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database at the gateway's newest schema revision (alembic upgrade head)."""
    db = tmp_path_factory.mktemp("schema") / "gateway.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    alembic = Path(sys.executable).with_name("alembic")
    subprocess.run([str(alembic), "upgrade", "head"], cwd=REPO, env=env, check=True,
                   capture_output=True)  # fmt: skip
    return db


@pytest.fixture
def db(migrated: Path, tmp_path: Path, sqlite3_bin: str) -> Path:
    live = tmp_path / "state" / "gateway.db"
    live.parent.mkdir()
    live.write_bytes(migrated.read_bytes())
    add_audit_rows(live, 3)
    return live


@pytest.fixture(scope="module")
def sqlite3_bin() -> str:
    return require_binary("sqlite3")


def add_audit_rows(db: Path, n: int) -> None:
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.executemany(
            "INSERT INTO audit_log (at, user_id, action) VALUES ('2026-11-25 12:00:00', ?, ?)",
            [(f"user-{i}", "account.create") for i in range(n)],
        )


def audit_rows(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])


def run(*args: str, db: Path, backups: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env={**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
             "BACKUP_DIR": str(backups), "ENV_FILE": "/nonexistent", **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def newest(backups: Path) -> Path:
    return sorted(backups.glob("gateway-*.db.gz"))[-1]


def test_backup_is_a_consistent_copy_while_a_writer_is_busy(db: Path, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    with closing(sqlite3.connect(db, isolation_level=None)) as writer:
        writer.execute("PRAGMA journal_mode=WAL")  # as gateway/db.py sets it
        insert = "INSERT INTO audit_log (at, user_id, action) VALUES ('2026-11-25', 'x', ?)"
        writer.execute(insert, ("committed",))  # committed, still only in the WAL file
        writer.execute(insert, ("committed",))
        writer.execute("BEGIN IMMEDIATE")  # the gateway in the middle of a write
        writer.execute(insert, ("pending",))
        result = run(db=db, backups=backups)
        writer.execute("ROLLBACK")
    assert result.returncode == 0, result.stderr
    assert re.search(r"backup written: .*gateway-\d{8}T\d{6}\.\d{3}Z\.db\.gz", result.stdout)
    copy = tmp_path / "copy.db"
    copy.write_bytes(gzip.decompress(newest(backups).read_bytes()))
    assert audit_rows(copy) == 5  # every committed row, the pending one not
    assert oct(newest(backups).stat().st_mode & 0o777) == "0o600"


def test_restore_drill_check_reports_revision_and_leaves_the_live_db(
    db: Path, tmp_path: Path
) -> None:
    backups = tmp_path / "backups"
    assert run(db=db, backups=backups).returncode == 0
    before = db.read_bytes()
    check = run("check", str(newest(backups)), db=db, backups=backups)
    assert check.returncode == 0, check.stderr
    assert "integrity ok, schema revision" in check.stdout
    assert db.read_bytes() == before


def test_restore_brings_back_the_backup_and_keeps_the_replaced_file(
    db: Path, tmp_path: Path
) -> None:
    backups = tmp_path / "backups"
    assert run(db=db, backups=backups).returncode == 0
    add_audit_rows(db, 5)  # changes made after the backup ...
    restored = run("restore", str(newest(backups)), db=db, backups=backups)
    assert restored.returncode == 0, restored.stderr
    assert audit_rows(db) == 3  # ... are gone
    (kept,) = db.parent.glob("gateway.db.before-restore-*")
    assert audit_rows(kept) == 8


def test_restore_refuses_while_the_database_is_open(db: Path, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    assert run(db=db, backups=backups).returncode == 0
    with closing(sqlite3.connect(db)) as gateway:
        gateway.execute("PRAGMA journal_mode=WAL")  # as gateway/db.py sets it
        gateway.execute("SELECT 1").fetchall()
        refused = run("restore", str(newest(backups)), db=db, backups=backups)
    assert refused.returncode == 1 and "stop the gateway first" in refused.stderr
    assert not list(db.parent.glob("gateway.db.before-restore-*"))


def test_check_fails_on_a_damaged_backup(db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "gateway-bad.db.gz"
    bad.write_bytes(gzip.compress(b"SQLite format 3\x00" + b"\x07" * 8192))
    result = run("check", str(bad), db=db, backups=tmp_path)
    assert result.returncode != 0


def test_keeps_the_newest_n_backups(db: Path, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    ancient = backups / "gateway-20000101T000000.000Z.db.gz"
    ancient.write_bytes(b"old")
    for _ in range(3):
        assert run(db=db, backups=backups, BACKUP_KEEP="2").returncode == 0
    names = sorted(p.name for p in backups.glob("gateway-*"))
    assert len(names) == 2 and ancient.name not in names


def test_database_url_comes_from_the_env_file(db: Path, tmp_path: Path) -> None:
    env_file = tmp_path / "gateway.env"
    env_file.write_text(f"LOG_LEVEL=INFO\nDATABASE_URL=sqlite+aiosqlite:///{db}\nTERMINALS=x\n")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        ["bash", str(SCRIPT)],
        env={**env, "ENV_FILE": str(env_file), "BACKUP_DIR": str(tmp_path / "b")},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "b").glob("gateway-*.db.gz"))) == 1


def test_a_missing_database_is_an_error_not_an_empty_backup(tmp_path: Path) -> None:
    result = run(db=tmp_path / "absent.db", backups=tmp_path / "b")
    assert result.returncode == 1 and "no database at" in result.stderr
    assert not (tmp_path / "absent.db").exists()


def test_backup_script_passes_shellcheck(shellcheck_bin: str) -> None:
    result = subprocess.run([shellcheck_bin, str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# --- the systemd service and timer -----------------------------------------------------------


@pytest.fixture
def checkable_units(tmp_path: Path) -> Path:
    text = SERVICE.read_text()
    assert INSTALLED_SCRIPT in text
    (tmp_path / SERVICE.name).write_text(text.replace(INSTALLED_SCRIPT, str(SCRIPT)))
    (tmp_path / TIMER.name).write_text(TIMER.read_text())
    return tmp_path


def test_service_and_timer_verify(systemd_analyze_bin: str, checkable_units: Path) -> None:
    result = subprocess.run(
        [systemd_analyze_bin, "verify", SERVICE.name, TIMER.name],
        capture_output=True, text=True, cwd=checkable_units,
    )  # fmt: skip
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_backup_service_is_sandboxed(
    systemd_analyze_bin: str, checkable_units: Path, report_figure: Callable[[str, str], None]
) -> None:
    result = subprocess.run(
        [systemd_analyze_bin, "security", "--offline=yes", "--threshold=15", SERVICE.name],
        capture_output=True, text=True, cwd=checkable_units,
    )  # fmt: skip
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found and result.returncode == 0, result.stdout[-2000:]
    report_figure(
        "systemd-exposure-mt5-gateway-backup",
        f"systemd-analyze security deploy/mt5-gateway-backup.service: exposure {found[1]} "
        "(at most 1.5)",
    )
