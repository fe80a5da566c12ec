"""pytest plugin of metatrader5-sim (registered through the ``pytest11`` entry point).

The ``mt5sim`` fixture resets the simulated world before each test that asks for it and
returns :class:`mt5sim.Sim`. A scenario comes from the ``mt5sim_scenario`` marker, else from
the ``mt5sim_scenario`` ini option (a path relative to the rootdir); without one it is the demo
world, clock frozen at ``mt5sim.DEFAULT_START``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mt5sim import Sim, sim


def pytest_addoption(parser: Any) -> None:
    parser.addini("mt5sim_scenario", "scenario file the mt5sim fixture loads by default")


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers", "mt5sim_scenario(path): the scenario file the mt5sim fixture loads"
    )


@pytest.fixture
def mt5sim(request: Any) -> Iterator[Sim]:
    """A freshly reset simulated terminal behind ``import MetaTrader5``."""
    marker = request.node.get_closest_marker("mt5sim_scenario")
    scenario: Any = None
    if marker is not None:
        scenario = Path(marker.args[0])
        if not scenario.is_absolute():
            scenario = Path(request.node.fspath).parent / scenario
    elif request.config.getini("mt5sim_scenario"):
        scenario = Path(request.config.rootpath) / request.config.getini("mt5sim_scenario")
    controls = sim()
    controls.reset(scenario)
    yield controls
    controls.hang_calls(0)
