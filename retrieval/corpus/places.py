"""Places and powers named differently in English and in French: "North Korea" is « la Corée du Nord »,
"the West" « l'Occident », "the White House" « la Maison-Blanche », "Beijing" « Pékin ».

A name of another alphabet is transcribed alike in both languages ("Pyongyang", "Vladivostok") and a
cognate rule pairs many others ("Ukraine", "Moscow" and "Moscou"); these are the countries, regions,
cities and institutions of international news whose two forms share too little for either, and that a
multilingual model pairs weakly inside a question: "And about the West?" did not find Putin's words on
« l'Occident dans son ensemble », "What did the White House allege?" was refused. A closed list, each
name read whatever its case, but for the words that are also common ones ("West", "Turkey", "Georgia"
as a name), which count only with a capital.
"""

from __future__ import annotations

import re

from .named import Named

# (English, French as the French press writes it, whether the English needs its capital); the
# longer forms first.
PAIRS = (
    ("north korean", "nord-coréen", False),
    ("south korean", "sud-coréen", False),
    ("north korea", "Corée du Nord", False),
    ("south korea", "Corée du Sud", False),
    ("korean peninsula", "péninsule coréenne", False),
    ("united states", "États-Unis", False),
    ("united kingdom", "Royaume-Uni", False),
    ("white house", "Maison-Blanche", False),
    ("state department", "département d'État", False),
    ("security council", "Conseil de sécurité", False),
    ("middle east", "Moyen-Orient", False),
    ("far east", "Extrême-Orient", False),
    ("saudi arabia", "Arabie saoudite", False),
    ("south africa", "Afrique du Sud", False),
    ("new zealand", "Nouvelle-Zélande", False),
    ("czech republic", "République tchèque", False),
    ("st petersburg", "Saint-Pétersbourg", False),
    ("western", "occidental", True),
    ("west", "Occident", True),
    ("britain", "Grande-Bretagne", False),
    ("germany", "Allemagne", False),
    ("spain", "Espagne", False),
    ("china", "Chine", False),
    ("japan", "Japon", False),
    ("india", "Inde", False),
    ("belarus", "Biélorussie", False),
    ("poland", "Pologne", False),
    ("greece", "Grèce", False),
    ("turkey", "Turquie", True),
    ("syria", "Syrie", False),
    ("egypt", "Égypte", False),
    ("netherlands", "Pays-Bas", False),
    ("switzerland", "Suisse", False),
    ("sweden", "Suède", False),
    ("norway", "Norvège", False),
    ("finland", "Finlande", False),
    ("denmark", "Danemark", False),
    ("ireland", "Irlande", False),
    ("hungary", "Hongrie", False),
    ("austria", "Autriche", False),
    ("brazil", "Brésil", False),
    ("mexico", "Mexique", False),
    ("lebanon", "Liban", False),
    ("cyprus", "Chypre", False),
    ("algeria", "Algérie", False),
    ("morocco", "Maroc", False),
    ("libya", "Libye", False),
    ("ethiopia", "Éthiopie", False),
    ("australia", "Australie", False),
    ("argentina", "Argentine", False),
    ("chile", "Chili", True),
    ("peru", "Pérou", False),
    ("cambodia", "Cambodge", False),
    ("singapore", "Singapour", False),
    ("thailand", "Thaïlande", False),
    ("mongolia", "Mongolie", False),
    ("georgia", "Géorgie", True),
    ("iraq", "Irak", False),
    ("jordan", "Jordanie", True),
    ("uzbekistan", "Ouzbékistan", False),
    ("romania", "Roumanie", False),
    ("lithuania", "Lituanie", False),
    ("latvia", "Lettonie", False),
    ("moldova", "Moldavie", False),
    ("crimea", "Crimée", False),
    ("siberia", "Sibérie", False),
    ("beijing", "Pékin", False),
    ("london", "Londres", False),
    ("kyiv", "Kiev", False),
    ("vienna", "Vienne", False),
    ("geneva", "Genève", False),
    ("brussels", "Bruxelles", False),
    ("warsaw", "Varsovie", False),
    ("athens", "Athènes", False),
    ("lisbon", "Lisbonne", False),
    ("copenhagen", "Copenhague", False),
    ("cairo", "Le Caire", False),
    ("havana", "La Havane", False),
)
_ENGLISH = re.compile(
    r"\b(" + "|".join(r"[\s-]+".join(map(re.escape, e.split())) for e, _, _ in PAIRS) + r")s?\b", re.IGNORECASE
)
_FRENCH = re.compile(
    r"(?<![\w-])("
    + "|".join(r"[\s-]+".join(re.escape(w).replace("'", "['’]") for w in re.split(r"[\s-]+", f)) for _, f, _ in PAIRS)
    + r")(?![\w-])",
    re.IGNORECASE,
)
_SPACES = re.compile(r"[\s-]+")
_BY_ENGLISH = {e: (f, cased) for e, f, cased in PAIRS}
_BY_FRENCH = {_SPACES.sub(" ", f.casefold()): e for e, f, _ in PAIRS}


def named_places(text: str) -> list[Named]:
    """Each place or power of :data:`PAIRS` named in ``text``, with its form in the other language."""
    out = []
    for m in _ENGLISH.finditer(text):
        typed = m.group()
        english = _SPACES.sub(" ", typed.casefold())
        if english not in _BY_ENGLISH:
            english = english.removesuffix("s")  # "North Koreans"
        french, cased = _BY_ENGLISH[english]
        if cased and not typed[0].isupper():
            continue
        out.append(Named(m.start(), m.end(), english, french.casefold(), french, True))
    for m in _FRENCH.finditer(text):
        french = _SPACES.sub(" ", m.group().casefold().replace("’", "'"))
        english = _BY_FRENCH[french]
        out.append(Named(m.start(), m.end(), french, english, english.title(), False))
    return out
