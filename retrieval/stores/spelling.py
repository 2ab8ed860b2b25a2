"""Close spellings of a term among a collection's terms: a name typed a letter off ("Strutthof" for
"Struthof", "Guesaldo" for "Gesualdo") is one the articles know."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.8  # difflib's similarity ratio: one letter in five may differ


class Spellings:
    """A collection's terms by first letter, for :meth:`close`."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._by_initial: dict[str, list[str]] = {}
        for term in terms:
            if term:
                self._by_initial.setdefault(term[0], []).append(term)

    def close(self, term: str) -> bool:
        """Whether a term spelt like ``term`` is among them: the same first letter, at most two
        letters longer or shorter, and a similarity ratio of at least :data:`CUTOFF`. Terms shorter
        than four letters must match exactly."""
        if len(term) < 4:
            return False
        same = [t for t in self._by_initial.get(term[0], ()) if abs(len(t) - len(term)) <= 2]
        return bool(difflib.get_close_matches(term, same, n=1, cutoff=CUTOFF))
