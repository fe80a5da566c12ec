"""The result types look like the package's wherever a program can tell (issue 14, item 2).

The package's types are PyStructSequences made by a C extension: their module is
``builtins``, their MRO is (type, tuple, object), pickle cannot find them by name, and rpyc on
an mt5linux client resolves a remote instance's class through that module name.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime

import pytest
from rpyc.core.service import SlaveService
from rpyc.utils.server import ThreadedServer

from simulator.module import make_module
from simulator.structs import STRUCT_FIELDS, STRUCT_TYPES, TradeRequest
from simulator.terminal import SimulatedTerminal
from simulator.world import World

NOW_MS = int(datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize("name", sorted(STRUCT_TYPES))
def test_types_report_builtins_and_refuse_pickling(name):
    kind = STRUCT_TYPES[name]
    assert (kind.__module__, kind.__name__, kind.__qualname__) == ("builtins", name, name)
    assert kind.__mro__ == (kind, tuple, object)
    value = kind()
    assert tuple(value._asdict()) == STRUCT_FIELDS[name]
    assert not hasattr(value, "_fields") and not hasattr(value, "_replace")
    assert kind.n_fields == kind.n_sequence_fields == len(STRUCT_FIELDS[name])
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(pickle.PicklingError):
            pickle.dumps(value, protocol)
    assert repr(value).startswith(f"{name}(")


def test_nested_request_and_asdict_stay_shallow():
    request = TradeRequest(action=1, symbol="EURUSD", volume=0.1)
    result = STRUCT_TYPES["OrderSendResult"](retcode=10009, request=request)
    assert result._asdict()["request"] is request
    assert result.request.symbol == "EURUSD" and result[-1] == request


CLIENT = textwrap.dedent(
    """
    import collections.abc, json, sys
    import rpyc

    conn = rpyc.classic.connect("127.0.0.1", int(sys.argv[1]))
    mt5 = conn.modules.MetaTrader5
    assert mt5.initialize(login=10001, password="demo-10001", server="Sim-Demo")
    tick = mt5.symbol_info_tick("EURUSD")
    sent = mt5.order_send({"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0,
                           "price": tick.ask, "deviation": 10, "type_filling": 0})
    rows = list(mt5.positions_get())
    # what pandas.DataFrame(rows, columns=...) asks of every row first
    checks = [isinstance(row, collections.abc.Sequence) for row in rows]
    print(json.dumps({"retcode": sent.retcode, "rows": [list(row) for row in rows],
                      "class": str(rows[0].__class__), "checks": checks,
                      "names": list(rows[0]._asdict())}))
    """
)


def test_rows_work_on_an_rpyc_classic_client_without_the_simulator(monkeypatch, tmp_path):
    world = World()
    world.clock.freeze(NOW_MS)
    monkeypatch.setitem(sys.modules, "MetaTrader5", make_module(SimulatedTerminal(world)))
    server = ThreadedServer(SlaveService, hostname="127.0.0.1", port=0)
    thread = threading.Thread(target=server.start, daemon=True)
    thread.start()
    try:
        # A separate interpreter that never imports the simulator, like an mt5linux client.
        done = subprocess.run(
            [sys.executable, "-c", CLIENT, str(server.port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            check=False,
        )
    finally:
        server.close()
        thread.join(timeout=10)
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout)
    assert answer["retcode"] == 10009 and answer["checks"] == [False]
    assert answer["names"] == list(STRUCT_FIELDS["TradePosition"])
    assert len(answer["rows"][0]) == 19 and answer["rows"][0][-3] == "EURUSD"
