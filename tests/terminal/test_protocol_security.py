"""What the terminal server refuses: other functions, classic access, unauthenticated clients,
non-loopback binds without --allow-remote."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import rpyc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from server_process import run_terminal_server_cli, start_terminal_server

from gateway.config import Settings
from gateway.lifespan import open_terminals
from gateway.terminal.errors import TerminalUnreachable
from gateway.terminal.rpyc_client import (
    AuthenticationFailed,
    RpycTerminal,
    TlsConfig,
    open_connection,
)

SECRET = "s3cret-for-tests-0123456789"


# -- restricted service ------------------------------------------------------------------------


def test_functions_outside_the_allow_list_are_refused(sim_server: Any) -> None:
    conn = open_connection(sim_server.host, sim_server.port)
    call = conn.root.call
    for name in ("eval", "__import__", "last_error.__globals__", "_core", "Buy", "TradeRequest"):
        result, error = call(name, (), ())
        assert result[:2] == ("E", "Refused"), name
        assert error == (0, "not called")
    conn.close()


def test_arguments_must_travel_by_value(sim_server: Any) -> None:
    conn = open_connection(sim_server.host, sim_server.port)
    # A list would travel as a reference back into this process: the server refuses it.
    result, _ = conn.root.call("symbol_info", (["EURUSD"],), ())
    assert result[:2] == ("E", "ArgumentError")
    result, _ = conn.root.call("symbol_info", ("EURUSD",), [("a", 1)])
    assert result[:2] == ("E", "ArgumentError")
    conn.close()


def test_no_classic_access(sim_server: Any) -> None:
    conn = open_connection(sim_server.host, sim_server.port)
    root = conn.root
    for name in ("eval", "execute", "modules", "namespace", "getmodule", "exposed_getmodule"):
        with pytest.raises(AttributeError):
            getattr(root, name)
    reachable = []
    for name in ("_conn", "__dict__", "on_connect", "exposed_call.__func__", "_rpyc_getattr"):
        try:
            getattr(root, name)
            reachable.append(name)
        except AttributeError:
            pass
    assert reachable == []
    with pytest.raises(AttributeError):
        _ = root.call.__globals__
    with pytest.raises(AttributeError):
        _ = root.call.__self__
    assert not hasattr(conn, "eval") and not hasattr(conn, "modules")
    conn.close()


def test_a_classic_client_gets_nothing(sim_server: Any) -> None:
    # A classic client fetches the peer's getmodule/eval/execute on connect: all refused.
    with pytest.raises(AttributeError, match="cannot access 'getmodule'"):
        rpyc.connect(sim_server.host, sim_server.port, service=rpyc.ClassicService)


# -- shared secret -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secret_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    secret_file = tmp_path_factory.mktemp("secret") / "secret"
    secret_file.write_text(SECRET + "\n")
    with start_terminal_server(extra_args=["--auth-secret-file", str(secret_file)]) as server:
        yield server


def test_shared_secret_accepts_the_right_secret(secret_server: Any) -> None:
    assert "auth: shared secret" in secret_server.output()
    assert SECRET not in secret_server.output()

    async def scenario() -> None:
        t = RpycTerminal("t1", secret_server.host, secret_server.port, secret=SECRET)
        await t.ping()
        assert await t.call("initialize") is True
        assert (await t.call("version"))[0] == 500
        await t.close()

    asyncio.run(scenario())


def test_shared_secret_refuses_a_wrong_or_missing_secret(secret_server: Any) -> None:
    async def scenario() -> None:
        wrong = RpycTerminal("t1", secret_server.host, secret_server.port, secret="nope" * 5)
        with pytest.raises(AuthenticationFailed, match="refused the shared secret"):
            await wrong.ping()
        missing = RpycTerminal("t1", secret_server.host, secret_server.port, connect_timeout_s=2)
        with pytest.raises(TerminalUnreachable):
            await missing.ping()
        await wrong.close()
        await missing.close()

    asyncio.run(scenario())
    assert "failed the shared-secret check" in secret_server.output()


# -- mutual TLS --------------------------------------------------------------------------------


class Pki:
    """A throwaway CA with server and client certificates, written as PEM files."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.name = name
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
        now = dt.datetime.now(dt.UTC)
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(self.ca_name)
            .issuer_name(self.ca_name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_file = self._write(f"{name}-ca.pem", self.ca_cert.public_bytes(PEM))

    def issue(self, common_name: str, *, server: bool) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
        )
        if server:
            names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.ca_key, hashes.SHA256())
        key_pem = key.private_bytes(
            PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return (
            self._write(f"{self.name}-{common_name}.pem", cert.public_bytes(PEM)),
            self._write(f"{self.name}-{common_name}.key", key_pem),
        )

    def _write(self, filename: str, data: bytes) -> str:
        path = self.folder / filename
        path.write_bytes(data)
        return str(path)


PEM = serialization.Encoding.PEM


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("pki")
    good, rogue = Pki(folder, "good"), Pki(folder, "rogue")
    return {
        "ca": good.ca_file,
        "server": good.issue("terminal", server=True),
        "client": good.issue("gateway", server=False),
        "rogue_client": rogue.issue("intruder", server=False),
        "rogue_ca": rogue.ca_file,
    }


@pytest.fixture(scope="module")
def tls_server(pki: dict[str, Any]) -> Any:
    cert, key = pki["server"]
    args = ["--tls-cert", cert, "--tls-key", key, "--tls-ca", pki["ca"]]
    with start_terminal_server(extra_args=args) as server:
        yield server


def test_mutual_tls_accepts_a_client_certificate_from_the_ca(
    tls_server: Any, pki: dict[str, Any]
) -> None:
    assert "auth: mutual TLS" in tls_server.output()
    cert, key = pki["client"]

    async def scenario() -> None:
        tls = TlsConfig(ca_file=pki["ca"], cert_file=cert, key_file=key)
        t = RpycTerminal("t1", "127.0.0.1", tls_server.port, tls=tls)
        await t.call("initialize")
        await t.login(10001, "demo-10001", "Sim-Demo", 60_000)
        assert (await t.account_info())["login"] == 10001
        await t.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("who", ["no certificate", "certificate from another CA", "plain TCP"])
def test_mutual_tls_refuses_other_clients(tls_server: Any, pki: dict[str, Any], who: str) -> None:
    tls: TlsConfig | None
    if who == "no certificate":
        tls = TlsConfig(ca_file=pki["ca"])
    elif who == "certificate from another CA":
        cert, key = pki["rogue_client"]
        tls = TlsConfig(ca_file=pki["ca"], cert_file=cert, key_file=key)
    else:
        tls = None

    async def scenario() -> None:
        t = RpycTerminal("t1", "127.0.0.1", tls_server.port, tls=tls, connect_timeout_s=2)
        with pytest.raises(TerminalUnreachable):
            await t.ping()
        assert t.state == "disconnected"
        await t.close()

    asyncio.run(scenario())


def test_client_refuses_a_server_not_signed_by_its_ca(tls_server: Any, pki: dict[str, Any]) -> None:
    cert, key = pki["client"]

    async def scenario() -> None:
        tls = TlsConfig(ca_file=pki["rogue_ca"], cert_file=cert, key_file=key)
        t = RpycTerminal("t1", "127.0.0.1", tls_server.port, tls=tls)
        with pytest.raises(AuthenticationFailed, match="certificate rejected"):
            await t.ping()
        await t.close()

    asyncio.run(scenario())


# -- binding -----------------------------------------------------------------------------------


def test_non_loopback_bind_needs_allow_remote() -> None:
    result = run_terminal_server_cli(["--backend", "sim", "--host", "0.0.0.0", "--port", "1"])
    assert result.returncode == 2
    assert "not a loopback address" in result.stderr and "--allow-remote" in result.stderr


def test_sim_only_options_are_refused_for_the_real_backend() -> None:
    result = run_terminal_server_cli(["--backend", "real", "--terminals", "2"])
    assert result.returncode == 2 and "only for --backend sim" in result.stderr


def test_allow_remote_binds_every_interface() -> None:
    with start_terminal_server(host="0.0.0.0", extra_args=["--allow-remote"]) as server:
        assert "non-loopback address 0.0.0.0" in server.output()

        async def scenario() -> None:
            t = RpycTerminal("t1", "127.0.0.1", server.port)
            await t.ping()
            await t.close()

        asyncio.run(scenario())


def test_gateway_settings_wire_mutual_tls(tls_server: Any, pki: dict[str, Any]) -> None:
    """TERMINAL_TLS_* reach the gateway's terminal clients (the server requires a certificate)."""
    cert, key = pki["client"]
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        terminals=f"t1=127.0.0.1:{tls_server.port}",
        terminal_tls_ca_file=pki["ca"],
        terminal_tls_cert_file=cert,
        terminal_tls_key_file=key,
    )

    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            (terminal,) = await open_terminals(settings, stack)
            stack.push_async_callback(terminal.close)
            await terminal.call("initialize")
            assert (await terminal.call("version"))[0] == 500

    asyncio.run(scenario())
