"""The simulated world's clock: true UTC that either follows real time or stands still.

Everything time-dependent in the simulator (which ticks are visible, the forming bar, order
expirations) reads one ``SimClock``. It starts running in step with the machine's clock; tests
freeze it and move it explicitly (``set``/``advance``) so results never depend on wall time.
While running, elapsed time is measured with a monotonic clock, so jumps of the system clock do
not disturb the simulation.
"""

from __future__ import annotations

import threading
import time


class SimClock:
    """True UTC epoch milliseconds, running in real time unless frozen. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._base_ms = time.time_ns() // 1_000_000
        self._base_mono_ns: int | None = time.monotonic_ns()  # None while frozen

    def _current(self) -> int:
        if self._base_mono_ns is None:
            return self._base_ms
        return self._base_ms + (time.monotonic_ns() - self._base_mono_ns) // 1_000_000

    def now_ms(self) -> int:
        """True UTC epoch milliseconds."""
        with self._lock:
            return self._current()

    @property
    def frozen(self) -> bool:
        with self._lock:
            return self._base_mono_ns is None

    def freeze(self, at_ms: int | None = None) -> None:
        """Stop the clock at the current value, or at ``at_ms`` when given."""
        with self._lock:
            self._base_ms = self._current() if at_ms is None else int(at_ms)
            self._base_mono_ns = None

    def unfreeze(self) -> None:
        """Resume real-time flow from the current value (no effect when running)."""
        with self._lock:
            if self._base_mono_ns is None:
                self._base_mono_ns = time.monotonic_ns()

    def set(self, at_ms: int) -> None:
        """Jump to ``at_ms`` (forwards or backwards), keeping the frozen/running state."""
        with self._lock:
            self._base_ms = int(at_ms)
            if self._base_mono_ns is not None:
                self._base_mono_ns = time.monotonic_ns()

    def advance(self, ms: int) -> None:
        """Move forward by ``ms`` milliseconds (``ms >= 0``)."""
        if ms < 0:
            raise ValueError("SimClock.advance needs ms >= 0")
        with self._lock:
            self._base_ms += int(ms)
