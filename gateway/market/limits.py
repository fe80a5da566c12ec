"""How much terminal work one market-data request may ask for, and the checks at the edge.

One request must never tie up a terminal for long or make it build a huge answer: a terminal
serves one call at a time for everybody on its broker server. So:

    MAX_BARS         10,000   bars of one /market-data/{symbol} request (one terminal call)
    BARS_PER_CALL    10,000   bars one copy_rates_range call may span (/range is fetched in spans)
    MAX_RANGE_BARS   100,000  bars one /market-data/{symbol}/range may span (<= 10 calls)
    MAX_TICKS        100,000  ticks of one /ticks request, and of any one terminal call for it
    MAX_GROUP_CHARS  256      characters of a /symbols?group= filter
    MAX_GROUP_PARTS  32       comma-separated parts of that filter
    MAX_GROUP_STARS  32       '*' wildcards in that filter

The terminal server has caps of its own (``terminal_server/limits.py``); these are below them, so
a well-formed request never meets those. Asking for more answers 422 naming the limit.
"""

from __future__ import annotations

from gateway.errors import ValidationFailed

MAX_BARS = 10_000
BARS_PER_CALL = 10_000
MAX_RANGE_BARS = 100_000
MAX_TICKS = 100_000
MAX_GROUP_CHARS = 256
MAX_GROUP_PARTS = 32
MAX_GROUP_STARS = 32


def check_group(group: str | None) -> None:
    """422 for an MT5 group filter over the limits above."""
    if group is None:
        return
    if len(group) > MAX_GROUP_CHARS:
        raise ValidationFailed(f"group: at most {MAX_GROUP_CHARS} characters")
    if group.count(",") + 1 > MAX_GROUP_PARTS:
        raise ValidationFailed(f"group: at most {MAX_GROUP_PARTS} comma-separated parts")
    if group.count("*") > MAX_GROUP_STARS:
        raise ValidationFailed(f"group: at most {MAX_GROUP_STARS} '*' wildcards")


def check_range_bars(bars: int, timeframe: str) -> None:
    """422 for a bar range that spans more than MAX_RANGE_BARS bars."""
    if bars > MAX_RANGE_BARS:
        raise ValidationFailed(
            f"range too large: it spans about {bars} {timeframe} bars, at most {MAX_RANGE_BARS}"
            " per request; ask for a shorter range or a longer timeframe"
        )
