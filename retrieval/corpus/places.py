"""Places and powers named differently in English and in French: "North Korea" is « la Corée du Nord »,
"the West" « l'Occident », "the White House" « la Maison-Blanche », "Beijing" « Pékin ».

A name of another alphabet is transcribed alike in both languages ("Pyongyang", "Vladivostok") and the
cognate rule pairs many others by their first letters ("Ukraine"; "Moscow" and "Moscou", "China" and
« Chine »: four letters alike); these are the countries, regions, cities and institutions of
international news whose two forms share fewer, and that a multilingual model pairs weakly inside a
question: "And about the West?" did not find Putin's words on « l'Occident dans son ensemble », "What
did the White House allege?" was refused. A closed list, each name read whatever its case, but for the
words that are also common ones ("West", "Turkey", "Wales"), which count only with a capital.
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
    ("saint petersburg", "Saint-Pétersbourg", False),
    ("new mexico", "Nouveau-Mexique", False),
    ("ivory coast", "Côte d'Ivoire", False),
    ("latin america", "Amérique latine", False),
    ("north america", "Amérique du Nord", False),
    ("south america", "Amérique du Sud", False),
    ("western", "occidental", True),
    ("west", "Occident", True),
    ("britain", "Grande-Bretagne", False),
    ("england", "Angleterre", False),
    ("scotland", "Écosse", False),
    ("wales", "pays de Galles", True),
    ("korea", "Corée", False),
    ("asia", "Asie", False),
    ("iceland", "Islande", False),
    ("greenland", "Groenland", False),
    ("kyrgyzstan", "Kirghizistan", False),
    ("tajikistan", "Tadjikistan", False),
    ("kuwait", "Koweït", False),
    ("sudan", "Soudan", False),
    ("ecuador", "Équateur", False),
    ("germany", "Allemagne", False),
    ("spain", "Espagne", False),
    ("japan", "Japon", False),
    ("india", "Inde", False),
    ("belarus", "Biélorussie", False),
    ("poland", "Pologne", False),
    ("greece", "Grèce", False),
    ("turkey", "Turquie", True),
    ("netherlands", "Pays-Bas", False),
    ("switzerland", "Suisse", False),
    ("sweden", "Suède", False),
    ("norway", "Norvège", False),
    ("denmark", "Danemark", False),
    ("ireland", "Irlande", False),
    ("hungary", "Hongrie", False),
    ("austria", "Autriche", False),
    ("brazil", "Brésil", False),
    ("lebanon", "Liban", False),
    ("cyprus", "Chypre", False),
    ("morocco", "Maroc", False),
    ("peru", "Pérou", False),
    ("iraq", "Irak", False),
    ("uzbekistan", "Ouzbékistan", False),
    ("romania", "Roumanie", False),
    ("lithuania", "Lituanie", False),
    ("latvia", "Lettonie", False),
    ("beijing", "Pékin", False),
    ("kyiv", "Kiev", False),
    ("brussels", "Bruxelles", False),
    ("warsaw", "Varsovie", False),
    ("cairo", "Le Caire", False),
    ("baghdad", "Bagdad", False),
    ("mecca", "La Mecque", False),
    ("algiers", "Alger", False),
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
