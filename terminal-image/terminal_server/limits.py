"""Size caps of the terminal server: what one client may send and what one answer may hold.

A cap that is hit gives the client a clear error (kind ``LimitExceeded``), never an
out-of-memory kill. The gateway stays below every cap; anything above them is a bug or an
attack. The numbers:

    MAX_REQUEST_BYTES    1 MiB    one RPyC message from a client, before and after zlib;
                                  a bigger one closes the connection (it cannot be answered
                                  without reading it whole)
    MAX_BATCH_CALLS      64       calls in one ``batch``
    MAX_ARG_CHARS        4096     characters of one str / bytes of one bytes argument
    MAX_ARG_ITEMS        64       items of one tuple (the args, one dict's pairs, ...)
    MAX_ARG_DEPTH        6        tuples inside tuples (a request dict in the args is 3)
    MAX_ARG_VALUES       1024     values in the arguments of one call, all levels together
    ints                          between -2**63 and 2**64 - 1 (MT5 takes int64/uint64)
    MAX_BARS_PER_CALL    100,000  ``count`` of copy_rates_from/_from_pos; bars a
                                  copy_rates_range span can hold at its timeframe
    MAX_TICKS_PER_CALL   1,000,000 ``count`` of copy_ticks_from
    MAX_TICK_RANGE_S     7 days   ``date_to - date_from`` of copy_ticks_range
    MAX_ANSWER_BYTES     64 MiB   one answer (a call or a whole batch): arrays count their
                                  bytes, collections 16 bytes per field of each row (about
                                  twice their wire size: ~43,000 symbols fit). In a
                                  batch, the call that does not fit gets the error and the
                                  calls after it are not run.

Arguments are checked before the terminal lock is taken; the answer cap after each call.
Only the standard library here (this runs under Windows Python next to MT5).
"""

MAX_REQUEST_BYTES = 1 << 20
MAX_BATCH_CALLS = 64
MAX_ARG_CHARS = 4096
MAX_ARG_ITEMS = 64
MAX_ARG_DEPTH = 6
MAX_ARG_VALUES = 1024
MIN_INT = -(1 << 63)
MAX_INT = (1 << 64) - 1
MAX_BARS_PER_CALL = 100000
MAX_TICKS_PER_CALL = 1000000
MAX_TICK_RANGE_S = 7 * 86400
MAX_ANSWER_BYTES = 64 << 20
ROW_FIELD_BYTES = 16


class LimitExceeded(ValueError):
    """A request over one of the caps above."""


class ArgumentBudget:
    """Counts the values of one call's arguments (``MAX_ARG_VALUES``)."""

    __slots__ = ("left",)

    def __init__(self):
        self.left = MAX_ARG_VALUES

    def take(self):
        self.left -= 1
        if self.left < 0:
            raise LimitExceeded("more than %d values in one call's arguments" % MAX_ARG_VALUES)


def check_scalar(kind, value):
    """Length of str/bytes and range of int (``kind`` is ``type(value)``, already a builtin)."""
    if (kind is str or kind is bytes) and len(value) > MAX_ARG_CHARS:
        raise LimitExceeded("a %s argument of %d characters; at most %d"
                            % (kind.__name__, len(value), MAX_ARG_CHARS))
    if kind is int and not MIN_INT <= value <= MAX_INT:
        raise LimitExceeded("an int argument outside the 64-bit range")


def check_tuple(value, depth):
    if depth > MAX_ARG_DEPTH:
        raise LimitExceeded("arguments nested deeper than %d tuples" % MAX_ARG_DEPTH)
    if len(value) > MAX_ARG_ITEMS:
        raise LimitExceeded("a tuple of %d items; at most %d" % (len(value), MAX_ARG_ITEMS))


# Where each bounded function takes its count or its dates: (position, keyword).
_COUNT = {
    "copy_rates_from": ((3, "count"), MAX_BARS_PER_CALL, "bars"),
    "copy_rates_from_pos": ((3, "count"), MAX_BARS_PER_CALL, "bars"),
    "copy_ticks_from": ((2, "count"), MAX_TICKS_PER_CALL, "ticks"),
}
_RANGE = {
    "copy_rates_range": ((2, "date_from"), (3, "date_to")),
    "copy_ticks_range": ((1, "date_from"), (2, "date_to")),
}


def check_work(function, args, kwargs):
    """Refuse copy_* calls whose count or date range is over the caps (before running them)."""
    if function in _COUNT:
        where, cap, unit = _COUNT[function]
        count = _param(args, kwargs, where)
        if _is_number(count) and count > cap:
            raise LimitExceeded("%s: count %s is over the cap of %d %s per call"
                                % (function, _number(count), cap, unit))
    elif function in _RANGE:
        start, end = (_param(args, kwargs, where) for where in _RANGE[function])
        if not (_is_number(start) and _is_number(end)):
            return
        span = end - start
        if function == "copy_ticks_range":
            if span > MAX_TICK_RANGE_S:
                raise LimitExceeded("copy_ticks_range: a range of %s s is over the cap of %d s"
                                    % (_number(span), MAX_TICK_RANGE_S))
            return
        timeframe = _param(args, kwargs, (1, "timeframe"))
        step = timeframe_seconds(timeframe) if type(timeframe) is int else 60
        if span / step + 1 > MAX_BARS_PER_CALL:
            raise LimitExceeded("copy_rates_range: the range holds more than %d bars"
                                % MAX_BARS_PER_CALL)


def timeframe_seconds(timeframe):
    """The shortest period of an MT5 TIMEFRAME_* value (minutes 1-30; 0x4000|hours; W1; MN1
    as 28 days); unknown values count as one minute, so the bar estimate errs high."""
    if 1 <= timeframe <= 30:
        return timeframe * 60
    if timeframe & 0xC000 == 0x4000 and 1 <= timeframe & 0x3FFF <= 24:
        return (timeframe & 0x3FFF) * 3600
    if timeframe == 0x8001:
        return 7 * 86400
    if timeframe == 0xC001:
        return 28 * 86400
    return 60


def _param(args, kwargs, where):
    position, name = where
    if len(args) > position:
        return args[position]
    return kwargs.get(name)


def _is_number(value):
    kind = type(value)
    return (kind is int or kind is float) and value == value  # NaN is no count


def _number(value):
    return "%d" % value if type(value) is int else "%g" % value


def answer_weight(value):
    """Bytes an answer will take, roughly, from the raw result (before encoding it)."""
    nbytes = getattr(value, "nbytes", None)
    if type(nbytes) is int and hasattr(value, "dtype"):  # a numpy array
        return nbytes
    if isinstance(value, (tuple, list)):
        if value and isinstance(value[0], tuple):  # rows of structs
            return len(value) * max(len(value[0]), 1) * ROW_FIELD_BYTES
        return len(value) * ROW_FIELD_BYTES
    return ROW_FIELD_BYTES


class AnswerBudget:
    """What is left of ``MAX_ANSWER_BYTES`` for one call or one batch."""

    __slots__ = ("left", "spent")

    def __init__(self):
        self.left = MAX_ANSWER_BYTES
        self.spent = False

    def charge(self, function, value):
        """Account for one result; raises LimitExceeded (and closes the budget) if it does not fit."""
        weight = answer_weight(value)
        if weight > self.left:
            self.spent = True
            raise LimitExceeded("%s: the answer would take about %d bytes; at most %d per "
                                "answer (ask for fewer rows or a shorter range)"
                                % (function, weight, MAX_ANSWER_BYTES))
        self.left -= weight
