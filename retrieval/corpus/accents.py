"""Accents put back on a question typed without any: "quand le traite a ete signe ?" is read
"quand le traite a été signé ?"... as far as the language's own spelling allows.

Many people type French without accents (a phone, an English keyboard). Lexical search folds
accents anyway; the multilingual encoder does not, and reads "ete" as no word at all: such
questions score lower and are refused more often than the same questions spelt in full. A word
is given back its accents from a word-frequency dictionary of the language (pyspellchecker's,
MIT): only when the question holds no accented letter at all (someone who types accents typed
the ones they meant), and only when the accented spelling is much the commoner ("ete": "été";
"coree": "corée"; not "a" for "à" or "traite" for "traité", which are words as typed). "ou" is
"où" where the conjunction cannot stand ("Et ou va-t-il ?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .analysis import INVERTED_SUBJECT, LETTERS, cased_like, detect_language, fold_accents, language_code

# The articles' language (a Snowball name) -> pyspellchecker's dictionary. Only languages the
# question's language is detected in (see analysis.detect_language) and that write accents.
_DICTIONARIES = {"french": "fr"}
# An accented spelling replaces the word as typed when it is at least this many times commoner.
_COMMONER = 10
# "ou" asks where ("où") where the conjunction cannot stand: opening the question, after "et",
# "mais" or "d'", or just before its question mark ("Et ou va-t-il ?", "ou ?", "D'ou vient-il ?").
_WHERE = re.compile(r"(?:^|(?<=\bet\s)|(?<=\bmais\s)|(?<=\bd')|(?<=\bd’))ou\b|\bou(?=\s*\?)", re.IGNORECASE)
_ACCENTED = re.compile(r"[^\x00-\x7f]")


@dataclass(frozen=True)
class AccentRestorer:
    """``restore(question)`` for articles in ``language``; the dictionary loads at the first
    question typed without accents."""

    language: str = "french"
    _forms: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def bare(self, question: str) -> bool:
        """Whether ``question`` is typed without any accent in the articles' language, one that
        writes accents (see :data:`_DICTIONARIES`)."""
        return (
            self.language in _DICTIONARIES
            and not _ACCENTED.search(question)
            and detect_language(question) == language_code(self.language)
        )

    def restore(self, question: str) -> str:
        if not self.bare(question):
            return question
        forms = self._table(_DICTIONARIES[self.language])
        question = _WHERE.sub(lambda m: "Où" if m.group()[0].isupper() else "où", question)

        def respelt(m: re.Match[str]) -> str:
            word, form = m.group(), _respelt(m.group(), forms)
            # A verb put before its subject is conjugated, never a participle.
            if INVERTED_SUBJECT.match(question, m.end()) and form[-1:] in ("é", "É"):
                return word  # "surnomme-t-il", not the participle "surnommé"; but "recoit-elle": "reçoit"
            return form

        return LETTERS.sub(respelt, question)

    def _table(self, code: str) -> dict[str, str]:
        if not self._forms:
            self._forms.update(accented_forms(_frequencies(code)))
            self._forms.setdefault("", "")  # loaded, if to nothing: not loaded again
        return self._forms


def accented_forms(frequencies: dict[str, int]) -> dict[str, str]:
    """Each accentless spelling whose commonest accented form is at least ``_COMMONER`` times
    commoner than the spelling itself (0 when it is no word) -> that form."""
    best: dict[str, tuple[int, str]] = {}
    for word, count in frequencies.items():
        if not _ACCENTED.search(word) or not word.isalpha():
            continue
        plain = fold_accents(word)
        if plain.isascii() and count > best.get(plain, (0, ""))[0]:
            best[plain] = (count, word)
    return {plain: word for plain, (count, word) in best.items() if count >= _COMMONER * frequencies.get(plain, 0)}


def _respelt(word: str, forms: dict[str, str]) -> str:
    form = forms.get(word.casefold())
    return word if form is None else cased_like(word, form)


def _frequencies(code: str) -> dict[str, int]:
    """The language's word frequencies; none when pyspellchecker is not installed."""
    try:
        from spellchecker import SpellChecker
    except ImportError:
        return {}
    return dict(SpellChecker(language=code, distance=1).word_frequency.dictionary)
