"""mt5linux compatibility: a *classic* RPyC server where ``import MetaTrader5`` is the simulator.

The stock ``mt5linux`` client (0.1.x) talks to a classic RPyC server (``SlaveService``): it runs
``conn.execute("import MetaTrader5 as mt5")`` and then ``conn.eval("mt5.account_info(...)")``
with arguments formatted into source text. Classic mode executes any code any client sends, so
this exists only so existing mt5linux scripts can be pointed at the simulator on a trusted host;
the terminal server enables it only on an explicit flag and warns loudly.

Every MetaTrader5 function of the served module takes the terminal's lock, so calls made here
and calls made through the restricted service on the same terminal never interleave.

The server class comes from the caller (``server_factory``): the terminal server passes the
same guarded class as for its restricted ports (TCP_NODELAY, a connection cap, a handshake
deadline, accepting on after EMFILE, a message size cap), so both ports behave alike.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

from rpyc.core.service import SlaveService
from rpyc.utils.server import ThreadedServer

log = logging.getLogger("simulator.compat")


def locked_module(module: types.ModuleType, lock: Any) -> types.ModuleType:
    """A copy of ``module`` named MetaTrader5 whose public functions run under ``lock``."""
    copy = types.ModuleType("MetaTrader5", module.__doc__)
    for name, value in vars(module).items():
        if name.startswith("__") and name not in ("__version__", "__author__"):
            continue
        if callable(value) and not isinstance(value, type):
            value = _with_lock(value, lock)
        setattr(copy, name, value)
    return copy


def _with_lock(function: Any, lock: Any) -> Any:
    @functools.wraps(function)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return function(*args, **kwargs)

    return locked


def serve_classic(
    module: types.ModuleType,
    host: str,
    port: int,
    *,
    server_factory: Callable[..., ThreadedServer],
    lock: Any = None,
) -> ThreadedServer:
    """Start a classic RPyC server in a daemon thread; returns it once it is listening.

    ``server_factory(service, hostname=, port=, protocol_config=, logger=)`` builds the server
    (a ``ThreadedServer`` subclass).

    ``import MetaTrader5`` inside it yields ``module`` (registered in ``sys.modules``: this is
    a simulator process, the real package is never imported here)."""
    served = locked_module(module, lock if lock is not None else threading.RLock())
    sys.modules["MetaTrader5"] = served
    server = server_factory(
        SlaveService,
        hostname=host,
        port=port,
        protocol_config={"sync_request_timeout": 300},
        logger=logging.getLogger("simulator.compat.rpyc"),
    )
    ready = threading.Event()
    thread = threading.Thread(target=_run, args=(server, ready), name="classic-compat", daemon=True)
    thread.start()
    ready.wait()
    log.warning("classic RPyC (mt5linux compatible, executes arbitrary code) on %s:%d", host, port)
    return server


def _run(server: ThreadedServer, ready: threading.Event) -> None:
    server._listen()  # bind+listen now, so callers can connect as soon as we return
    ready.set()
    server.start()
