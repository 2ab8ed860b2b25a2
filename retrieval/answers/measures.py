"""A measured attribute a question asks for, and whether a text states one, in English and French.

"How old is Kim Jong-un?", "What is the weather in Pyongyang?", "Combien d'habitants compte
Pyongyang ?" name things the articles know well and ask for what they may never state: an age, the
weather, a population, a birth, a spouse. A passage about Kim Jong-un is found, and its best sentence
would be quoted as if it answered. An answer of that type has a form a reader recognises: an age is
"âgé de", "né en", "à 40 ans"; a height or a distance is a number with a unit of length; a price a
currency; a birth "né le", "naissance", "born"; a spouse a word of marriage ("épouse", "marié à",
"wife"). When none of the passages an answer quotes from holds that form, the articles do not answer
the question (answer-type matching; what is measured here is narrow on purpose: a date or a count is in nearly
every news passage, so "when?" and "how many?" are left to the other signals).
"""

from __future__ import annotations

import re

_I = re.IGNORECASE
_NUMBER_WORDS = (
    r"un|une|a|an|one|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|quarante"
    r"|cinquante|soixante|cent|cents|mille|million|millions|milliard|milliards|two|three|four|five|seven|eight"
    r"|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|hundreds|thousand|thousands|billion|billions"
)
# A number as written ("12", "12 000", "1.5", "3,2"), bounded so that a long run of digits is read in
# linear time.
_NUMBER = rf"(?:\d{{1,4}}(?:[\s.,]\d{{3}}){{0,4}}(?:[.,]\d{{1,3}})?|(?:{_NUMBER_WORDS})\s+)"
_LENGTHS = (
    r"m|mètres?|metres?|meters?|km|kilomètres?|kilometres?|kilometers?|cm|centimètres?|centimeters?|mm"
    r"|pieds|feet|foot|ft|pouces|inches|miles?|milles|yards?|hectares?|ha|acres?|km²|m²|km2|m2"
)
_MASSES = r"kg|kilos?|kilogrammes?|kilograms?|g|grammes?|grams?|tonnes?|tons?|livres|pounds?|lbs?"

# Checked in order; each reads the question as asked, before any follow-up rewording.
MEASURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "age",
        re.compile(
            r"\bhow\s+old\b|\b(?:what|which)\s+age\b|\bquel\s+âge\b|\bl['’]âge\s+(?:de|du|des|d['’])",
            _I,
        ),
    ),
    (
        "length",
        re.compile(
            r"\bhow\s+(?:tall|high|far|wide|deep)\b|\bwhat\s+(?:is|was)\s+the\s+(?:height|length|width|depth|distance|area"
            r"|altitude)\b|\bquelle\s+(?:est|était)\s+(?:la\s+|l['’])(?:hauteur|longueur|largeur|profondeur|distance"
            r"|superficie|altitude)\b|\bquelle\s+(?:hauteur|longueur|largeur|profondeur|distance|superficie|altitude)\b"
            r"|\bcombien\s+mesure",
            _I,
        ),
    ),
    (
        "population",
        re.compile(
            r"\b(?:what|which)\s+(?:is|was)\s+(?:the\s+|its\s+|their\s+)?population\b"
            r"|\bquelle\s+(?:est|était)\s+(?:la|sa|leur)\s+population\b"
            r"|\bhow\s+many\s+(?:people|inhabitants|residents)\s+(?:live|lived|does|did)\b"
            r"|\b(?:combien|nombre)\s+d['’]habitants\b|\bhow\s+(?:populated|populous)\b",
            _I,
        ),
    ),
    (
        "weather",
        re.compile(
            r"\bweather\b|\bmétéo\b|\bquel\s+temps\s+(?:fait|fera|faisait|a-t-il\s+fait)\b|\btemp[ée]rature\b"
            r"|\bforecast\b|\bprévisions?\s+météo",
            _I,
        ),
    ),
    (
        "price",
        re.compile(
            r"\bhow\s+much\s+(?:does|do|did|is|are|was|were)\b[^?]*\b(?:cost|worth)\b|\bwhat\s+(?:is|was)\s+the\s+(?:price"
            r"|cost)\b|\bprice\s+of\b|\bcombien\s+(?:co[uû]te|co[uû]tent|co[uû]tait|vaut|valent|a\s+co[uû]té)\b"
            r"|\bquel\s+(?:est|était)\s+le\s+(?:prix|co[uû]t)\b|\ble\s+prix\s+(?:de|du|des|d['’])",
            _I,
        ),
    ),
    (
        "weight",
        re.compile(
            r"\bhow\s+heavy\b|\bhow\s+much\s+(?:does|do|did)\b[^?]*\bweigh\b|\bcombien\s+p[èe]s|\bquel\s+(?:est\s+le\s+)?poids\b",
            _I,
        ),
    ),
    ("speed", re.compile(r"\bhow\s+fast\b|\bat\s+what\s+speed\b|\bà\s+quelle\s+vitesse\b|\bquelle\s+vitesse\b", _I)),
    (
        # Someone's birth: "Where was Kim Jong Un born?", "Quand est né Poutine ?", "lieu de naissance".
        "birth",
        re.compile(
            r"\b(?:is|was|are|were)\s+(?:[\w’'-]+\s+){0,4}?born\b|\bbirth(?:place|day|date)?\b|\bnative\s+of\b"
            r"|\b(?:est|sont|était|étaient)(?:-(?:il|elle|ils|elles))?\s+née?s?\b|\bnaissance\b|\bnatal(?:e|es)?\b",
            _I,
        ),
    ),
    (
        # Someone's marriage: "Is Kim Jong Un married?", "Qui est la femme de Poutine ?"; not marriage
        # as a topic ("la loi sur le mariage homosexuel").
        "spouse",
        re.compile(
            r"\b(?:is|was|are|were|get|got|gets)\s+(?:[\w’'-]+\s+){0,4}?married\b|\bmarried\s+(?:to|with)\b"
            r"|\bdid\s+(?:[\w’'-]+\s+){1,4}?marry\b|\b(?:wife|wives|husband|spouse)\b"
            r"|\b(?:est|était|sont|étaient)(?:-(?:il|elle|ils|elles))?\s+mariée?s?\b|\bmariée?s?\s+(?:à|avec)\b"
            r"|\bs['’]est\s+mariée?\b|\bépou(?:se|x)\b|\b(?:le|son|leur)\s+mari\b|\b(?:la|sa|leur)\s+femme\s+(?:de|du|d['’])",
            _I,
        ),
    ),
)

# Someone's relatives: "Who is Kim Jong-un's sister?", "Comment s'appelle la sœur de Kim Jong-un ?",
# "Kim a-t-il des enfants ?", "Combien d'enfants a-t-il ?". A passage answers only if it names the
# relation, in either language ("la sœur de Kim", "sa fille", "his daughter", "cent fils" for children).
# Each relation: the French and the English words a question asks it by, which state it too, and other
# words that state it. An English "son" has an English word beside it: the French possessive is no son.
_SON = "|".join(
    f"(?<={w} )" for w in ("his", "her", "their", "its", "the", "a", "only", "eldest", "youngest", "'s", "’s")
)
_KIN: tuple[tuple[str, str, str, str], ...] = (
    ("father", r"pères?", r"fathers?", r"parents?|papa"),
    ("mother", r"mères?", r"mothers?", r"parents?|maman"),
    (
        "sibling",
        r"frères?|sœurs?|soeurs?|demi-frères?|demi-sœurs?|demi-soeurs?",
        r"brothers?|sisters?|siblings?|half-brothers?|half-sisters?",
        r"fratries?",
    ),
    (
        "child",
        r"enfants?|fils|filles?",
        rf"children|child|sons|daughters?|kids?|(?:{_SON})son|son(?=\s+of\b)",
        r"héritiers?|heirs?|descendants?|descendance",
    ),
    (
        "grandparent",
        r"grand-pères?|grand-mères?|grands-parents|aïeule?s?",
        r"grandfathers?|grandmothers?|grandparents?",
        "",
    ),
    (
        "grandchild",
        r"petits?-fils|petites?-filles?|petits-enfants",
        r"grandsons?|granddaughters?|grandchild(?:ren)?",
        "",
    ),
    ("uncle or aunt", r"oncles?|tantes?", r"uncles?|aunts?", ""),
    ("cousin", r"cousine?s?", r"cousins?", ""),
    ("nephew or niece", r"neveux?|nièces?", r"nephews?|nieces?", ""),
    (
        "in-law",
        r"beaux?-frères?|belles?-sœurs?|belles?-soeurs?|beaux?-pères?|belles?-mères?|gendres?|brus?",
        r"brothers?-in-law|sisters?-in-law|fathers?-in-law|mothers?-in-law|sons?-in-law|daughters?-in-law",
        r"in-law",
    ),
)
# The relation asked for is the unknown: "la sœur de X", "Et sa fille ?", "des enfants", "combien
# d'enfants", "X's sister", "the father of", "any children" (not "la parabole du fils prodigue").
_KIN_ASKED = (
    r"\b(?:(?:le|la|les|l['’]|sa|son|ses|leur|leurs|un|une|des)\s+(?:{fr})\s+(?:de|du|des|d['’])"
    r"|(?:un|une|des|sa|son|ses|leur|leurs|combien\s+d['’]|combien\s+de|quels?|quelles?)\s*(?:{fr})\b"
    r"|(?:['’]s|\b(?:the|a|an|any|his|her|their|its|how\s+many|which))\s+(?:{en})\b)"
)
KIN_MEASURES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(_KIN_ASKED.format(fr=fr, en=en), _I)) for name, fr, en, _ in _KIN
)

_STATED: dict[str, re.Pattern[str]] = {
    **{name: re.compile(rf"\b(?:{'|'.join(w for w in (fr, en, other) if w)})\b", _I) for name, fr, en, other in _KIN},
    # "âgé de 40 ans", "né en 1984", "à 40 ans", "(40 ans)", "40-year-old"; not "il y a 25 ans".
    "age": re.compile(
        rf"\bâgée?s?\b|\baged\b|\byears?\s+old\b|\b\d+-year-old\b|\bâge\b|\bnée?s?\s+(?:le|en|à|au)\b|\bborn\b"
        rf"|\bnaissance\b|\bbirth\w*|\bà\s+{_NUMBER}\s*ans\b|\(\s*\d+\s*ans\s*\)|,\s*\d+\s*ans\s*,"
        r"|\b(?:tren|quadra|quinqua|sexa|septua|octo|nona)génaires?\b",
        _I,
    ),
    "length": re.compile(
        rf"\b{_NUMBER}\s*(?:{_LENGTHS})\b|\b(?:hauteur|altitude|longueur|largeur|profondeur|superficie|height|length"
        r"|width|depth|tall)\b",
        _I,
    ),
    "population": re.compile(r"\b(?:habitants?|inhabitants?|populations?|populated|populous|peuplée?s?)\b", _I),
    "weather": re.compile(
        r"\bmétéo\w*|\bweather\b|\btemp[ée]ratures?\b|\bdegrés?\s+(?:celsius|fahrenheit)?|\bdegrees?\b|°"
        r"|\b(?:pluies?|pluvieu\w*|pluviométrie|rain\w*|neiges?|snow\w*|grêle|hail|ensoleill\w*|sunny|nuageu\w*|cloudy"
        r"|orages?|storms?|tempêtes?|ouragans?|hurricanes?|typhons?|brouillard|fog|canicule|heatwave"
        r"|averses?|showers?|forecast|prévisions)\b",
        _I,
    ),
    "price": re.compile(
        r"[€$£¥₩₽]|\b(?:euros?|dollars?|roubles?|rubles?|wons?|yuans?|yens?|francs?|pounds?|cents?|centimes?|usd|eur"
        r"|prix|price|prices|co[uû]te?s?|co[uû]tent|co[uû]té|cost|costs|tarifs?)\b",
        _I,
    ),
    "weight": re.compile(rf"\b{_NUMBER}\s*(?:{_MASSES})\b|\b(?:poids|pèse|pèsent|pesait|weighs?|weighed|weight)\b", _I),
    "speed": re.compile(
        rf"\b{_NUMBER}\s*(?:km/h|km\s*/\s*h|kilomètres\s+à\s+l['’]heure|mph|nœuds|noeuds|knots?|m/s)\b"
        r"|\b(?:vitesse|speed|mach)\b",
        _I,
    ),
    # "né le 8 janvier 1984 à Pyongyang", "sa naissance", "born in", "originaire de", "voit le jour",
    # "(1571-1610)", "fondée en 1919".
    "birth": re.compile(
        r"\bnée?s?\b|\bnaissance\b|\bnatal(?:e|es)?\b|\bnatifs?\b|\bnatives?\b|\boriginaires?\b|\bborn\b|\bbirth\w*"
        r"|\b(?:voit|vit|voient|virent|a\s+vu)\s+le\s+jour\b"
        # A life's span, "Le Caravage (1571-1610)"; a body's birth is its founding.
        r"|\(\s*\d{3,4}\s*[-–]\s*\d{3,4}\s*\)|\bcréations?\b|\bcréée?s?\b|\bfondée?s?\b|\bfondations?\b"
        r"|\bfounded\b|\bfounding\b|\bestablished\b",
        _I,
    ),
    "spouse": re.compile(
        r"\bmari(?:é|ée|és|ées|age|ages|er|èrent)?\b|\bépou(?:x|se|ses|sé|sée|sés|sées|ser|sa|sèrent)\b"
        r"|\b(?:la|sa|leur)\s+femme\b|\bwi(?:fe|ves)\b|\bhusbands?\b|\bspouses?\b|\bmarr(?:y|ies|ied|iage|iages)\b"
        r"|\bveu(?:f|ve|ves)\b|\bwidow\w*|\bdivorc\w*|\bnoces?\b|\bweddings?\b|\bcompagne\b",
        _I,
    ),
}


def asked_measure(question: str) -> str | None:
    """The measured attribute ``question`` asks for ("age", "length", "population", "weather",
    "price", "weight", "speed", "birth", "spouse", a relative: "sibling", "child"…), or None."""
    for measure, pattern in (*MEASURES, *KIN_MEASURES):
        if pattern.search(question):
            return measure
    return None


def states_measure(text: str, measure: str) -> bool:
    """Whether ``text`` states something of the form a ``measure`` is given in."""
    return bool(_STATED[measure].search(text))
