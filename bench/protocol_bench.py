"""Protocol benchmark: the restricted terminal server vs mt5linux-style remote references.

Starts ``python -m terminal_server --backend sim`` (with the classic compatibility port for the
baseline) and measures, on loopback, in one run:

* a bare RPyC round trip (``root.ping()``), p50;
* ``account_info`` as one converted dict vs the same struct read field by field through
  remote references (the stock mt5linux way), and the ratio;
* 10,000 H1 bars as one encoded array vs 1,000 bars iterated through remote references,
  and the per-bar ratio.

Figures are medians (time.perf_counter); only ratios are meant to be compared across machines.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rpyc

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "terminal"))
sys.path.insert(0, str(REPO / "bench"))

from benchlib import Figure, Figures  # noqa: E402
from server_process import start_terminal_server  # noqa: E402
from sim_control import SimControl  # noqa: E402

from gateway.terminal.codec import WireDecoder, encode_call  # noqa: E402
from gateway.terminal.rpyc_client import open_connection  # noqa: E402

H1 = 16385
WEDNESDAY_NOON_MS = 1_795_003_200_000  # 2026-11-18 12:00 UTC: markets open, clock frozen


def median_s(action: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.3f} ms"


def main() -> int:
    with start_terminal_server(classic_compat=True) as server:
        with SimControl(server.host, server.port) as control:
            control.freeze_time(ms=WEDNESDAY_NOON_MS)
        conn = open_connection(server.host, server.port, timeout_s=300)
        conn._config["sync_request_timeout"] = 300
        root = conn.root
        call, ping = root.call, root.ping
        decoder = WireDecoder(lambda name: tuple(root.struct_fields(name)))

        def restricted(function: str, *args: Any) -> Any:
            encoded, _error = call(*encode_call(function, args, {}))
            return decoder.decode(encoded)

        restricted("initialize")
        restricted("login", 10001, "demo-10001", "Sim-Demo")
        fields = list(restricted("account_info"))

        classic = rpyc.classic.connect(server.host, server.compat_port)
        classic._config["sync_request_timeout"] = 300
        classic.execute("import MetaTrader5 as mt5")
        mt5_eval = classic.eval

        def account_by_reference() -> list[Any]:
            info = mt5_eval("mt5.account_info()")
            return [getattr(info, name) for name in fields]

        def bars_by_reference(count: int) -> list[tuple[Any, ...]]:
            bars = mt5_eval(f"mt5.copy_rates_from_pos('EURUSD', {H1}, 0, {count})")
            return [tuple(bar) for bar in bars]

        assert account_by_reference() == list(restricted("account_info").values())
        restricted("copy_rates_from_pos", "EURUSD", H1, 0, 10_000)  # warm the history cache

        round_trip = median_s(ping, 500)
        account_dict = median_s(lambda: restricted("account_info"), 200)
        account_refs = median_s(account_by_reference, 20)
        bars_10k = median_s(lambda: restricted("copy_rates_from_pos", "EURUSD", H1, 0, 10_000), 20)
        bars_1k_refs = median_s(lambda: bars_by_reference(1_000), 3)
        classic.close()
        conn.close()

    per_bar_fast = bars_10k / 10_000
    per_bar_refs = bars_1k_refs / 1_000
    print("protocol benchmark (loopback, simulator backend, medians)")
    print(f"  RPyC round trip (ping)                         {ms(round_trip)}")
    print(f"  account_info as one converted dict             {ms(account_dict)}")
    print(f"  account_info read field by field ({len(fields)} refs)   {ms(account_refs)}")
    print(f"    -> converted dict is {account_refs / account_dict:6.1f}x faster")
    print(f"  10,000 H1 bars as one array                    {ms(bars_10k)}")
    print(f"  1,000 H1 bars iterated through references      {ms(bars_1k_refs)}")
    print(f"    -> per bar: {per_bar_fast * 1e6:.2f} us vs {per_bar_refs * 1e6:.1f} us, "
          f"{per_bar_refs / per_bar_fast:,.0f}x faster")  # fmt: skip
    figures = Figures("protocol")
    section = "protocol"
    figures.add(Figure(section, "RPyC round trip (ping) p50", round_trip * 1000, "ms"))
    figures.add(
        Figure(
            section,
            "account_info as one converted dict p50",
            account_dict * 1000,
            "ms",
            baseline=account_refs * 1000,
            baseline_name=f"field by field through {len(fields)} remote references (mt5linux)",
        )
    )
    figures.add(
        Figure(
            section,
            "10,000 H1 bars as one array p50, per bar",
            per_bar_fast * 1e6,
            "us",
            baseline=per_bar_refs * 1e6,
            baseline_name="1,000 bars iterated through remote references, per bar",
            note=f"10,000 bars in one call: {bars_10k * 1000:.2f} ms",
        )
    )
    figures.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
