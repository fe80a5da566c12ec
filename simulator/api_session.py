"""Connection and account functions: initialize, login, shutdown, version, last_error,
account_info and terminal_info.

Choices where the real terminal's behaviour is not documented:

* ARGS+KW functions ignore keywords they do not know (the package reads them one by one).
* The terminal remembers its last account (and the passwords it logged in with), as a real
  terminal does: ``initialize()`` without ``login`` on a terminal without a session logs into
  it. A terminal can be started logged in (:meth:`SessionFunctions.start_logged_in`).
* A fresh terminal that never logged in has no account: ``initialize()`` without ``login``
  works, but account and market functions fail with ``(-1, 'Terminal: Call failed')`` until a
  login succeeds.
* ``initialize(path)`` finds this terminal at ``exe_path`` or at the default install path
  ``C:\\Program Files\\MetaTrader 5\\terminal64.exe``; any other path answers False with
  ``(-10003, 'IPC initialize failed, MetaTrader 5 x64 not found')``.
* A failed ``login()`` keeps the previously logged-in account.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from typing import Any

from simulator.api_core import KEYWORDS, NOARGS, TerminalCore, api
from simulator.arguments import (
    LOGIN_ORDER,
    CallError,
    check_credential,
    check_noargs,
    credentials,
    invalid,
    text_arg,
)
from simulator.broker import Broker
from simulator.structs import TerminalInfo
from simulator.terminal_state import Session

TERMINAL_NAME = "MetaTrader 5 Simulator"
TERMINAL_VERSION = 500
BUILD = 5370
RELEASE_DATE = "17 Oct 2025"
INSTALL_ROOT = "C:\\Program Files"
DEFAULT_EXE = "C:\\Program Files\\MetaTrader 5\\terminal64.exe"
NOT_FOUND = "IPC initialize failed, MetaTrader 5 x64 not found"


class SessionFunctions(TerminalCore):
    """The terminal's IPC channel and its one logged-in account."""

    name: str

    def _login(self, login: int, password: str | None, server: str | None, timeout: int) -> None:
        """Authenticate and switch the account; sleeps the world's login delay unlocked."""
        delay = self._world.login_delay_s
        if delay * 1000 > timeout:
            time.sleep(timeout / 1000)
            raise CallError(-10005)
        if delay > 0:
            time.sleep(delay)
        state = self._state
        with self._world.lock:
            if not state.faults.broker_connected:
                raise CallError(-6)
            broker = self._find_broker(login, server)
            if broker is None:
                raise CallError(-6)
            key = (broker.server.name, login)
            secret = password if password is not None else state.passwords.get(key)
            role = broker.authenticate(login, secret) if secret is not None else None
            if role is None:
                raise CallError(-6)
            self._remember(broker.server.name, login, secret, role == "investor")  # type: ignore[arg-type]

    def _find_broker(self, login: int, server: str | None) -> Broker | None:
        if server is not None:
            broker = self._world.brokers.get(server)
            return broker if broker is not None and broker.has_account(login) else None
        session = self._state.session
        if session is not None:
            current = self._world.brokers.get(session.server)
            if current is not None and current.has_account(login):
                return current
        return self._world.broker_for_login(login)

    @property
    def exe_path(self) -> str:
        """Where this terminal's terminal64.exe is, for ``initialize(path)``."""
        return f"{INSTALL_ROOT}\\{TERMINAL_NAME}\\{self.name}\\terminal64.exe"

    def _finds_terminal(self, path: str) -> bool:
        """Whether ``initialize(path)`` names this terminal's program (or the usual default
        install path, which most scripts hard-code); case and slash direction do not matter."""
        wanted = path.replace("/", "\\").rstrip("\\").casefold()
        return wanted in (self.exe_path.casefold(), DEFAULT_EXE.casefold())

    def start_logged_in(self, login: int, password: str, server: str | None = None) -> None:
        """Start the terminal logged in, as a terminal launched with ``/login`` or with a saved
        account does: the account becomes the session and the terminal's last account, which
        a bare ``initialize()`` uses. ValueError when the credentials are refused."""
        with self._world.lock:
            broker = self._find_broker(int(login), server)
            role = broker.authenticate(int(login), password) if broker is not None else None
            if broker is None or role is None:
                raise ValueError(f"login {login} refused on {server or 'any server'}")
            self._remember(broker.server.name, int(login), password, role == "investor")

    def _remember(self, server: str, login: int, password: str, investor: bool) -> None:
        state = self._state
        state.passwords[(server, login)] = password
        state.session = Session(server, login, investor)
        state.last_account = (server, login)
        state.books.clear()

    @api(KEYWORDS, False, ipc=False, locked=False)
    def initialize(self, *args: Any, **kwargs: Any) -> bool:
        if len(args) > 1:
            raise invalid("Invalid number of arguments")
        if args and not isinstance(args[0], str):
            raise invalid("Invalid 1st unnamed argument")
        path = args[0] if args else kwargs.get("path")
        if path is not None:
            text_arg(path, "path", 260)
        found = credentials(kwargs)
        if path is not None and not self._finds_terminal(path):
            self._state.ipc = False
            raise CallError(-10003, NOT_FOUND)
        self._state.ipc = True
        if "login" in found:
            try:
                self._login(**found)
            except CallError:
                self._state.ipc = False
                raise
        elif self._state.session is None and self._state.last_account is not None:
            self._resume_last_account(found["timeout"])
        return True

    def _resume_last_account(self, timeout: int) -> None:
        """A bare initialize() on a terminal without a session: the terminal logs into its
        last account with the saved password. If that fails the terminal runs unauthorized."""
        server, login = self._state.last_account  # type: ignore[misc]
        with contextlib.suppress(CallError):
            self._login(login, None, server, timeout)

    @api(KEYWORDS, False, locked=False)
    def login(self, *args: Any, **kwargs: Any) -> bool:
        if len(args) > 3:
            raise invalid("Invalid number of arguments")
        positional: dict[str, Any] = {}
        for ordinal, key, value in zip(("1st", "2nd", "3rd"), LOGIN_ORDER, args, strict=False):
            try:
                positional[key] = check_credential(key, value)
            except CallError:
                raise invalid(f"Invalid {ordinal} unnamed argument") from None
        found = credentials(kwargs, positional)
        if "login" not in found:
            raise invalid('Invalid "login" argument')
        self._login(**found)
        return True

    @api(NOARGS, ipc=False)
    def shutdown(self) -> None:
        self._state.ipc = False
        self._state.books.clear()

    @api(NOARGS)
    def version(self) -> tuple[int, int, str]:
        return (TERMINAL_VERSION, BUILD, RELEASE_DATE)

    def last_error(self, *args: Any, **kwargs: Any) -> tuple[int, str]:
        """The stored (code, message) of the last call; it does not reset anything."""
        check_noargs("last_error", args, kwargs)
        return self._state.error

    last_error.api_convention = NOARGS  # type: ignore[attr-defined]

    @api(NOARGS)
    def account_info(self) -> Any:
        session = self._require_session()
        return self._broker().account_info(session.login, session.investor)

    @api(NOARGS)
    def terminal_info(self) -> TerminalInfo:
        session = self._state.session
        broker = self._world.brokers.get(session.server) if session else None
        connected = self._state.faults.broker_connected and broker is not None
        digest = hashlib.md5(self.name.encode(), usedforsecurity=False).hexdigest().upper()
        appdata = "C:\\users\\trader\\AppData\\Roaming\\MetaQuotes\\Terminal"
        return TerminalInfo(
            connected=connected,
            dlls_allowed=False,
            trade_allowed=self._state.faults.algo_trading,
            tradeapi_disabled=self._state.faults.tradeapi_disabled,
            build=BUILD,
            maxbars=100000,
            codepage=0,
            ping_last=25_000 if connected else 0,
            company=broker.server.company if broker else "MetaQuotes Ltd.",
            name=TERMINAL_NAME,
            language="English",
            path=f"{INSTALL_ROOT}\\{TERMINAL_NAME}\\{self.name}",
            data_path=f"{appdata}\\{digest}",
            commondata_path=f"{appdata}\\Common",
        )
