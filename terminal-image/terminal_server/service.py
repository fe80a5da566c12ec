"""The restricted RPyC service: allow-listed MetaTrader5 calls in, plain values out.

Exposed (and nothing else; the server runs with ``allow_public_attrs=False`` and
``allow_pickle=False``, never as a classic/SlaveService):

    call(function, args, kwargs_pairs) -> (encoded_result, (code, message))
    batch(calls)                       -> tuple of the above, one per (function, args, kwargs_pairs)
    struct_fields(typename)            -> field names of an MT5 struct type, in order
    ping()                             -> True (one round trip, nothing else)
    control(name, kwargs_pairs)        -> encoded result  (simulator backend only)

Every call holds the terminal's lock from the function call until ``last_error()`` has been
read, so the error belongs to that call even with several clients.
"""

import logging
import threading
import types

from terminal_server import codec

ALLOWED_FUNCTIONS = frozenset(
    (
        "initialize", "login", "shutdown", "version", "last_error",
        "account_info", "terminal_info",
        "symbols_total", "symbols_get", "symbol_info", "symbol_info_tick", "symbol_select",
        "market_book_add", "market_book_get", "market_book_release",
        "copy_rates_from", "copy_rates_from_pos", "copy_rates_range",
        "copy_ticks_from", "copy_ticks_range",
        "orders_total", "orders_get", "positions_total", "positions_get",
        "history_orders_total", "history_orders_get",
        "history_deals_total", "history_deals_get",
        "order_calc_margin", "order_calc_profit", "order_check", "order_send",
    )
)
STRUCT_TYPES = frozenset(
    (
        "AccountInfo", "TerminalInfo", "SymbolInfo", "Tick", "BookInfo", "TradeOrder",
        "TradePosition", "TradeDeal", "TradeRequest", "OrderSendResult", "OrderCheckResult",
    )
)
MAX_BATCH = 64
NOT_CALLED = (0, "not called")

log = logging.getLogger("terminal_server.service")


class ConnectionRegistry:
    """The live connections of one server, so a control can drop them all."""

    def __init__(self):
        self._lock = threading.Lock()
        self._connections = set()

    def add(self, conn):
        with self._lock:
            self._connections.add(conn)

    def discard(self, conn):
        with self._lock:
            self._connections.discard(conn)

    def __len__(self):
        with self._lock:
            return len(self._connections)

    def drop_all(self, keep=None):
        """Close every connection except ``keep``; returns how many were closed."""
        with self._lock:
            victims = [c for c in self._connections if c is not keep]
        for conn in victims:
            _hard_close(conn)
        return len(victims)


def _hard_close(conn):
    """Cut the socket first (no goodbye round trip that a hung peer would never answer)."""
    try:
        conn._channel.close()
    except Exception:  # already closed
        pass
    try:
        conn.close()
    except Exception:
        pass


class TerminalRunner:
    """Runs allow-listed functions of one terminal slot and encodes their results."""

    def __init__(self, slot):
        self.slot = slot
        self._functions = {}
        for name in ALLOWED_FUNCTIONS:
            function = getattr(slot.module, name, None)
            if callable(function):
                self._functions[name] = function

    def run(self, function, args, kwargs_pairs):
        target = self._functions.get(function) if type(function) is str else None
        if target is None:
            return codec.encode_error("Refused", "function %r is not allowed" % (function,)), \
                NOT_CALLED
        try:
            call_args, call_kwargs = codec.decode_args(args, kwargs_pairs)
            self._check_initialize(function, call_args, call_kwargs)
        except (TypeError, ValueError) as exc:
            return codec.encode_error(type(exc).__name__, str(exc)), NOT_CALLED
        if function == "initialize" and self.slot.fixed_init_path:
            call_args = (self.slot.fixed_init_path,)
        module = self.slot.module
        with self.slot.lock:
            try:
                result = target(*call_args, **call_kwargs)
            except Exception as exc:  # the package raises TypeError/SystemError on misuse
                return codec.encode_error(type(exc).__name__, str(exc)), _last_error(module)
            error = _last_error(module)
            try:
                return codec.encode_result(function, result), error
            except TypeError as exc:
                return codec.encode_error("TypeError", str(exc)), error

    @staticmethod
    def _check_initialize(function, args, kwargs):
        # initialize(path) starts a program by path: the server decides which terminal runs.
        if function == "initialize" and (args or "path" in kwargs):
            raise ValueError("initialize(path) is not accepted; the server configures the path")

    def struct_fields(self, typename):
        if typename not in STRUCT_TYPES:
            raise ValueError("unknown struct type %r" % (typename,))
        return struct_fields_of(getattr(self.slot.module, typename, None), typename)


def _last_error(module):
    code, message = module.last_error()
    return (int(code), str(message))


def struct_fields_of(struct_type, typename):
    """Field names in order: the simulator's ``_struct_fields``, or a structseq's members."""
    if struct_type is None:
        raise ValueError("the module has no struct type %r" % (typename,))
    fields = getattr(struct_type, "_struct_fields", None)
    if fields is None:
        fields = [
            name for name, member in vars(struct_type).items()
            if isinstance(member, types.MemberDescriptorType) and not name.startswith("n_")
        ]
    return tuple(str(name) for name in fields)


def make_service_class(runner, registry, controls_enabled):
    """An ``rpyc.Service`` subclass bound to one terminal; rpyc makes one per connection."""
    import rpyc

    class MT5Service(rpyc.Service):
        def on_connect(self, conn):
            self._conn = conn
            # Terminals sit on loopback or an internal network: zlib on multi-megabyte answers
            # (bars, ticks, symbol lists) costs more time than the bytes it saves.
            conn._channel.compress = False
            registry.add(conn)

        def on_disconnect(self, conn):
            registry.discard(conn)

        def exposed_ping(self):
            return True

        def exposed_call(self, function, args=(), kwargs_pairs=()):
            return runner.run(function, args, kwargs_pairs)

        def exposed_batch(self, calls):
            if type(calls) is not tuple or len(calls) > MAX_BATCH:
                raise ValueError("batch takes a tuple of at most %d calls" % MAX_BATCH)
            results = []
            with runner.slot.lock:  # one session: nobody interleaves between the calls
                for call in calls:
                    if type(call) is not tuple or len(call) != 3:
                        results.append((codec.encode_error(
                            "TypeError", "each call is (function, args, kwargs_pairs)"), NOT_CALLED))
                        continue
                    results.append(runner.run(*call))
            return tuple(results)

        def exposed_struct_fields(self, typename):
            return runner.struct_fields(typename)

        if controls_enabled:
            def exposed_control(self, name, kwargs_pairs=()):
                return run_control(runner.slot, registry, self._conn, name, kwargs_pairs)

    MT5Service.__name__ = "MT5Service"
    return MT5Service


def run_control(slot, registry, caller, name, kwargs_pairs):
    """A simulator control by name: a public method of the terminal's controls, or
    ``drop_connections`` (closes every other connection of this server)."""
    kwargs = codec.decode_dict(kwargs_pairs) if type(kwargs_pairs) is tuple else None
    if kwargs is None:
        raise codec.ArgumentError("control arguments travel as (name, value) pairs")
    if name == "drop_connections":
        dropped = registry.drop_all(keep=caller)
        log.info("control drop_connections: closed %d connection(s)", dropped)
        return dropped
    controls = slot.controls
    if type(name) is not str or name.startswith("_") or not callable(getattr(controls, name, None)):
        raise ValueError("unknown control %r" % (name,))
    log.info("control %s(%s)", name, ", ".join(sorted(kwargs)))
    return codec.encode(getattr(controls, name)(**kwargs))
