"""The terminal server's log lines (issue 10, "Logs for operators"): one JSON object per line by
default, text on request, and health probes quiet at INFO (their connection lines are DEBUG)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from server_process import TerminalServerProcess, start_terminal_server
from test_protocol_security import Pki

from gateway.terminal.rpyc_client import RpycTerminal, open_connection

PROBES = 5
PASSWORD = "demo-10001"
CONNECTION_WORDS = ("accepted", "welcome", "goodbye", "authenticated")


def probe(server: TerminalServerProcess) -> None:
    """What a health check does: connect, one ping, disconnect."""
    conn = open_connection(server.host, server.port)
    assert conn.root.ping() is True
    conn.close()


def json_lines(text: str) -> list[dict[str, Any]]:
    entries = []
    for line in text.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)  # every line, or the test fails here
        assert isinstance(entry, dict)
        assert {"time", "level", "logger", "message"} <= set(entry), entry
        entries.append(entry)
    return entries


def after_ready(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    starts = [i for i, e in enumerate(entries) if e["message"].startswith("ready:")]
    assert len(starts) == 1
    return entries[starts[0] + 1 :]


def login(server: TerminalServerProcess) -> None:
    async def scenario() -> None:
        terminal = RpycTerminal("t1", server.host, server.port)
        await terminal.call("initialize")
        await terminal.login(10001, PASSWORD, "Sim-Demo", 60_000)
        await terminal.close()

    asyncio.run(scenario())


def test_json_by_default_and_health_probes_add_no_info_lines() -> None:
    with start_terminal_server(env={"LOG_FORMAT": None}) as server:
        for _ in range(PROBES):
            probe(server)
        login(server)
        status = server.stop()
    assert status == 0
    entries = after_ready(json_lines(server.output()))
    messages = [e["message"] for e in entries]
    assert "shutting down" in messages
    serving = entries[: messages.index("shutting down")]
    assert [e for e in serving if e["level"] != "DEBUG"] == []  # probes and a login: silent
    assert PASSWORD not in server.output()
    first = json_lines(server.output())[0]
    assert first["logger"] == "terminal_server" and first["time"].endswith("Z")


def test_connection_lines_are_debug() -> None:
    args = ["--log-level", "DEBUG", "--log-format", "json"]
    with start_terminal_server(extra_args=args) as server:
        for _ in range(PROBES):
            probe(server)
        # the server logs a goodbye once it has seen the close: wait for the last one (a
        # safety bound only), or stopping it first may cut that line off
        give_up = time.monotonic() + 30
        while server.output().count('"goodbye ') < PROBES and time.monotonic() < give_up:
            time.sleep(0.05)
        server.stop()
    entries = after_ready(json_lines(server.output()))
    for word in CONNECTION_WORDS[:3]:
        lines = [e for e in entries if e["message"].startswith(word)]
        assert len(lines) >= PROBES, word
        assert {e["level"] for e in lines} == {"DEBUG"}
        assert all(e.get("peer", "").startswith("127.0.0.1:") for e in lines)


def test_text_format_on_request() -> None:
    with start_terminal_server(extra_args=["--log-format", "text"]) as server:
        probe(server)
        server.stop()
    lines = server.output().splitlines()
    assert any(" INFO terminal_server: ready: 1 terminal(s)" in line for line in lines)
    assert not any(line.startswith("{") for line in lines)


def test_log_format_follows_the_environment() -> None:
    with start_terminal_server(env={"LOG_FORMAT": "text"}) as server:
        server.stop()
    assert " INFO terminal_server: ready:" in server.output()


@pytest.mark.parametrize("auth", ["tls", "secret"])
def test_port_probes_of_authenticated_ports_are_debug(auth: str, tmp_path: Path) -> None:
    """A TCP health check (connect, close) must not log a warning every few seconds."""
    if auth == "tls":
        pki = Pki(tmp_path, "probe")
        cert, key = pki.issue("terminal", server=True)
        args = ["--tls-cert", cert, "--tls-key", key, "--tls-ca", pki.ca_file]
    else:
        (tmp_path / "secret").write_text("probe-secret-0123456789abcdef")
        args = ["--auth-secret-file", str(tmp_path / "secret")]
    with start_terminal_server(extra_args=[*args, "--log-level", "DEBUG"]) as server:
        for _ in range(PROBES):
            socket.create_connection((server.host, server.port), timeout=10).close()

        def goodbyes() -> int:
            return sum(
                1
                for e in json_lines(server.output())
                if "before the TLS handshake" in e["message"]
                or "failed to authenticate" in e["message"]
            )

        deadline = time.monotonic() + 30
        while goodbyes() < PROBES:
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.05)
        server.stop()
    probes = after_ready(json_lines(server.output()))
    assert [e for e in probes if e["level"] == "WARNING"] == []
