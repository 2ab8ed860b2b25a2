"""A word of a closed list typed in a text, with its form in the other language (see
:mod:`.translations`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Named:
    start: int  # where the typed word starts and ends in the text
    end: int
    word: str  # as listed, lower case ("nato", "june")
    other: str  # its form in the other language, lower case ("otan", "juin")
    written: str  # that form as the other language writes it ("OTAN", "juin", "June")
    english: bool  # whether ``word`` is the English one of the pair


def both_ways(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], frozenset[str]]:
    """Each word of (English, French) ``pairs`` with its other form, and the English words."""
    pairs = list(pairs)
    return {a: b for pair in pairs for a, b in (pair, pair[::-1])}, frozenset(english for english, _ in pairs)
