"""Capitals put back on the names of a question typed all in lower case ("et lavrov ?",
"quand choigou est-il alle a pyongyang"), from the passages it finds.

Names drive much of what an answer does with a question: a follow-up that only names someone
("And Kim?") asks the previous question about them, a pronoun stands for the name before it, a
name no article holds is refused, and across languages names are what matches. Names are told
by their capitals. When a question has none (its first letter aside: a phone's), a word takes the
capitals (and accents) it has in the passages the question finds where those never write it in
lower case and write it capitalised at least once inside a sentence ("Choïgou", "Lavrov",
"Pyongyang"; not "visite", which starts a sentence only). Typed without accents, a word also
takes those the passages always write it with: "traite" is a word of French, and the common
spelling cannot say which is meant; the passages about the treaty can ("traité").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .analysis import LETTERS, cased_like, fold_accents

_OPENERS = '.!?…:;«»"“”('


def truecased(
    question: str, texts: Iterable[str], *, ignore: frozenset[str] = frozenset(), accents: bool = False
) -> str:
    """``question`` with each of its words of three letters or more (not in ``ignore``, the stop
    words) spelt as a name of ``texts`` spells it, when the question has no capital but maybe
    its first letter (a phone's). ``accents``: the question was typed without any; a word takes
    too the accents ``texts`` always write it with ("traite": "traité", where the passages found
    never write "traite")."""
    names_wanted = is_lower_case(question)
    if not (names_wanted or accents):
        return question
    typed = [w.casefold() for w in LETTERS.findall(question)]
    wanted = {fold_accents(w) for w in typed if len(w) >= 3 and w not in ignore}
    if not wanted:
        return question
    names: dict[str, Counter[str]] = {}
    lower: set[str] = set()
    accented: dict[str, Counter[str]] = {}
    plain: set[str] = set()
    for text in texts:
        for m in LETTERS.finditer(text):
            word = m.group()
            folded = word.casefold()
            key = fold_accents(folded)
            if key not in wanted:
                continue
            if key == folded:
                plain.add(key)
            else:
                accented.setdefault(key, Counter())[folded] += 1
            if word[0].islower():
                lower.add(key)
            elif not _starts_sentence(text, m.start()):
                names.setdefault(key, Counter())[word] += 1
    spelt: dict[str, str] = {}
    if accents:
        spelt.update({key: forms.most_common(1)[0][0] for key, forms in accented.items() if key not in plain})
    if names_wanted:
        spelt.update({key: forms.most_common(1)[0][0] for key, forms in names.items() if key not in lower})
    if not spelt:
        return question
    return LETTERS.sub(lambda m: _as_typed(m.group(), spelt.get(fold_accents(m.group().casefold()))), question)


def _as_typed(typed: str, form: str | None) -> str:
    """``form`` as ``typed`` has it: a name keeps its capitals; else the typed word's capitals."""
    if form is None:
        return typed
    return form if form[:1].isupper() else cased_like(typed, form)


def is_lower_case(question: str) -> bool:
    """Whether ``question`` has no capital, but maybe its first letter."""
    rest = question.lstrip()[1:]
    return rest == rest.lower()


def _starts_sentence(text: str, start: int) -> bool:
    before = text[max(0, start - 4) : start]
    kept = before.rstrip()
    return "\n" in before or not kept or kept[-1] in _OPENERS
