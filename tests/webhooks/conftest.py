"""Fixtures of the webhook tests: the stream tests' gateway stack (loaded by path), a local
receiver (a real HTTP server in a thread), and the store tests' databases (loaded by path): a
throwaway PostgreSQL cluster, and per test a migrated database on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
STREAM = HERE.parent / "stream"
STORE = HERE.parent / "store"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(STREAM))

_spec = importlib.util.spec_from_file_location("stream_fixtures", STREAM / "conftest.py")
assert _spec is not None and _spec.loader is not None
stream_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stream_fixtures)
anyio_backend = stream_fixtures.anyio_backend
jwks = stream_fixtures.jwks
sim_server = stream_fixtures.sim_server
control = stream_fixtures.control
make_stack = stream_fixtures.make_stack
other_client = stream_fixtures.other_client

_store_spec = importlib.util.spec_from_file_location("store_fixtures", STORE / "conftest.py")
assert _store_spec is not None and _store_spec.loader is not None
store_fixtures = importlib.util.module_from_spec(_store_spec)
_store_spec.loader.exec_module(store_fixtures)
postgres_server = store_fixtures.postgres_server
_databases = store_fixtures._databases
databases = store_fixtures.databases
db_url = store_fixtures.db_url
sessionmaker = store_fixtures.sessionmaker

from receiver import Receiver  # noqa: E402


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """An empty database of its own on the throwaway PostgreSQL cluster (migrated on first use,
    e.g. by ``stream_support.seed``)."""
    name = f"w_{uuid.uuid4().hex[:12]}"
    store_fixtures._admin(postgres_server, f'CREATE DATABASE "{name}"')
    return postgres_server.rsplit("/", 1)[0] + "/" + name
