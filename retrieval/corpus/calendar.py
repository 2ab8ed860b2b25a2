"""The months and days of the week in English and in French: "June" is "juin", "Tuesday" "mardi".

A question across languages names a date as its asker writes it ("What happened on 18 June?") and the
articles as theirs (« le 18 juin »). Neither a word's first letters (the cognate rule: "June" and
"juin" share two) nor the multilingual model pairs them surely: read token by token, "18 June" matched
the French passages less than the rest of the question (0.72 against 0.77 with "juin"), and the
question was refused. A closed list, each word read whatever its case, but for the English words that
are also common ones ("may", "march"), which count only with a capital and after the first word.
"""

from __future__ import annotations

import re

from .named import Named, both_ways

# (English, French), each lower case.
MONTHS = (
    ("january", "janvier"),
    ("february", "février"),
    ("march", "mars"),
    ("april", "avril"),
    ("may", "mai"),
    ("june", "juin"),
    ("july", "juillet"),
    ("august", "août"),
    ("september", "septembre"),
    ("october", "octobre"),
    ("november", "novembre"),
    ("december", "décembre"),
)
DAYS = (
    ("monday", "lundi"),
    ("tuesday", "mardi"),
    ("wednesday", "mercredi"),
    ("thursday", "jeudi"),
    ("friday", "vendredi"),
    ("saturday", "samedi"),
    ("sunday", "dimanche"),
)
PAIRS = MONTHS + DAYS
_OTHER, _ENGLISH = both_ways(PAIRS)
_COMMON = frozenset({"may", "march"})  # English words first: a month only as "May", "March" mid-question
_WORD = re.compile(r"\w+")


def named_dates(text: str) -> list[Named]:
    """Each month or day of the week named in ``text``, with its form in the other language (French
    ones in lower case, English ones with a capital)."""
    out = []
    for i, m in enumerate(_WORD.finditer(text)):
        typed = m.group()
        word = typed.casefold()
        other = _OTHER.get(word)
        if other is None or (word in _COMMON and (i == 0 or not typed[0].isupper())):
            continue
        english = word in _ENGLISH
        out.append(Named(m.start(), m.end(), word, other, other if english else other.capitalize(), english))
    return out
