"""MT5 group filters: ``"*"``, ``"EUR*,!*JPY"``, ``"*,!*USD*,!*EUR*"``.

A group is a comma-separated list of patterns applied left to right. ``*`` matches any run of
characters (anywhere in the pattern); every other character is literal and compared without
regard to case, as symbol names are. A pattern starting with ``!`` excludes what it matches.
A name is selected when the last pattern that matches it is an inclusion. An empty group
selects everything (the same as no filter).
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def _compile(group: str) -> tuple[tuple[bool, re.Pattern[str]], ...]:
    rules = []
    for raw in group.split(","):
        pattern = raw.strip()
        exclude = pattern.startswith("!")
        if exclude:
            pattern = pattern[1:].strip()
        if not pattern:
            continue
        regex = ".*".join(re.escape(part) for part in pattern.split("*"))
        rules.append((not exclude, re.compile(regex, re.IGNORECASE | re.DOTALL)))
    return tuple(rules)


def match_group(name: str, group: str) -> bool:
    """True when ``name`` is selected by the MT5 group expression ``group``."""
    rules = _compile(group)
    if not group.strip():
        return True
    selected = False
    for include, regex in rules:
        if regex.fullmatch(name):
            selected = include
    return selected
