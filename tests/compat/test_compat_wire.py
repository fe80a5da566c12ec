"""The classic-compat server's wire adaptations, without a client venv (fast), and the
documented matrix table against the tested pins."""

from __future__ import annotations

import pickle
import pickletools
from pathlib import Path

import numpy as np
import venvs
from rpyc.core import brine

from simulator.compat import FramingChannel, portable_pickle
from simulator.structs import RATES_DTYPE

DOC = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text()


class Recorder:
    def __init__(self, incoming: list[bytes]) -> None:
        self.incoming, self.sent = list(incoming), []

    def recv(self) -> bytes:
        return self.incoming.pop(0)

    def send(self, data: bytes) -> None:
        self.sent.append(data)


def globals_of(data: bytes) -> set[str]:
    names, strings = set(), []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        if op.name == "STACK_GLOBAL":
            names.add(".".join(strings[-2:]))
        if op.name == "GLOBAL":
            names.add(arg.replace(" ", "."))
    return names


def test_arrays_pickle_with_names_every_numpy_has():
    rates = np.zeros(3, RATES_DTYPE)
    rates["close"] = (1.1, 1.2, 1.3)
    for array in (rates, np.arange(5.0), np.arange(6).reshape(2, 3)):
        data = portable_pickle(array, 5)
        assert globals_of(data) <= {"numpy.ndarray", "builtins.bytearray"}, globals_of(data)
        back = pickle.loads(data)
        assert back.dtype == array.dtype and np.array_equal(back, array)
        back[...] = 0  # writable, as the package's arrays are
    assert b"numpy._core" in pickle.dumps(rates, 5)  # what numpy < 1.26 cannot load


def test_rpyc5_frames_are_recognised_and_answered_in_kind():
    v5_request = brine.dump((1, 7, (3, ("x",))))  # (MSG_REQUEST, seq, args) as rpyc 5 sends
    channel = FramingChannel(Recorder([v5_request]))
    assert channel.recv() == brine.I1.pack(1) + brine.dump((7, (3, ("x",))))
    assert channel.legacy is True
    channel.send(brine.I1.pack(2) + brine.dump((7, "answer")))
    assert channel._channel.sent == [brine.dump((2, 7, "answer"))]


def test_rpyc6_frames_pass_unchanged():
    v6 = brine.I1.pack(1) + brine.dump((7, (3, ())))
    channel = FramingChannel(Recorder([v6]))
    assert channel.recv() == v6 and channel.legacy is False
    channel.send(v6)
    assert channel._channel.sent == [v6]


def test_the_documented_matrix_is_the_tested_one():
    for combo in venvs.COMBOS:
        pins = dict(r.split("==") for r in combo.requirements + combo.no_deps)
        if "rpyc" not in pins:  # mt5linux 0.1.9 with its own pins
            pins |= {"rpyc": "5.0.1", "numpy": "1.21.4"}
        row = f"| {combo.python} | {pins['mt5linux']} | {pins['rpyc']} | {pins['numpy']} | "
        assert row + f"{pins['pandas']} |" in DOC, combo.name
