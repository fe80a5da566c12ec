"""MT5 group patterns match in linear time (issue 8 item 2), with the same results as before."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.catalog import demo_servers
from simulator.groups import compile_group, match_group
from simulator.module import make_module
from simulator.terminal import SimulatedTerminal
from simulator.world import World

NOW_MS = int(datetime(2024, 3, 13, 12, 0, tzinfo=UTC).timestamp() * 1000)
DEMO = {"login": 10001, "password": "demo-10001", "server": "Sim-Demo"}


def _backtracking_reference(name: str, group: str) -> bool:
    """The old translation (each star becomes ``.*``): right, but exponential on many stars."""
    selected = False
    for raw in group.split(","):
        pattern = raw.strip()
        include = not pattern.startswith("!")
        pattern = pattern if include else pattern[1:].strip()
        if not pattern:
            continue
        regex = ".*".join(re.escape(part) for part in pattern.split("*"))
        if re.fullmatch(regex, name, re.IGNORECASE | re.DOTALL):
            selected = include
    return selected if group.strip() else True


@pytest.mark.timeout(60)
def test_200_stars_then_x_over_the_whole_demo_catalog():
    # With one ".*" per star, a single symbol without an X takes C(206, 6) ~ 1e11 steps:
    # this would never finish inside the timeout. Linear matching answers at once.
    names = [s.name for server in demo_servers() for s in server.symbols]
    group = "*" * 200 + "X"
    selected = [name for name in names if match_group(name, group)]
    assert selected == [name for name in names if name.upper().endswith("X")]
    assert "SIMX" in selected and "EURUSD" not in selected
    assert not [name for name in names if match_group(name, "*" * 200 + "X" + "*" * 200 + "Q")]


@pytest.mark.timeout(60)
def test_star_runs_through_symbols_get_of_a_terminal():
    world = World()
    world.clock.freeze(NOW_MS)
    mt5 = make_module(SimulatedTerminal(world))
    assert mt5.initialize(**DEMO)
    found = mt5.symbols_get("*" * 1000 + "X")
    assert [s.name for s in found] == ["SIMX"]
    assert mt5.symbols_get(group=",".join(["*" * 50 + "U*S*D"] * 30)) != ()


def test_runs_of_stars_collapse_to_one():
    (pattern,) = compile_group("*" * 200 + "X")
    assert pattern.pieces == ("", "X")
    (pattern,) = compile_group("!EUR" + "*" * 500 + "U" + "*" * 500 + "D")
    assert (pattern.include, pattern.pieces) == (False, ("EUR", "U", "D"))
    assert compile_group(" , ! ,*") == compile_group("*")


def test_piece_overlap_and_anchors():
    assert match_group("ABA", "A*A") and not match_group("A", "A*A")
    assert match_group("AA", "A*A") and match_group("AXA", "*X*")
    assert match_group("EURUSD", "*USD") and not match_group("EURUSDX", "*USD")
    assert match_group("EURUSD.m", "*.M") and not match_group("EURUSDm", "*.m")
    assert match_group("ABCABC", "*B*C") and match_group("XAUUSD", "X*U*U*D")
    assert not match_group("XAUUSD", "X*U*U*U*D")
    assert match_group("anything", "") and match_group("anything", " ")
    assert not match_group("anything", "!*")


_names = st.text(alphabet="ABU.*", max_size=8).map(lambda s: s.replace("*", ""))
_parts = st.text(alphabet="ABU.*!", max_size=7)


@settings(max_examples=400, deadline=None)
@given(name=_names, parts=st.lists(_parts, min_size=1, max_size=3))
def test_same_answers_as_the_regex_translation(name, parts):
    group = ",".join(parts)
    assert match_group(name, group) == _backtracking_reference(name, group)
