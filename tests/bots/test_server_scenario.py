"""The terminal server as bot developers run it (issue 14): ``--scenario FILE`` and
``--login/--password/--server``, seen through the classic-compat port as mt5linux sees it."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import rpyc

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "terminal"))

from server_process import run_terminal_server_cli, start_terminal_server  # noqa: E402
from sim_control import SimControl  # noqa: E402

START = "2026-11-25T12:00:00Z"
SERVER_START_MS = int(datetime(2026, 11, 25, 14, tzinfo=UTC).timestamp() * 1000)  # UTC+2


def classic(server):
    conn = rpyc.classic.connect(server.host, server.compat_port)
    conn.execute("import MetaTrader5 as mt5")
    return conn


def write_scenario(folder: Path) -> Path:
    with (folder / "gbpusd.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["time_msc", "bid", "ask"])
        for i in range(50):
            bid = round(1.3300 + i * 0.0001, 5)
            out.writerow([SERVER_START_MS - 60_000 + i * 1000, f"{bid:.5f}", f"{bid + 0.0001:.5f}"])
    scenario = {
        "start": START,
        "login": {"login": 10003, "password": "demo-10003", "server": "Sim-Demo"},
        "prices": {"GBPUSD": {"ticks_csv": "gbpusd.csv"}},
        "faults": [{"at": "2026-11-25T12:05:00Z", "fault": "requote"}],
    }
    path = folder / "incident.json"
    path.write_text(json.dumps(scenario))
    return path


def test_the_server_loads_a_scenario(tmp_path):
    path = write_scenario(tmp_path)
    with start_terminal_server(classic_compat=True, extra_args=["--scenario", str(path)]) as server:
        assert "scenario: " + str(path) in server.output()
        conn = classic(server)
        assert conn.eval("mt5.initialize()") and conn.eval("mt5.account_info().login") == 10003
        tick = conn.eval("mt5.symbol_info_tick('GBPUSD')")
        assert (tick.bid, tick.time_msc) == (1.3349, SERVER_START_MS - 11_000)  # recorded
        request = "{'action': 1, 'symbol': 'GBPUSD', 'volume': 0.1, 'type': 0, 'price': 1.335}"
        assert conn.eval(f"mt5.order_send({request}).retcode") == 10009
        with SimControl(server.host, server.port) as control:
            control.advance_time(ms=5 * 60_000)
        assert conn.eval(f"mt5.order_send({request}).retcode") == 10004  # scheduled requote
        assert conn.eval(f"mt5.order_send({request}).price") == 1.335  # the last recorded ask
        conn.close()


def test_the_server_starts_logged_in(tmp_path):
    flags = ["--login", "10002", "--password", "demo-10002", "--server", "Sim-Demo"]
    with start_terminal_server(classic_compat=True, extra_args=flags) as server:
        assert "demo-10002" not in server.output()  # no password in the log
        conn = classic(server)
        assert conn.eval("mt5.initialize()") is True
        assert conn.eval("(mt5.account_info().login, mt5.account_info().currency)") == (
            10002, "EUR")  # fmt: skip
        conn.close()


def test_refused_logins_scenarios_and_combinations(tmp_path):
    bad = run_terminal_server_cli(["--backend", "sim", "--port", "2", "--login", "10001",
                                   "--password", "wrong"])  # fmt: skip
    assert bad.returncode == 2 and "login 10001 refused" in bad.stdout + bad.stderr
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"bogus": 1}))
    bad = run_terminal_server_cli(["--backend", "sim", "--port", "2", "--scenario", str(broken)])
    assert bad.returncode == 2 and "unknown scenario keys" in bad.stdout + bad.stderr
    for flags in (["--backend", "real", "--scenario", str(broken)],
                  ["--backend", "real", "--login", "1", "--password", "x"]):  # fmt: skip
        done = run_terminal_server_cli([*flags, "--port", "2"])
        assert done.returncode == 2 and "only for --backend sim" in done.stderr
    done = run_terminal_server_cli(["--backend", "sim", "--login", "1", "--port", "2"])
    assert done.returncode == 2 and "go together" in done.stderr
