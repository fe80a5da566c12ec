"""Log output of the terminal server: one JSON object per line (the default), or text.

    {"time": "2026-11-18T12:00:00.123Z", "level": "INFO", "logger": "terminal_server",
     "message": "ready: 1 terminal(s)", ...fields passed with ``extra=``}

Everything goes through ``logging`` to stdout: uncaught exceptions in any thread and Python
warnings too, so every line an operator collects parses as JSON. No argument of an MT5 call
is ever logged (passwords travel in ``login``), nor the shared secret.
"""

import datetime
import json
import logging
import sys
import threading

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName",
}


class JsonFormatter(logging.Formatter):
    """A LogRecord as one line of JSON: time (UTC), level, logger, message, extra fields,
    and ``exception`` (the formatted traceback) when there is one."""

    def format(self, record):
        entry = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def _utc(created):
    moment = datetime.datetime.fromtimestamp(created, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def configure(level="INFO", fmt="json", stream=None):
    """Send every log line (and uncaught exceptions, and warnings) to ``stream`` (stdout)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_exception


def _log_uncaught(kind, value, traceback):
    logging.getLogger("terminal_server").critical(
        "uncaught %s", kind.__name__, exc_info=(kind, value, traceback))


def _log_thread_exception(args):
    if args.exc_type is SystemExit:
        return
    thread = args.thread.name if args.thread is not None else "?"
    logging.getLogger("terminal_server").error(
        "uncaught %s in thread %s", args.exc_type.__name__, thread,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
