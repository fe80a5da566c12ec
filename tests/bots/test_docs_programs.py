"""The docs-example programs (examples/docs_programs.py) in-process against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime

import docs_programs

from simulator.module import make_module
from simulator.terminal import SimulatedTerminal
from simulator.world import World

# Wednesday 2026-11-25 12:00 UTC: every demo market is open.
NOW_MS = int(datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp() * 1000)


def started_module():
    world = World()
    world.clock.freeze(NOW_MS)
    terminal = SimulatedTerminal(world)
    account = docs_programs.ACCOUNT
    terminal.start_logged_in(account["login"], account["password"], account["server"])
    return make_module(terminal)


def test_every_docs_program_passes_in_process():
    report = docs_programs.run_all(started_module())
    assert report == dict.fromkeys(report, "ok")
    assert len(report) == len(docs_programs.PROGRAMS)


def test_the_programs_can_fail():
    """A terminal without a saved account fails the bare-initialize program: the harness
    reports a failure and goes on (the login program then logs in)."""
    world = World()
    world.clock.freeze(NOW_MS)
    report = docs_programs.run_all(make_module(SimulatedTerminal(world)))
    assert report["initialize_and_version"].startswith("AttributeError")
    assert report["login"] == "ok" and report["history"] == "ok"
