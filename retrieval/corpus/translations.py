"""Sure translations between English and French: the words of closed lists whose two forms no
cognate rule pairs, acronyms ("NATO", "OTAN": :mod:`.acronyms`) and the calendar ("June", "juin":
:mod:`.calendar`).

A question across languages is searched with them (BM25 and word coverage count the other form as
typed) and read with them: late interaction reads it with each such word in the articles' language
("What happened on 18 juin?"), as the token states of one language match its own words best.
"""

from __future__ import annotations

from .acronyms import typed_acronyms
from .calendar import named_dates
from .named import Named


def sure_words(text: str) -> list[Named]:
    """The words of ``text`` with a sure translation, in order."""
    return sorted([*typed_acronyms(text), *named_dates(text)], key=lambda n: n.start)


def sure_translations(text: str) -> dict[str, str]:
    """Each word of ``text`` with a sure translation (lower case), with its form in the other language."""
    return {n.word: n.other for n in sure_words(text)}


def in_language(text: str, language: str) -> str:
    """``text`` with each word of a sure translation written in ``language`` (a Snowball name:
    ``french``, ``english``); as it is for another language."""
    if language not in ("french", "english"):
        return text
    out, at = [], 0
    for n in sure_words(text):
        if n.english == (language == "french"):  # a word of the other language
            out += [text[at : n.start], n.written]
            at = n.end
    return "".join(out) + text[at:] if out else text
