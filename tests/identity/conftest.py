"""Identity fixtures: a local JWKS, two real simulator terminals, and the throwaway PostgreSQL
server of ``tests/store/conftest.py`` (loaded by path; its ``postgres_server`` is reused)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "gateway"))
sys.path.insert(0, str(TESTS / "terminal"))
sys.path.insert(0, str(TESTS / "deploy"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import JwksServer, new_es256  # noqa: E402
from identity_support import FROZEN_MS  # noqa: E402
from server_process import TerminalServerProcess, start_terminal_server  # noqa: E402
from sim_control import SimControl  # noqa: E402

_spec = importlib.util.spec_from_file_location("store_fixtures", TESTS / "store" / "conftest.py")
assert _spec is not None and _spec.loader is not None
store_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(store_fixtures)
postgres_server = store_fixtures.postgres_server
Databases = store_fixtures.Databases


@pytest.fixture(scope="session")
def jwks() -> Iterator[JwksServer]:
    server = JwksServer(keys=[new_es256("es-id")])
    yield server
    server.close()


@pytest.fixture(scope="session")
def sims() -> Iterator[TerminalServerProcess]:
    """Two simulated terminals sharing one world, the clock frozen on a trading day."""
    with start_terminal_server(terminals=2) as server:
        with SimControl(server.host, server.ports[0]) as control:
            control.freeze_time(ms=FROZEN_MS)
        yield server


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.needs_binary("postgres"))]
)
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store of its own, on SQLite and on PostgreSQL (the gateway migrates it)."""
    pg = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    url: str = Databases(request.param, tmp_path, pg).empty()
    return url


@pytest.fixture(scope="module")
def empty_postgres(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A new, empty database on the throwaway PostgreSQL server (superuser DSN)."""
    url: str = Databases("postgresql", tmp_path_factory.mktemp("pg"), postgres_server).empty()
    return url


@pytest.fixture(scope="session")
def psql_binary() -> Path:
    bindir = store_fixtures._pg_bindir()
    if bindir is None or not (bindir / "psql").exists():
        pytest.skip("psql not found")  # postgres_server has already failed or skipped then
    return Path(bindir) / "psql"
