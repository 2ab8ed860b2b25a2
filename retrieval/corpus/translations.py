"""Sure translations between English and French: the words of closed lists whose two forms no
cognate rule pairs, acronyms ("NATO", "OTAN": :mod:`.acronyms`), the calendar ("June", "juin":
:mod:`.calendar`) and places and powers ("North Korea", "Corée du Nord"; "the West", "Occident":
:mod:`.places`).

A question across languages is searched with acronyms and the calendar (BM25 and word coverage count
the other form as typed; the encoders read it with them in the articles' language: "What happened on
18 juin?"). Late interaction (the answer's token match, its re-ranking and lead) reads it with all
three, places too ("What did the Maison-Blanche allege?"), as the token states of one language match
its own words best.
"""

from __future__ import annotations

from .acronyms import typed_acronyms
from .calendar import named_dates
from .named import Named
from .places import named_places


def sure_words(text: str, *, places: bool = False) -> list[Named]:
    """The words of ``text`` with a sure translation, in order; with ``places``, the places and powers
    too (see :func:`in_language`)."""
    listed = [*(named_places(text) if places else ()), *typed_acronyms(text), *named_dates(text)]
    found = sorted(listed, key=lambda n: (n.start, -n.end))
    out: list[Named] = []
    for n in found:  # the first and longest of overlapping names ("Security Council", not "UN Security")
        if not out or n.start >= out[-1].end:
            out.append(n)
    return out


def sure_translations(text: str) -> dict[str, str]:
    """Each word of ``text`` with a sure translation (lower case), with its form in the other language:
    acronyms and the calendar."""
    return {n.word: n.other for n in sure_words(text)}


def in_language(text: str, language: str, *, places: bool = False) -> str:
    """``text`` with each word of a sure translation written in ``language`` (a Snowball name:
    ``french``, ``english``), places and powers too with ``places``; as it is for another language."""
    if language not in ("french", "english"):
        return text
    out, at = [], 0
    for n in sure_words(text, places=places):
        if n.english == (language == "french"):  # a word of the other language
            out += [text[at : n.start], n.written]
            at = n.end
    return "".join(out) + text[at:] if out else text
