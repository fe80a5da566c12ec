"""Both clients know every error ``code`` the gateway can answer (collected from the gateway
itself by gateway_codes.py: its error classes, its retcode table and its source): the Python
client raises a class registered for that code (under the class of the right HTTP status), and
the TypeScript client's ErrorCode union has it."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest
from gateway_codes import gateway_codes
from mt5gw_client import errors
from node_support import TS, built, require

CODES = gateway_codes()
STATUS_CLASS = {
    400: errors.BadRequest,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    409: errors.Conflict,
    422: errors.Unprocessable,
    429: errors.TooManyRequests,
    500: errors.ServerError,
    502: errors.BadGateway,
    503: errors.Unavailable,
    504: errors.GatewayTimeout,
}


def test_the_collector_finds_codes_of_every_source() -> None:
    """The three sources each gave what they hold (so an empty scan cannot pass)."""
    assert CODES["REQUOTE"] == 409  # retcode table
    assert CODES["OUTCOME_UNKNOWN"] == 504  # the gateway's own rule around a send
    assert CODES["MT5_REJECTED"] == 502  # the fallback of an unknown retcode
    assert CODES["SYMBOL_NOT_FOUND"] == 404  # a GatewayError subclass
    assert CODES["MT5_AUTH_FAILED"] == 400  # code= given to AccountError
    assert CODES["TERMINAL_API_TRADING_DISABLED"] == 403  # code= with status=
    assert CODES["FORWARDED"] == 503  # a JSONResponse body
    assert CODES["METHOD_NOT_ALLOWED"] == 405  # a status -> code table
    assert len(CODES) > 80


@pytest.mark.parametrize("code", sorted(CODES))
def test_python_client_has_a_class_per_code(code: str) -> None:
    status = CODES[code] or 400
    response = httpx.Response(status, json={"detail": "x", "code": code})
    raised = errors.error_from_response(response)
    assert type(raised).code == code, f"mt5gw_client.errors has no class for {code}"
    if CODES[code] is not None:
        assert isinstance(raised, STATUS_CLASS[status]), (code, type(raised).__mro__)


def test_typescript_client_union_has_every_code() -> None:
    built()
    script = (
        'import("./dist/errors.js").then((m) => '
        "console.log(JSON.stringify([...m.TRADE_CODES, ...m.GATEWAY_CODES])))"
    )
    run = subprocess.run(
        [require("node"), "-e", script], cwd=TS, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    known = set(json.loads(run.stdout))
    assert sorted(set(CODES) - known) == [], "missing from the ErrorCode union in errors.ts"
