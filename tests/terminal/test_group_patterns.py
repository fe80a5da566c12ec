"""Hostile group filters sent over RPyC to a real terminal server (issue 8 item 2).

``symbols_get(group)`` with hundreds of stars once froze every simulated terminal: each ``*``
became ``.*`` and the regex backtracked for about 52 s per symbol, under the world lock. The
gateway now refuses such patterns before a terminal sees them, so these tests speak to the
terminal server directly, as any RPyC client may, with patterns under the server's argument
caps. The client's call timeout is the judge (no clock assertion): a backtracking matcher
would still be running when it fires, and the call would raise ``TerminalTimeout``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from terminal_server import limits

from gateway.terminal.rpyc_client import RpycTerminal

CALL_TIMEOUT_S = 20.0  # the old matcher needed ~52 s for one symbol of the first pattern

# Each pattern with, after it, the short pattern it must select the same symbols as (a run of
# stars is one star).
HOSTILE = [
    ("*" * 200 + "X", "*X"),
    ("*" * 40 + "E" + "*" * 40 + "U" + "*" * 40 + "R" + "*" * 40, "*E*U*R*"),
    ("*A*B*C*D*E*F*G*H*I*J*K*L*M*N*O*P*Q*R*S*T*U*V*W*X*Y*Z" * 20, "*A*B*C*D*E*F*G*H*I*J*"),
    (",".join(["*" * 60 + "U*S*D" + "*" * 60] * 12) + ",!" + "*" * 100 + "JPY", "*U*S*D*,!*JPY"),
]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def logged_in(server: Any, port: int) -> RpycTerminal:
    terminal = RpycTerminal("groups", server.host, port, timeout_s=CALL_TIMEOUT_S)
    await terminal.call("initialize")
    await terminal.login(10001, "demo-10001", "Sim-Demo", 60_000)
    return terminal


def names(symbols: list[dict[str, Any]]) -> list[str]:
    return [s["name"] for s in symbols]


@pytest.fixture
def server(sim_server: Any, control: Any) -> Iterator[Any]:
    yield sim_server


def test_the_patterns_stay_under_the_servers_caps() -> None:
    # Over a cap the server would refuse the call unrun, and these tests would prove nothing.
    for hostile, _ in HOSTILE:
        assert len(hostile) <= limits.MAX_ARG_CHARS


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    ("hostile", "short"), HOSTILE, ids=["200-stars-X", "E-U-R", "A-to-Z", "USD-not-JPY"]
)
def test_a_hostile_group_answers_and_the_terminal_keeps_serving(
    server: Any, hostile: str, short: str
) -> None:
    async def scenario() -> None:
        attacker = await logged_in(server, server.ports[0])
        # The other terminal of the same world: the old matcher held the world lock.
        other = await logged_in(server, server.ports[1])
        everything = names(await other.symbols_get())
        expected = names(await other.symbols_get(short))

        assert names(await attacker.symbols_get(hostile)) == expected

        # Both terminals answer at once afterwards, the attacker's own connection included.
        await attacker.ping()
        await other.ping()
        assert names(await attacker.symbols_get("EURUSD")) == ["EURUSD"]
        assert names(await other.symbols_get()) == everything
        assert (await other.account_info())["login"] == 10001
        await attacker.close()
        await other.close()

    run(scenario())


def test_the_short_patterns_select_what_they_say(server: Any) -> None:
    # The reference answers above come from the same matcher: pin them to plain facts.
    async def scenario() -> None:
        terminal = await logged_in(server, server.ports[0])
        everything = names(await terminal.symbols_get())
        assert names(await terminal.symbols_get("*X")) == [n for n in everything if n[-1] == "X"]
        assert "SIMX" in everything and "SIMX" in names(await terminal.symbols_get("*X"))
        eur = names(await terminal.symbols_get("*E*U*R*"))
        assert "EURUSD" in eur and "USDJPY" not in eur
        assert names(await terminal.symbols_get("*A*B*C*D*E*F*G*H*I*J*")) == []
        usd = names(await terminal.symbols_get("*U*S*D*,!*JPY"))
        assert "EURUSD" in usd and "USDJPY" not in usd and "USDCHF" in usd
        await terminal.close()

    run(scenario())
