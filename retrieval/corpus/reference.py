"""Sentences that point back: what they are about is named in the sentence before them.

« Ils ont assisté à une exposition militaire » says who only through the sentence before it (« … Choïgou
a effectué un rare voyage à Pyongyang … »); so do « On y voit d'immenses banderoles », « À cette époque,
Jake Sullivan … » and "They met in 2019." A question names what such a sentence leaves to its
neighbour ("What did Shoigu see in Pyongyang?"): the words it is matched by are the two sentences'.

A sentence points back when one of its first three words is a third-person pronoun, a pronoun of place
(« y »), or a demonstrative (« ce », « cette », "these"), in French or in English; not when the pronoun
is impersonal (« il y a », « il s'agit », « il faut », "it is") or « ce » opens a relative (« ce qui »,
« en ce qui concerne »).
"""

from __future__ import annotations

import re

_BACK = frozenset(
    {
        # French: personal pronouns (subject and object), possessive « leur », « y », demonstratives
        "il", "ils", "elle", "elles", "lui", "eux", "leur", "leurs", "y",
        "cela", "ceci", "ça", "ce", "cet", "cette", "ces", "celui", "celle", "ceux", "celles",
        # English
        "he", "she", "they", "him", "them", "his", "her", "their", "it", "its", "this", "these", "those",
    }
)  # fmt: skip
# Pronouns standing for someone or somewhere (not « ce voyage », "these sanctions", which say what they
# stand for): a sentence opening with one is unclear alone (« Selon lui, … », « On y voit … »).
_UNNAMED = frozenset("il ils elle elles lui eux leur leurs y he she they him them his her their".split())
_ATTRIBUTION = re.compile(
    r"^\W*(?:selon|d['’]après|according\s+to)\s+(?:lui|elle|eux|elles|him|her|them)\s*,?", re.IGNORECASE
)
_IMPERSONAL = re.compile(
    r"(?:il (?:y a|s['’]agit|faut|existe|est (?:possible|probable|difficile|important|nécessaire|temps))"
    r"|(?:en )?ce (?:qui|que|dont)\b|it (?:is|was|has been|seems)\b)",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
_OPENING = re.compile(r"^[\W_]+")  # quotation marks, dashes, brackets before the first word


def points_back(sentence: str) -> bool:
    """Whether ``sentence`` leaves what it is about to the sentence before it (see the module)."""
    return bool(_opening_words(sentence) & _BACK)


def unclear_alone(sentence: str) -> bool:
    """Whether ``sentence`` points back with a pronoun standing for someone or somewhere (« On y voit … »,
    « Ils ont assisté … », "They met in 2019."): read alone, it does not say who or where. Not one that
    only says who told it (« Selon lui, Poutine a offert … »): what it says is clear."""
    return bool(_opening_words(_ATTRIBUTION.sub("", sentence)) & _UNNAMED)


def _opening_words(sentence: str) -> set[str]:
    text = _OPENING.sub("", sentence)
    if _IMPERSONAL.match(text):
        return set()
    return set(_WORD.findall(text[:60].lower())[:3])
