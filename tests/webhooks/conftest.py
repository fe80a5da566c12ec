"""Fixtures of the webhook tests: the stream tests' gateway stack (loaded by path) and a local
receiver, a real HTTP server in a thread."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
STREAM = HERE.parent / "stream"
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

from receiver import Receiver  # noqa: E402


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server
