"""The simulated module exports exactly the constants of MetaTrader5 5.0.6231."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator import constants, flags
from simulator.module import AUTHOR, VERSION, constant_names, make_module
from simulator.structs import STRUCT_TYPES
from simulator.terminal import API_FUNCTIONS, HELPERS, SimulatedTerminal
from simulator.world import World

REFERENCE = json.loads(
    (Path(__file__).with_name("mt5_constants_5.0.6231.json")).read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def mt5():
    return make_module(SimulatedTerminal(World()))


def test_reference_is_the_full_package_list():
    assert len(REFERENCE) == 223
    assert REFERENCE["RES_E_INTERNAL_FAIL_CONNECT"] == -10004
    assert REFERENCE["ORDER_FILLING_BOC"] == 3


def test_module_exports_every_constant_with_its_value(mt5):
    exported = {name: getattr(mt5, name) for name in dir(mt5) if name.isupper()}
    assert exported == REFERENCE
    assert all(type(value) is int for value in exported.values())


def test_constants_module_has_nothing_extra():
    assert sorted(constant_names()) == sorted(REFERENCE)


def test_symbol_bitmasks_live_in_flags_not_in_the_module(mt5):
    assert (flags.SYMBOL_FILLING_FOK, flags.SYMBOL_FILLING_IOC, flags.SYMBOL_FILLING_BOC) == (
        1,
        2,
        4,
    )
    assert flags.SYMBOL_EXPIRATION_SPECIFIED_DAY == 8
    assert flags.SYMBOL_ORDER_CLOSEBY == 64
    for name in (
        "SYMBOL_FILLING_FOK",
        "SYMBOL_FILLING_IOC",
        "SYMBOL_EXPIRATION_GTC",
        "SYMBOL_ORDER_MARKET",
        "TRADE_RETCODE_HEDGE_PROHIBITED",
    ):
        assert not hasattr(mt5, name)
        assert not hasattr(constants, name)
    # The classic trap: the bitmask is not the ORDER_FILLING_* enum value.
    assert flags.SYMBOL_FILLING_FOK != mt5.ORDER_FILLING_FOK
    assert flags.SYMBOL_FILLING_IOC != mt5.ORDER_FILLING_IOC


def test_module_metadata_functions_and_types(mt5):
    assert mt5.__name__ == "MetaTrader5"
    assert (mt5.__version__, mt5.__author__) == (VERSION, AUTHOR) == ("5.0.6231", "MetaQuotes Ltd.")
    for name in (*API_FUNCTIONS, *HELPERS):
        assert callable(getattr(mt5, name)), name
    assert len(API_FUNCTIONS) == 32
    for name, struct_type in STRUCT_TYPES.items():
        assert getattr(mt5, name) is struct_type
