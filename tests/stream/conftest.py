"""Fixtures of the stream tests: the simulator (two terminals sharing one broker world: the
gateway uses the first, the second plays "another client" of the same account), a JWKS stand-in,
and a fresh gateway with the stream per test (a fresh store: the world is reset per test, and
its tickets start again)."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "gateway"))
sys.path.insert(0, str(HERE.parent / "terminal"))

from helpers import JwksServer, new_es256  # noqa: E402
from server_process import TerminalServerProcess, start_terminal_server  # noqa: E402
from sim_control import SimControl  # noqa: E402
from stream_support import FROZEN_MS, Stack, gateway_settings, running_gateway, seed  # noqa: E402

from gateway.store.crypto import Keyring, generate_key  # noqa: E402
from gateway.terminal.rpyc_client import RpycTerminal  # noqa: E402


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def jwks() -> Iterator[JwksServer]:
    server = JwksServer(keys=[new_es256("es-1")])
    yield server
    server.close()


@pytest.fixture(scope="session")
def sim_server() -> Iterator[TerminalServerProcess]:
    with start_terminal_server(terminals=2) as server:
        yield server


@pytest.fixture(scope="session")
def control(sim_server: TerminalServerProcess) -> Iterator[SimControl]:
    with SimControl(sim_server.host, sim_server.port) as ctl:
        yield ctl


@pytest.fixture
def make_stack(
    jwks: JwksServer,
    sim_server: TerminalServerProcess,
    control: SimControl,
    tmp_path: Path,
) -> Iterator[Callable[..., Stack]]:
    """``make_stack(**settings)`` starts a gateway (any ``Settings`` field may be given) on a
    fresh store and a fresh world at the frozen Tuesday noon; all of them stop at the end of
    the test."""
    control.reset()
    control.freeze_time(ms=FROZEN_MS)
    exits: list[Any] = []

    def make(*, reuse: Stack | None = None, **overrides: Any) -> Stack:
        """A gateway on a fresh store, or (``reuse``) on the store of an earlier one."""
        if reuse is not None:
            key, url, ids = reuse.key, reuse.db_url, reuse.ids
        else:
            key = generate_key("k1")
            url = f"sqlite+aiosqlite:///{tmp_path / f'gateway-{len(exits)}.db'}"
            with ThreadPoolExecutor(1) as pool:  # callable from inside a test's event loop too
                ids = pool.submit(asyncio.run, seed(url, Keyring.parse(key))).result()
        context = running_gateway(gateway_settings(jwks, sim_server, url, key, **overrides))
        server = context.__enter__()
        exits.append(context)
        return Stack(server, jwks, ids, url, key)

    yield make
    for context in reversed(exits):
        context.__exit__(None, None, None)
    control.hang_calls(seconds=0)


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack()


@pytest.fixture
def other_client(sim_server: TerminalServerProcess) -> Iterator[Callable[..., Any]]:
    """The simulator's second terminal, logged into 10001: another client of the account
    (its orders carry no gateway client id). ``other_client("order_send", request)``; it runs
    on a loop of its own in a thread, so async tests may call it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    terminal = RpycTerminal("other", sim_server.host, sim_server.ports[1], timeout_s=30)

    def call(method: str, *args: Any, **kwargs: Any) -> Any:
        work = getattr(terminal, method)(*args, **kwargs)
        return asyncio.run_coroutine_threadsafe(work, loop).result(60)

    call("call", "initialize")
    call("login", 10001, "demo-10001", "Sim-Demo", 60_000)
    yield call
    call("close")
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()
