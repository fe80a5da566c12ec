"""The restricted RPyC service: allow-listed MetaTrader5 calls in, plain values out.

Exposed (and nothing else; the server runs with ``allow_public_attrs=False`` and
``allow_pickle=False``, never as a classic/SlaveService):

    call(function, args, kwargs_pairs) -> (encoded_result, (code, message))
    batch(calls)                       -> tuple of the above, one per (function, args, kwargs_pairs)
    struct_fields(typename)            -> field names of an MT5 struct type, in order
    ping()                             -> True (one round trip, nothing else)
    control(name, kwargs_pairs)        -> encoded result  (simulator backend only)

Arguments are decoded (exact builtins only, within the caps of ``limits``) before the
terminal's lock is taken, so nothing a client sends runs while the lock is held. Every call
then holds the lock from the function call until ``last_error()`` has been read, so the error
belongs to that call even with several clients; a batch holds it across all of its calls.
"""

import logging
import threading
import types

from terminal_server import codec, limits

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
    """Runs allow-listed functions of one terminal slot and encodes their results.

    A call is prepared first (function looked up, arguments decoded and checked against the
    caps), with no lock held and without touching anything but builtins; only then is the
    terminal's lock taken to run it."""

    def __init__(self, slot):
        self.slot = slot
        self._functions = {}
        for name in ALLOWED_FUNCTIONS:
            function = getattr(slot.module, name, None)
            if callable(function):
                self._functions[name] = function

    def prepare(self, function, args, kwargs_pairs):
        """``(function, target, args, kwargs)`` ready to run, or an encoded refusal (a tuple
        ``(encoded_error, NOT_CALLED)``) as the second item of ``(None, refusal)``."""
        target = self._functions.get(function) if type(function) is str else None
        if target is None:
            return None, refusal("Refused", "function %s is not allowed" % codec.describe(function))
        try:
            call_args, call_kwargs = codec.decode_args(args, kwargs_pairs)
            self._check_initialize(function, call_args, call_kwargs)
            limits.check_work(function, call_args, call_kwargs)
        except (TypeError, ValueError) as exc:
            return None, refusal(type(exc).__name__, str(exc))
        if function == "initialize" and self.slot.fixed_init_path:
            call_args = (self.slot.fixed_init_path,)
        return (function, target, call_args, call_kwargs), None

    def execute(self, prepared, budget):
        """Run one prepared call under the terminal's lock: ``(encoded_result, last_error)``."""
        function, target, call_args, call_kwargs = prepared
        module = self.slot.module
        with self.slot.lock:
            try:
                result = target(*call_args, **call_kwargs)
            except Exception as exc:  # the package raises TypeError/SystemError on misuse
                return codec.encode_error(type(exc).__name__, str(exc)), _last_error(module)
            error = _last_error(module)
        try:
            budget.charge(function, result)
            return codec.encode_result(function, result), error
        except (TypeError, ValueError) as exc:
            return codec.encode_error(type(exc).__name__, str(exc)), error

    def run(self, function, args, kwargs_pairs):
        prepared, refused = self.prepare(function, args, kwargs_pairs)
        if refused is not None:
            return refused
        return self.execute(prepared, limits.AnswerBudget())

    def run_batch(self, calls):
        """Prepare every call (no lock), then run them all under one hold of the lock, so no
        other client interleaves; calls after one whose answer did not fit are not run."""
        if type(calls) is not tuple or len(calls) > limits.MAX_BATCH_CALLS:
            raise ValueError("batch takes a tuple of at most %d calls" % limits.MAX_BATCH_CALLS)
        plans = []
        for call in calls:
            if type(call) is not tuple or len(call) != 3:
                plans.append((None, refusal("TypeError",
                                            "each call is (function, args, kwargs_pairs)")))
            else:
                plans.append(self.prepare(*call))
        budget = limits.AnswerBudget()
        results = []
        with self.slot.lock:  # one session: nobody interleaves between the calls
            for prepared, refused in plans:
                if refused is not None:
                    results.append(refused)
                elif budget.spent:
                    results.append(refusal("LimitExceeded", "not run: an earlier call of this "
                                           "batch filled the answer (%d bytes at most)"
                                           % limits.MAX_ANSWER_BYTES))
                else:
                    results.append(self.execute(prepared, budget))
        return tuple(results)

    @staticmethod
    def _check_initialize(function, args, kwargs):
        # initialize(path) starts a program by path: the server decides which terminal runs.
        if function == "initialize" and (args or "path" in kwargs):
            raise ValueError("initialize(path) is not accepted; the server configures the path")

    def struct_fields(self, typename):
        if type(typename) is not str or typename not in STRUCT_TYPES:
            raise ValueError("unknown struct type %s" % codec.describe(typename))
        return struct_fields_of(getattr(self.slot.module, typename, None), typename)


def refusal(kind, message):
    """The answer for a call that was not run."""
    return codec.encode_error(kind, message), NOT_CALLED


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
            return runner.run_batch(calls)

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
    if type(name) is not str:
        raise ValueError("unknown control %s" % codec.describe(name))
    if type(kwargs_pairs) is not tuple:
        raise codec.ArgumentError("control arguments travel as (name, value) pairs")
    kwargs = codec.decode_dict(kwargs_pairs)
    if name == "drop_connections":
        dropped = registry.drop_all(keep=caller)
        log.info("control drop_connections: closed %d connection(s)", dropped)
        return dropped
    controls = slot.controls
    if name.startswith("_") or not callable(getattr(controls, name, None)):
        raise ValueError("unknown control %r" % (name,))
    log.info("control %s(%s)", name, ", ".join(sorted(kwargs)))
    return codec.encode(getattr(controls, name)(**kwargs))
