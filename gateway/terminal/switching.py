"""Logging a pool terminal into an account: the pool's switch (step 3 in ``pool.py``).

The password is asked for (``credentials()``) only now, used for one ``login`` and dropped:
never stored, never logged. After the login, ``terminal_info()`` tells whether algo trading
survived the switch; if not, the log says so and the terminal's ``trade_allowed`` is False.
A failed login makes the pool forget the terminal's account and reaches the request as the
``MT5Error`` the terminal gave.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable

from gateway.terminal.errors import MT5Error
from gateway.terminal.pool_errors import PoolError
from gateway.terminal.port import TerminalPort
from gateway.terminal.scheduler import AccountKey, Scheduler, Slot

log = logging.getLogger("gateway.terminal.pool")

Credentials = Callable[[], Awaitable[str] | str]
"""Returns the account's password; called only when a terminal must log in to that account."""

NO_IPC = -10004  # last_error() of a terminal whose initialize() has not run yet


class Switcher:
    """Switches terminals between accounts and keeps a running estimate of what a switch costs
    (``cost_s``, starting from the configured guess), for the pool's ``Retry-After``."""

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        timeout_ms: int,
        cost_s: float,
        on_switched: Callable[[Slot], None] | None = None,
        before_login: Callable[[Slot, AccountKey], Awaitable[None]] | None = None,
    ) -> None:
        self._scheduler = scheduler
        self.timeout_ms = timeout_ms
        self.cost_s = cost_s
        self._on_switched = on_switched
        self._before_login = before_login

    async def switch(
        self, slot: Slot, account: AccountKey, credentials: Credentials | None
    ) -> None:
        """Log ``slot`` into ``account``: ``before_login`` is awaited first and, whatever the
        outcome, ``on_switched(slot)`` is told."""
        try:
            await self._switch(slot, account, credentials)
        finally:
            if self._on_switched is not None:
                self._on_switched(slot)

    async def _switch(
        self, slot: Slot, account: AccountKey, credentials: Credentials | None
    ) -> None:
        if credentials is None:  # unreachable by construction; keeps the types honest
            raise PoolError(f"no credentials to log in {account}")
        slot.switches += 1
        if self._before_login is not None:
            await self._before_login(slot, account)
        started = time.monotonic()
        try:
            secret = credentials()
            password = await secret if inspect.isawaitable(secret) else secret
            await self._login(slot.terminal, account, password)
            del password, secret
            info = await slot.terminal.terminal_info()
        except MT5Error as exc:
            slot.last_error = f"login to {account} failed: ({exc.code}, {exc.mt5_message})"
            log.warning("terminal %s: %s", slot.name, slot.last_error)
            self._scheduler.forget(slot)
            raise
        except BaseException:
            self._scheduler.forget(slot)  # the terminal's account is unknown now
            raise
        self.cost_s = ewma(self.cost_s, time.monotonic() - started)
        slot.last_error = None
        slot.trade_allowed = bool(info.get("trade_allowed"))
        if not slot.trade_allowed:
            log.warning(
                "terminal %s: algo trading is OFF after switching to %s; orders will be refused"
                " (retcode 10027) until it is switched back on in the terminal",
                slot.name,
                account,
            )

    async def _login(self, terminal: TerminalPort, account: AccountKey, password: str) -> None:
        """``login``; a terminal without its IPC link (fresh or restarted) is initialized first."""
        try:
            await terminal.login(account.login, password, account.server, self.timeout_ms)
        except MT5Error as exc:
            if exc.code != NO_IPC:
                raise
            await terminal.call("initialize")
            await terminal.login(account.login, password, account.server, self.timeout_ms)


def ewma(old: float, sample: float, weight: float = 0.3) -> float:
    return old + weight * (sample - old)
