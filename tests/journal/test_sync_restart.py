"""A journal sync cut short by the gateway's death: the gateway process is killed with SIGKILL
in the middle of a sync (its terminal calls slowed down; it is killed once the simulator has
answered its first history call and before the next one can answer), after an earlier sync
completed; a new process on the same store (SQLite and PostgreSQL) syncs again and the journal
has every trade exactly once."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import Any

import httpx
from conftest import ProcessStack, token_of
from gateway_process import GatewayProcess
from test_sync import journal, script_hedging, sync
from trading_support import Api, ok

HANG_S = 3.0  # each terminal call of the doomed sync waits this long (< the terminal timeout)
BOUND_S = 60.0  # safety bound of the waits


def _kill(gw: GatewayProcess) -> None:
    os.killpg(gw.process.pid, signal.SIGKILL)
    gw.process.wait()
    gw.stop()  # closes its log


def _wait_for_call(stack: ProcessStack, function: str) -> None:
    deadline = time.monotonic() + BOUND_S
    while not any(entry[1] == function for entry in stack.control.callers()):
        assert time.monotonic() < deadline, "the sync never reached the terminal"
        time.sleep(0.02)


def _sync_in_background(url: str, headers: httpx.Headers, account: str) -> threading.Thread:
    def run() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the gateway dies under it
            httpx.post(f"{url}/api/v1/accounts/{account}/sync", headers=headers, timeout=BOUND_S)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_sync_killed_midway_resumes_without_loss_or_duplicate(
    process_stack: ProcessStack, jwks: Any
) -> None:
    stack = process_stack
    stack.fresh_world()
    hedging = stack.ids.hedging
    token = token_of(jwks, "trader-1")
    first_gw = stack.gateway().wait_ready()
    try:
        with Api(first_gw.url, token, hedging) as api:
            closing = script_hedging(api, stack.control, set())
            assert sync(api, hedging)["synced"] == 6  # the sync before the kill: kept
            stack.control.advance_time(ms=60_000)  # the next trades a minute later
            more = script_hedging(api, stack.control, closing)
            stack.control.record_callers(enabled=True)
            stack.control.hang_calls(seconds=HANG_S)
            doomed = _sync_in_background(first_gw.url, api.http.headers, hedging)
            _wait_for_call(stack, "history_deals_get")  # the deals since the cursor: read
            _kill(first_gw)  # while it looks up their positions (another HANG_S)
            doomed.join(BOUND_S)
    finally:
        stack.control.hang_calls(seconds=0)
        stack.control.record_callers(enabled=False)
        first_gw.stop()

    with stack.gateway() as gw, Api(gw.url, token, hedging) as api:
        # the killed sync wrote nothing (its rows and cursor go in one transaction at its end)
        assert {r["close_deal"] for r in journal(api, hedging)} == closing
        done = sync(api, hedging)
        assert (done["synced"], done["errors"]) == (6, [])
        rows = journal(api, hedging)
        assert len(rows) == 12 and {r["close_deal"] for r in rows} == closing | more
        again = sync(api, hedging)
        assert again["synced"] == 0 and len(journal(api, hedging)) == 12
        status = ok(api.http.get(f"/accounts/{hedging}/sync"))
        assert status["last_error"] is None and status["cursor"] == done["cursor"]
