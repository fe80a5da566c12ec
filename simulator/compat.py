"""mt5linux compatibility: a *classic* RPyC server where ``import MetaTrader5`` is the simulator.

The stock ``mt5linux`` client (0.1.x) talks to a classic RPyC server (``SlaveService``): it runs
``conn.execute("import MetaTrader5 as mt5")`` and then ``conn.eval("mt5.account_info(...)")``
with arguments formatted into source text. Classic mode executes any code any client sends, so
this exists only so existing mt5linux scripts can be pointed at the simulator on a trusted host;
the terminal server enables it only on an explicit flag and warns loudly.

Every MetaTrader5 function of the served module takes the terminal's lock, so calls made here
and calls made through the restricted service on the same terminal never interleave.

Clients as pip installs them (issue 14): ``mt5linux==0.1.9`` brings rpyc 5.0.1 and numpy 1.21.

* rpyc 6 frames a message as one byte of message type followed by brine ``(seq, args)``;
  rpyc 5 frames it as brine ``(type, seq, args)``, a 3-tuple whose first byte is brine's
  ``TAG_TUP3`` (18), never a valid rpyc 6 type (1-3). The other layers (brine, handler numbers,
  the classic service) are the same. :class:`FramingChannel` looks at each connection's first
  message and, for an rpyc 5 client, converts frames both ways.
* An rpyc 5 client resolves a remote object's class by its module and name: the package's
  result types say ``builtins.TradePosition``, which is no class on the client, so pandas'
  ``isinstance(row, Sequence)`` raises ``issubclass() arg 1 must be a class`` (with the real
  package too). For rpyc 5 clients the results are announced as ``builtins.tuple`` (they are
  tuples); attributes and ``_asdict()`` still go to the real object. rpyc 6 clients see them
  unchanged.
* numpy 2 pickles an array as ``numpy._core.multiarray._reconstruct(...)``, which numpy < 1.26
  cannot import. :class:`CompatConnection` pickles arrays (``rpyc.classic.obtain``, or a
  netref's ``__array__``) as ``numpy.ndarray(shape, dtype-descr, bytearray)``: public names and
  builtins only, which every numpy from 1.x to 2.x rebuilds into the same writable array.

The server class comes from the caller (``server_factory``): the terminal server passes the
same guarded class as for its restricted ports (TCP_NODELAY, a connection cap, a handshake
deadline, accepting on after EMFILE, a message size cap), so both ports behave alike.
"""

from __future__ import annotations

import datetime
import functools
import io
import logging
import pickle
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import numpy as np
from rpyc.core import brine, consts
from rpyc.core.protocol import Connection
from rpyc.core.service import SlaveService
from rpyc.utils.server import ThreadedServer

from simulator.structs import STRUCT_TYPES

_RESULT_TYPES = frozenset(STRUCT_TYPES.values())

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


class FramingChannel:
    """A channel that speaks rpyc 5's framing to a client whose first message used it."""

    def __init__(self, channel: Any) -> None:
        self._channel = channel
        self.legacy: bool | None = None  # decided by the first message received

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)

    def recv(self) -> bytes:
        data = self._channel.recv()
        if self.legacy is None and data:
            self.legacy = data[:1] == brine.TAG_TUP3
        if self.legacy and data:
            msg, seq, args = brine.load(data)
            return bytes(brine.I1.pack(msg) + brine.dump((seq, args)))
        return data

    def send(self, data: bytes) -> None:
        if self.legacy:
            seq, args = brine.load(data[1:])
            data = brine.dump((data[0], seq, args))
        self._channel.send(data)


class _PortablePickler(pickle.Pickler):
    """Pickles numpy arrays and number scalars with names every numpy version has."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is np.ndarray and not obj.dtype.hasobject:
            dtype = obj.dtype.descr if obj.dtype.names else obj.dtype.str
            data = bytearray(np.ascontiguousarray(obj).tobytes())
            return np.ndarray, (obj.shape, dtype, data)
        if isinstance(obj, np.integer | np.floating):
            return type(obj), (obj.item(),)
        return NotImplemented


def portable_pickle(obj: Any, protocol: int) -> bytes:
    """``pickle.dumps(obj, protocol)`` with arrays any numpy (1.x or 2.x) can rebuild."""
    out = io.BytesIO()
    _PortablePickler(out, protocol).dump(obj)
    return out.getvalue()


class CompatConnection(Connection):
    """An rpyc 6 connection that also serves rpyc 5 clients and numpy 1.x unpicklers."""

    def __init__(self, root: Any, channel: Any, config: Any = None) -> None:
        super().__init__(root, FramingChannel(channel), config or {})

    def _box(self, obj: Any) -> Any:
        if type(obj) in _RESULT_TYPES and self._channel.legacy:
            id_pack = ("builtins.tuple", id(type(obj)), id(obj))
            self._local_objects.add(id_pack, obj)
            return consts.LABEL_REMOTE_REF, id_pack
        return super()._box(obj)

    def _handle_pickle(self, obj: Any, proto: int) -> bytes:
        if not self._config["allow_pickle"]:
            raise ValueError("pickling is disabled")
        return portable_pickle(obj, proto)


class CompatSlaveService(SlaveService):
    """The classic service on :class:`CompatConnection`. Its namespace starts with ``datetime``
    imported: mt5linux 0.1.x sends dates as ``repr(date.astimezone())`` source text."""

    __slots__ = ()
    _protocol = CompatConnection

    def __init__(self) -> None:
        super().__init__()
        self.namespace["datetime"] = datetime


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
        CompatSlaveService,
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
