"""The terminal server against a hostile network (issue 8 items 1 and 11, issue 14 item 10):
descriptor floods, sockets that never authenticate, too many connections, a lost listener,
TCP_NODELAY, and the classic-compat port together with authentication options. Both the
restricted ports and the classic-compat port run the same server class, so each guard is
checked on both."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import rpyc
from process_sockets import find_socket, is_listener_on, is_server_end_of
from server_process import TerminalServerProcess, run_terminal_server_cli, start_terminal_server

from gateway.terminal.rpyc_client import RpycTerminal, open_connection

SAFETY_S = 30.0  # upper bounds for waits; nothing is asserted about durations
SECRET = "guard-secret-0123456789abcdef"
PORTS = ["restricted", "compat"]


def target_port(server: TerminalServerProcess, which: str) -> int:
    return server.compat_port if which == "compat" else server.port  # type: ignore[return-value]


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + SAFETY_S
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def restricted_call_works(server: TerminalServerProcess) -> None:
    """The gateway's own client connects and calls (one round trip for the MT5 call)."""

    async def scenario() -> None:
        terminal = RpycTerminal("t1", server.host, server.port)
        try:
            assert await terminal.call("initialize") is True
            assert (await terminal.call("version"))[0] == 500
        finally:
            await terminal.close()

    asyncio.run(scenario())


def classic_call_works(server: TerminalServerProcess) -> None:
    conn = rpyc.classic.connect(server.host, server.compat_port)
    try:
        conn.execute("import MetaTrader5 as mt5")
        assert conn.eval("mt5.initialize()") is True
    finally:
        conn.close()


@contextlib.contextmanager
def bare_connections(host: str, port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` TCP connections that never say anything; all closed on exit."""
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            opened.append(socket.create_connection((host, port), timeout=SAFETY_S))
        yield opened
    finally:
        for sock in opened:
            sock.close()


def closed_by_server(sock: socket.socket) -> bool:
    """Blocks (up to SAFETY_S) until the server closes ``sock``: True, or False if it did not."""
    sock.settimeout(SAFETY_S)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


# -- 8.1: descriptor flood ---------------------------------------------------------------------

FD_LIMIT = 64


@pytest.mark.parametrize("which", PORTS)
def test_a_descriptor_flood_does_not_end_the_server(which: str) -> None:
    args = ["--max-connections", "1000", "--handshake-timeout", "120"]  # let the flood pile up
    with start_terminal_server(extra_args=args, classic_compat=True, fd_limit=FD_LIMIT) as server:
        port = target_port(server, which)
        with bare_connections(server.host, port, 3 * FD_LIMIT):
            # More connections than descriptors: accept() fails with EMFILE, which made rpyc
            # close the listener for good while the process lived on.
            wait_for(
                lambda: "EMFILE" in server.output() or "listener closed" in server.output(),
                "an accept() at the descriptor limit",
            )
        restricted_call_works(server)
        classic_call_works(server)
        assert server.process.poll() is None


# -- 8.1: sockets that never authenticate ------------------------------------------------------


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("guards") / "secret"
    path.write_text(SECRET)
    return path


@pytest.mark.parametrize("which", PORTS)
def test_silent_sockets_are_closed_after_the_handshake_timeout(which: str) -> None:
    with start_terminal_server(extra_args=["--handshake-timeout", "1"], classic_compat=True) as s:
        with bare_connections(s.host, target_port(s, which), 3) as silent:
            assert all(closed_by_server(sock) for sock in silent)
        classic_call_works(s)
        restricted_call_works(s)
        assert "did not finish its handshake within 1 s" in s.output()


def test_a_client_trickling_its_secret_answer_is_cut_off(secret_file: Path) -> None:
    """Per-read timeouts do not stop a client that sends one byte at a time: the deadline
    covers the whole handshake."""
    args = ["--auth-secret-file", str(secret_file), "--handshake-timeout", "1"]
    with start_terminal_server(extra_args=args) as server:
        sock = socket.create_connection((server.host, server.port), timeout=SAFETY_S)
        with sock:
            challenge = sock.recv(40)
            assert challenge.startswith(b"MT5GWv1\n")
            sent, verdict = 0, b""
            while sent < 32:  # an HMAC answer is 32 bytes; the server must not wait for them
                readable, _, _ = select.select([sock], [], [], 0.2)
                if readable:
                    verdict = sock.recv(2)
                    break
                sock.sendall(b"x")
                sent += 1
            assert sent < 32 and verdict == b"", (sent, verdict)


# -- 8.1: connection cap -----------------------------------------------------------------------


@pytest.mark.parametrize("which", PORTS)
def test_connections_over_the_cap_are_closed_at_once(which: str) -> None:
    with start_terminal_server(extra_args=["--max-connections", "2"], classic_compat=True) as s:
        if which == "compat":
            held = [rpyc.classic.connect(s.host, s.compat_port) for _ in range(2)]
        else:
            held = [open_connection(s.host, s.port) for _ in range(2)]
        for conn in held:
            _ = conn.root  # served: both count against the cap
        with bare_connections(s.host, target_port(s, which), 1) as (extra,):
            assert closed_by_server(extra)
        held.pop().close()

        def another_is_served() -> bool:
            try:
                conn = open_connection(s.host, s.port) if which == "restricted" else None
                if conn is None:
                    conn = rpyc.classic.connect(s.host, s.compat_port)
                _ = conn.root
                held.append(conn)
                return True
            except (EOFError, OSError):
                return False

        wait_for(another_is_served, "a connection once one was freed")
        for conn in held:
            conn.close()
        assert "already 2 connections (the cap)" in s.output()


# -- 8.1: a lost listener ends the process -----------------------------------------------------


@pytest.mark.parametrize("which", PORTS)
def test_a_lost_listener_makes_the_process_exit_non_zero(which: str) -> None:
    server = start_terminal_server(classic_compat=True)
    try:
        port = target_port(server, which)
        find_socket(server.pid, is_listener_on(port), lambda s: s.shutdown(socket.SHUT_RDWR))
        try:
            status = server.process.wait(timeout=SAFETY_S)
        except Exception:
            pytest.fail(f"the server kept running without its listener:\n{server.output()}")
        assert status == 3
        assert f"port {port} lost its listener" in server.output()
    finally:
        server.stop()


# -- 14.10: TCP_NODELAY on both ports ----------------------------------------------------------


def test_both_ports_set_tcp_nodelay_on_client_sockets(sim_server: TerminalServerProcess) -> None:
    restricted = open_connection(sim_server.host, sim_server.port)
    classic = rpyc.classic.connect(sim_server.host, sim_server.compat_port)
    try:
        for conn in (restricted, classic):
            client = conn._channel.stream.sock
            nodelay = find_socket(
                sim_server.process.pid,
                is_server_end_of(client),
                lambda s: s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
            )
            assert nodelay, f"no TCP_NODELAY on the server side of {client.getsockname()}"
    finally:
        restricted.close()
        classic.close()


# -- 8.11: the classic port and authentication -------------------------------------------------


@pytest.mark.parametrize("option", ["secret", "tls"])
def test_classic_compat_refuses_to_start_with_authentication(
    option: str, secret_file: Path
) -> None:
    auth = (
        ["--auth-secret-file", str(secret_file)]
        if option == "secret"
        else ["--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-ca", "ca.pem"]
    )
    args = ["--backend", "sim", "--port", "1", "--classic-compat-port", "2", *auth]
    result = run_terminal_server_cli(args, timeout_s=SAFETY_S)
    assert result.returncode == 2
    assert "--classic-compat-port cannot be combined with --auth-secret-file" in result.stderr


def test_the_startup_log_tells_each_ports_authentication(sim_server: TerminalServerProcess) -> None:
    out = sim_server.output()
    for port in sim_server.ports:
        assert f"listening on {sim_server.host}:{port}, auth: none" in out
    compat = f"{sim_server.host}:{sim_server.compat_port}"
    truth = "auth: NONE (any client runs any code)"
    assert f"classic compat port listening on {compat}, {truth}" in out
