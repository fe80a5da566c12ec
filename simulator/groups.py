"""MT5 group filters: ``"*"``, ``"EUR*,!*JPY"``, ``"*,!*USD*,!*EUR*"``.

A group is a comma-separated list of patterns applied left to right. ``*`` matches any run of
characters (anywhere in the pattern); every other character is literal and compared without
regard to case, as symbol names are. A pattern starting with ``!`` excludes what it matches.
A name is selected when the last pattern that matches it is an inclusion. An empty group
selects everything (the same as no filter).

Matching takes time linear in the length of the name plus the pattern, whatever the pattern:
a pattern is cut at its stars into literal pieces (a run of stars leaves no piece, so it
collapses to one star). The first piece must start the name and the last must end it; each
middle piece is taken at its leftmost place after the previous one. Taking the leftmost place
is always right for ``*``-only patterns, so nothing is ever retried (no backtracking regex).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Pattern:
    """One comma-separated part of a group: literal pieces between stars, upper-cased."""

    include: bool
    pieces: tuple[str, ...]  # the text between stars; "" at an end means no star there

    @property
    def exact(self) -> bool:
        """True when the pattern has no star at all (it must equal the name)."""
        return len(self.pieces) == 1

    def matches(self, name: str) -> bool:
        """Whether the upper-cased ``name`` matches, in one left-to-right pass."""
        first, last = self.pieces[0], self.pieces[-1]
        if self.exact:
            return name == first
        if len(name) < len(first) + len(last):
            return False
        if not name.startswith(first) or not name.endswith(last):
            return False
        position, end = len(first), len(name) - len(last)
        for piece in self.pieces[1:-1]:
            found = name.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True


def _pattern(text: str) -> Pattern | None:
    text = text.strip()
    include = not text.startswith("!")
    if not include:
        text = text[1:].strip()
    if not text:
        return None
    parts = text.upper().split("*")
    # Empty middle pieces come from runs of stars: they constrain nothing, so drop them.
    middle = tuple(piece for piece in parts[1:-1] if piece)
    pieces = (parts[0],) if len(parts) == 1 else (parts[0], *middle, parts[-1])
    return Pattern(include, pieces)


@lru_cache(maxsize=256)
def compile_group(group: str) -> tuple[Pattern, ...]:
    """The patterns of ``group`` in order (empty parts dropped)."""
    patterns = (_pattern(part) for part in group.split(","))
    return tuple(p for p in patterns if p is not None)


def match_group(name: str, group: str) -> bool:
    """True when ``name`` is selected by the MT5 group expression ``group``."""
    if not group.strip():
        return True
    upper = name.upper()
    selected = False
    for pattern in compile_group(group):
        if pattern.matches(upper):
            selected = pattern.include
    return selected
