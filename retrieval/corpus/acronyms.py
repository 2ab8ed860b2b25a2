"""An organisation's acronym in English and in French: "NATO" is "OTAN", "UN" "ONU", "EU" "UE".

Spelt from each language's word order, the two acronyms of one name share no letters in place, so
no cognate rule (a word's first letters) pairs them and a multilingual model pairs them weakly: "What
did NATO say?" did not find "le secrétaire général de l'Otan" among the sentences it read. These
are the common international bodies, states and terms whose acronym differs between the two
languages; one the same in both ("UNESCO", "FBI") needs nothing. An acronym is read as one when
typed in capitals ("UN", not the French article "un") or, four letters and more, with a capital
first ("Otan", as the French press writes it).
"""

from __future__ import annotations

import re

from .named import Named, both_ways

# (English, French), each lower case.
PAIRS = (
    ("nato", "otan"),
    ("un", "onu"),
    ("eu", "ue"),
    ("unsc", "csnu"),
    ("who", "oms"),
    ("imf", "fmi"),
    ("wto", "omc"),
    ("iaea", "aiea"),
    ("icc", "cpi"),
    ("icj", "cij"),
    ("ecb", "bce"),
    ("oecd", "ocde"),
    ("opec", "opep"),
    ("asean", "anase"),
    ("unhcr", "hcr"),
    ("echr", "cedh"),
    ("dprk", "rpdc"),
    ("ussr", "urss"),
    ("uae", "eau"),
    ("ngo", "ong"),
    ("gdp", "pib"),
    ("vat", "tva"),
    ("aids", "sida"),
    ("dna", "adn"),
)
_OTHER, _ENGLISH = both_ways(PAIRS)
_TYPED = re.compile(r"\b(?:[A-Z]{2,}|[A-Z][a-z]{3,})s?\b")


def typed_acronyms(text: str) -> list[Named]:
    """Each acronym typed in ``text``, with its form in the other language, in capitals."""
    out = []
    for m in _TYPED.finditer(text):
        typed = m.group().casefold()
        for word in (typed, typed.removesuffix("s")):
            if (other := _OTHER.get(word)) is not None:
                out.append(Named(m.start(), m.end(), word, other, other.upper(), word in _ENGLISH))
                break
    return out
