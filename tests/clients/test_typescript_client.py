"""The TypeScript client (built with the machine's Node.js) against a live gateway and the
simulator: typed reads and errors, one key per trade call, a lost answer retried with the same
key that executes once, and the stream resumed after its socket drops with the exact seqs."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from client_support import LiveGateway
from node_support import built, node_test, npm
from sim_control import SimControl

pytestmark = pytest.mark.needs_binary("node")


@pytest.fixture(scope="module")
def ts(gateway: LiveGateway) -> Iterator[dict[str, str]]:
    built()
    yield {
        "MT5GW_URL": gateway.url,
        "MT5GW_TOKEN": gateway.token(),
        "MT5GW_ACCOUNT": gateway.ids.hedging,
    }


def passed(run: subprocess.CompletedProcess[str], count: int) -> None:
    """node --test exited 0 having passed exactly ``count`` tests (none skipped into a pass)."""
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    totals = dict(re.findall(r"^\S* ?(pass|fail) (\d+)$", out, re.MULTILINE))
    assert totals == {"pass": str(count), "fail": "0"}, out


def test_typecheck_of_the_client_and_the_console() -> None:
    built()
    run = npm("run", "--silent", "typecheck")
    assert run.returncode == 0, run.stdout + run.stderr


def test_retry_after_as_seconds_or_http_date() -> None:
    built()
    passed(node_test("test/retry.test.mjs", env={}), 2)


def test_reads_errors_and_keys(ts: dict[str, str]) -> None:
    passed(node_test("test/client.test.mjs", env=ts, pattern="reads|errors|Idempotency"), 3)


def test_lost_answer_executes_once(ts: dict[str, str], control: SimControl) -> None:
    control.timeout_after_execute(seconds=4)  # > the gateway's 3 s terminal timeout
    passed(node_test("test/client.test.mjs", env=ts, pattern="lost answer"), 1)


def test_react_hooks_render_against_the_gateway(ts: dict[str, str], control: SimControl) -> None:
    """The hooks rendered with react-dom in jsdom (test/react.test.mjs); prices are pushed into
    the simulator while it runs, so useLiveQuotes has quotes to show."""
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(node_test, "test/react.test.mjs", env=ts)
        step = 0
        while not run.done():
            step += 1
            control.push_price(server="Sim-Demo", symbol="EURUSD", bid=1.1 + (step % 50) / 10_000)
            time.sleep(0.2)  # pacing only, nothing is asserted on it
        passed(run.result(), 1)


def test_stream_resumes_without_a_gap(ts: dict[str, str]) -> None:
    passed(node_test("test/stream.test.mjs", env=ts, pattern="no duplicate"), 1)


def test_stream_without_account_resumes_after_an_abrupt_cut(ts: dict[str, str]) -> None:
    """Subscribed without account_id (the account is learnt from the snapshot), the socket cut
    with no close frame: the resubscribe carries ``after`` and no event is missed."""
    passed(node_test("test/stream.test.mjs", env=ts, pattern="without account_id"), 1)
