"""A word of a closed list typed in a text, with its form in the other language (see
:mod:`.translations`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Named:
    start: int  # where the typed word starts and ends in the text
    end: int
    word: str  # as listed, lower case ("nato", "june")
    other: str  # its form in the other language, lower case ("otan", "juin")
    written: str  # that form as the other language writes it ("OTAN", "juin", "June")
    english: bool  # whether ``word`` is the English one of the pair
