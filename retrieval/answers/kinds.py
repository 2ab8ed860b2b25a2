"""What a question asks for, and what a sentence could answer, in English and French; what a
question asks for in Spanish, German, Italian and Portuguese too.

A question asks for a person (who / qui), a date (when / quand), a place (where / où), a
number (how many / combien), a duration (how long / combien de temps), a reason (why /
pourquoi), what was given in exchange (in return / en échange), someone's words or what
something is called ("what did Kim call Putin?", "Qu'a-t-il annoncé ?", "Comment appelle-t-on …"),
or something else (what / que / comment). A sentence is read for the same kinds of answer: names,
dates, places, numbers, durations, reasons, exchanges ("recevant en échange"), quotations and
reported speech ("a déclaré", « … », "surnommé"). It may also only say what
*could* happen ("pourraient signer", "could sign"), which is a weaker answer than a sentence
stating the fact.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ..corpus import calendar
from ..corpus.analysis import ENGLISH_STOP, fold_accents, french_stop_words, written_language

KINDS = ("person", "date", "place", "number", "duration", "reason", "words", "exchange", "means")

_I = re.IGNORECASE
# Verbs of going somewhere, which a question of how asks the means of.
_TRAVEL_EN = r"travel(?:l?ed)?|arrive|reach|fly|journey|(?:go|come|get)\s+(?:to|there|here|back|home|into)"
_TRAVEL_FR = (
    r"voyagée?s?|voyage|venue?s?|vient|arrivée?s?|arrive|rendue?s?|rend|allée?s?|va|parvenue?s?|déplacée?s?"
    r"|rejointe?s?|rejoint"
)
_EXCHANGE = r"\b(?:in\s+(?:exchange|return)|en\s+(?:échange|retour|contrepartie)|in\s+compensation)\b"
# Checked in order: "combien de temps" before "combien", "since when" before "when".
_QUESTION_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "duration",
        re.compile(
            r"\bhow\s+long\b(?!\s+ago)|\bfor\s+how\s+(?:many|much)\s+(?:hours|days|weeks|months|years|minutes)\b"
            r"|\bhow\s+many\s+(?:hours|days|weeks|months|years|minutes|decades)\b|\bwhat\s+(?:was\s+the\s+)?duration\b"
            r"|\bcombien\s+de\s+(?:temps|jours|heures|semaines|mois|ans|années|minutes|décennies)\b"
            r"|\bquelle\s+(?:a\s+été\s+la\s+|est\s+la\s+|était\s+la\s+)?durée\b|\bpendant\s+combien\b|\bdurée\b",
            _I,
        ),
    ),
    (
        "date",
        re.compile(
            r"\bwhen\b|\bwhat\s+(?:year|date|day|month|time)\b|\bwhich\s+(?:year|date|day|month)\b|\bhow\s+long\s+ago\b"
            r"|\bquand\b|\bquelle?\s+(?:date|année|jour|mois|époque)\b|\ben\s+quelle\s+année\b|\bà\s+quelle\s+date\b"
            r"|\bdepuis\s+quand\b|\bquel\s+jour\b",
            _I,
        ),
    ),
    (
        "number",
        re.compile(
            r"\bhow\s+(?:many|much)\b|\bwhat\s+(?:number|percentage|amount|proportion)\b"
            r"|\bcombien\b|\bquel(?:le)?\s+(?:nombre|pourcentage|montant|proportion|quantité)\b",
            _I,
        ),
    ),
    (
        "reason",
        re.compile(
            r"\bwhy\b|\bfor\s+what\s+(?:reason|purpose)\b|\bwhat\s+for\b|\bpourquoi\b"
            r"|\bpour\s+quelle\s+raison\b|\bdans\s+quel\s+but\b|\bquelle\s+(?:est|était)\s+la\s+raison\b",
            _I,
        ),
    ),
    (
        "place",
        re.compile(
            r"\bwhere\b|\b(?:which|what)\s+(?:country|countries|city|cities|place|places|towns?|regions?|capitals?)\b"
            r"|(?:^|\s)où\b|\bd['’]où\b|\bquel(?:le)?s?\s+(?:pays|villes?|lieux?|endroits?|régions?|capitales?)\b"
            r"|\bdans\s+quel(?:le)?s?\s+(?:pays|villes?|lieux?|régions?)\b",
            _I,
        ),
    ),
    (
        "person",
        re.compile(
            r"\bwho\b|\bwhom\b|\bwhose\b"
            # "Which ministers…", "Which Russian ministers…", "Quels ministres (russes)…"
            r"|\b(?:which|what)\s+(?:(?!(?:did|does|do|was|were|is|are|has|have|had|will|would|the|a|an)\b)[\w-]+\s+){0,2}?"
            r"(?:persons?|people|leaders?|ministers?|officials?|presidents?)\b"
            r"|(?<!\bce)(?:^|[\s,'’-])qui\b(?!\s+(?:a\s+été|est|était)\s+(?:le|la)\s+(?:cause|raison))|\bpar\s+qui\b"
            r"|\bquel(?:le)?s?\s+(?:personnes?|dirigeants?|ministres?|responsables?|présidents?)\b"
            # Someone's function, told by a title or a role: "What is his job?", "Quel est son rôle ?" (not
            # "the role of the treaty")
            r"|\b(?:what|which)\s+(?:is|was|are|were)\s+(?:his|her|their)\s+"
            r"(?:jobs?|roles?|positions?|posts?|titles?|functions?|occupations?|professions?)\b"
            r"|\bquel(?:le)?s?\s+(?:est|était|sont|étaient)\s+(?:son|sa|ses|leur|leurs)\s+"
            r"(?:rôles?|roles?|postes?|fonctions?|métiers?|professions?|titres?)\b",
            _I,
        ),
    ),
    # What was given or got back for something: "And in exchange?", "Qu'a-t-il reçu en retour ?".
    ("exchange", re.compile(_EXCHANGE, _I)),
    # How someone went somewhere: "How did Kim travel to Russia?", « Par quel moyen ? », « Comment est-il
    # venu ? »; not what happened there ("How did the talks go?" asks no way of travelling).
    (
        "means",
        re.compile(
            rf"\bhow\s+(?:did|does|do|will|was|is|has|had)\s+(?:[\w’'.-]+\s+){{0,4}}?(?:{_TRAVEL_EN})\b"
            r"|\bby\s+what\s+means\b|\bwhat\s+means\s+of\s+transport\b"
            r"|\bpar\s+quels?\s+moyens?\b|\bquels?\s+moyens?\s+de\s+(?:transport|locomotion)\b"
            rf"|\bcomment\b(?:[\s-][\w’'.-]+){{0,4}}?[\s-](?:{_TRAVEL_FR})\b",
            _I,
        ),
    ),
)

# The same question words in the other languages a question may be asked in (see
# analysis.OTHER_LANGUAGES), read only in a question written in that language ("dove" is Italian's
# "where", English's bird); someone's words last, as above.
_OTHER_QUESTION_KINDS: dict[str, tuple[tuple[str, str], ...]] = {
    "es": (
        (
            "duration",
            r"\bcuánto\s+(?:tiempo|dur)|\bcuánt[oa]s\s+(?:horas|días|semanas|meses|años|minutos)\b|\bduración\b",
        ),
        ("date", r"\bcuándo\b|\b(?:en\s+)?qué\s+(?:año|fecha|día|mes)\b"),
        ("number", r"\bcuánt[oa]s?\b|\bqué\s+(?:número|cantidad|porcentaje)\b"),
        ("reason", r"\bpor\s+qué\b|\bpara\s+qué\b|\bpor\s+qué\s+(?:razón|motivo)\b"),
        ("place", r"\b(?:a|de)?dónde\b|\b(?:en\s+)?qué\s+(?:país|países|ciudad|ciudades|lugar|región)\b"),
        ("person", r"\bquién(?:es)?\b|\bqué\s+(?:personas?|líderes|ministros?|dirigentes?|presidentes?)\b"),
        ("exchange", r"\ba\s+cambio\b|\ben\s+contrapartida\b"),
        ("means", r"\bcómo\s+(?:[\w-]+\s+){0,4}?(?:viajó|llegó|fue|vino|viajaron|llegaron)\b|\ben\s+qué\s+medio\b"),
        (
            "words",
            r"\bqué\s+(?:[\w-]+\s+){0,3}?(?:dijo|dice|declaró|afirmó|anunció|prometió)\b"
            r"|\bcómo\s+(?:[\w-]+\s+){0,3}?(?:llamó|describió|calificó)\b",
        ),
    ),
    "de": (
        ("duration", r"\bwie\s+lange\b|\bwie\s+viele\s+(?:stunden|tage|wochen|monate|jahre|minuten)\b|\bdauer\b"),
        ("date", r"\bwann\b|\b(?:in|an)\s+welche[mn]?\s+(?:jahr|tag|monat|datum)\b|\bwelches\s+datum\b"),
        ("number", r"\bwie\s+viele?\b|\bwie\s+hoch\b|\bwelche\s+(?:anzahl|menge)\b"),
        ("reason", r"\bwarum\b|\bwieso\b|\bweshalb\b|\baus\s+welchem\s+grund\b"),
        ("place", r"\bwo(?:hin|her)?\b|\bin\s+welche[mns]?\s+(?:land|länder|stadt|städte|ort|region)\b"),
        ("person", r"\bwer\b|\bwen\b|\bwem\b|\bwelche[rn]?\s+(?:personen|minister|politiker|beamten?)\b"),
        ("exchange", r"\bim\s+gegenzug\b|\bals\s+gegenleistung\b"),
        (
            "means",
            r"\bwie\s+(?:reiste|kam|fuhr|flog)\b"
            r"|\bwie\s+(?:ist|sind|war)\b(?:\s+\S+){0,5}?\s+(?:gereist|gekommen|gefahren|geflogen|angereist)\b"
            r"|\bmit\s+welchem\s+verkehrsmittel\b",
        ),
        (
            "words",
            r"\bwas\s+(?:sagte|sagt|erklärte|versprach)\b|\bwas\s+hat\b(?:\s+\S+){0,4}?\s+(?:gesagt|erklärt|angekündigt)\b"
            r"|\bwie\s+(?:nannte|bezeichnete|beschrieb)\b",
        ),
    ),
    "it": (
        (
            "duration",
            r"\bquanto\s+(?:tempo|(?:sono\s+|è\s+)?durat|dur)|\bquant[ie]\s+(?:ore|giorni|settimane|mesi|anni)\b"
            r"|\bdurata\b",
        ),
        ("date", r"\bquando\b|\bin\s+(?:che|quale)\s+(?:anno|giorno|mese|data)\b|\bche\s+giorno\b"),
        ("number", r"\bquant[iaeo]\b|\bquale\s+(?:numero|percentuale|quantità)\b"),
        ("reason", r"\bperch[ée]\b|\bper\s+quale\s+(?:motivo|ragione)\b|\bcome\s+mai\b"),
        ("place", r"\bdove\b|\bin\s+quale\s+(?:paese|città|luogo|regione)\b|\bquali?\s+(?:paesi|città)\b"),
        ("person", r"\bchi\b|\bquali\s+(?:persone|ministri|leader|dirigenti|presidenti)\b"),
        ("exchange", r"\bin\s+cambio\b|\bin\s+contropartita\b"),
        ("means", r"\bcome\s+(?:[\w-]+\s+){0,4}?(?:viaggiato|arrivato|venuto|andato|giunto)\b|\bcon\s+quale\s+mezzo\b"),
        (
            "words",
            r"\bcosa\s+(?:[\w-]+\s+){0,3}?(?:ha|hanno)\s+(?:detto|dichiarato|annunciato|affermato)\b"
            r"|\bcome\s+(?:ha\s+)?(?:chiamato|definito|descritto)\b",
        ),
    ),
    "pt": (
        (
            "duration",
            r"\bquanto\s+(?:tempo|dur)|\bquant[oa]s\s+(?:horas|dias|semanas|meses|anos|minutos)\b|\bduração\b",
        ),
        ("date", r"\bquando\b|\bem\s+que\s+(?:ano|data|dia|mês)\b|\bque\s+dia\b"),
        ("number", r"\bquant[oa]s?\b|\bque\s+(?:número|quantidade|percentagem|porcentagem)\b"),
        ("reason", r"\bpor\s*qu[eê]\b|\bpara\s+qu[eê]\b"),
        ("place", r"\b(?:a|de)?onde\b|\bem\s+que\s+(?:país|países|cidade|cidades|lugar|região)\b"),
        ("person", r"\bquem\b|\bquais\s+(?:pessoas|ministros|líderes|dirigentes|presidentes)\b"),
        ("exchange", r"\bem\s+troca\b|\bem\s+contrapartida\b"),
        ("means", r"\bcomo\s+(?:[\w-]+\s+){0,4}?(?:viajou|chegou|veio|foi)\b|\bde\s+que\s+meio\b"),
        (
            "words",
            r"\bo\s+que\s+(?:[\w-]+\s+){0,3}?(?:disse|diz|declarou|afirmou|anunciou|prometeu)\b"
            r"|\bcomo\s+(?:[\w-]+\s+){0,3}?(?:chamou|descreveu)\b",
        ),
    ),
}
_OTHER_KINDS = {
    code: tuple((kind, re.compile(pattern, _I)) for kind, pattern in kinds)
    for code, kinds in _OTHER_QUESTION_KINDS.items()
}

# Someone's words, or a name given to something: asked by a verb of saying or naming after
# "what did X …" / "qu'a-t-il …" / "how did X describe" / "comment … appelle-t-on". Checked last:
# "who said it?" asks for a person, "when did he announce it?" for a date.
_SAYING = (
    r"say|said|says|declare|announce|tell|told|call|called|describe|promise|warn|claim|write|reply|answer"
    r"|stress|insist|characteri[sz]e|nickname|name"
)
# A verb ends at a word boundary, so "dit" also reads "dit-on", "appelle" "appelle-t-on".
_DIRE = (
    r"dit|dire|déclaré|déclare|annoncé|annonce|affirmé|affirme|promis|répondu|répond|écrit|ajouté"
    r"|souligné|insisté|estimé|assuré|averti|qualifié|qualifie|décrite?s?|appelée?s?|appelle|appele"
    r"|surnommée?s?|surnomme|désignée?s?|désigne|nommée?s?|nomme"
)
_WORDS_QUESTION = re.compile(
    rf"\bwhat\s+(?:did|does|do|has|have|had|was|is|were)\s+(?:[\w’'.-]+\s+){{0,5}}?(?:{_SAYING})\b"
    rf"|\bhow\s+(?:did|does|do|has|have|is|was|were)\s+(?:[\w’'.-]+\s+){{0,5}}?(?:describe|call|characteri[sz]e|name|nickname)d?\b"
    rf"|\bwhat\s+(?:words|name|nickname)\b"
    rf"|\bqu['’](?:a|ont|avait|avaient|est-ce\s+qu['’](?:il|elle|ils|elles))\b(?:[\s-][\w’'.-]+){{0,4}}?[\s-](?:{_DIRE})\b"
    rf"|\bque\s+(?:[\w’'.-]+\s+){{0,3}}?(?:{_DIRE})\b"
    rf"|\bcomment\b(?:[\s-][\w’'.-]+){{0,5}}?[\s-](?:{_DIRE})\b",
    _I,
)


_LAST_QUESTION = re.compile(r"(?<=\?)\s+(?=\S)")


def question_kind(question: str) -> str | None:
    """The kind of answer ``question`` asks for (one of :data:`KINDS`), or None for what/how/which.

    The first question word decides: "Qui dirigeait l'équipe quand il l'a rejointe ?" asks for a
    person, "What did Putin say when he arrived?" for words. At the same word, the order of
    :data:`_QUESTION_KINDS` ("combien de temps" before "combien"), words last. Of several questions
    ("Qui est Matthew Miller ? Qu'a-t-il dit sur les sanctions ?", a follow-up read with the one
    before it), the last is the one asked."""
    question = _LAST_QUESTION.split(question.strip())[-1]
    other = _OTHER_KINDS.get(written_language(question) or "")
    found = [
        (m.start(), order, kind)
        for order, (kind, pattern) in enumerate(other or _QUESTION_KINDS)
        if (m := pattern.search(question))
    ]
    if other is None and (m := _WORDS_QUESTION.search(question)):
        found.append((m.start(), len(_QUESTION_KINDS), "words"))
    return min(found)[2] if found else None


# A question word joined to a question by "and" / "et": "Who signed the treaty and when?", "Where
# and when did they meet?", "Qui a signé le traité, et quand ?". It asks for a second kind of answer
# and names nothing to look for.
_JOINABLE = (
    r"by\s+whom|with\s+whom|to\s+whom|since\s+when|how\s+long|how\s+many|how\s+much|how\s+often|when|where|why"
    r"|whom|who|how|par\s+qui|avec\s+qui|à\s+qui|depuis\s+quand|combien\s+de\s+temps|combien|quand|où|pourquoi"
    r"|qui|comment"
)
_JOINED_LAST = re.compile(rf"\s*,?\s+(?:and|et|or|ou)\s+(?P<wh>{_JOINABLE})(?P<end>\s*[?!.]*)\s*$", _I)
_JOINED_FIRST = re.compile(rf"^\s*(?:{_JOINABLE})(?P<joined>\s*,?\s+(?:and|et|or|ou)\s+(?P<wh>{_JOINABLE}))\b", _I)


@dataclass(frozen=True)
class Joined:
    """A question with a question word joined to it: what it asks without that word, and the kind
    of answer the word asks for (see :func:`joined_question`)."""

    question: str
    kind: str | None


def joined_question(question: str) -> Joined:
    """``question`` without a question word joined to it ("Who signed the treaty and when?": "Who
    signed the treaty?", a date), or as it is (kind None). A word standing for a whole question
    ("And when?", "Poutine et qui ?") is no second question."""
    if m := _JOINED_LAST.search(question):
        rest = question[: m.start()] + m.group("end")
    elif m := _JOINED_FIRST.search(question):
        rest = question[: m.start("joined")] + question[m.end("joined") :]
    else:
        return Joined(question, None)
    if len(re.findall(r"\w+", rest)) < 3:
        return Joined(question, None)
    return Joined(rest, question_kind(m.group("wh") + " ?"))


def _named(pairs: tuple[tuple[str, str], ...]) -> str:
    """The words of (English, French) ``pairs`` as alternatives, French ones also as typed without accents."""
    found = [w for pair in pairs for w in pair]
    return "|".join(dict.fromkeys([*found, *(fold_accents(w) for w in found)]))


# Someone's title or role, before their name or for it: "le président russe", "spokesman John Kirby".
_ROLES = (
    r"président|présidente|ministre|conseiller|conseillère|porte-parole|dirigeant|dirigeante|leader"
    r"|secrétaire|chef|ambassadeur|general|général|president|minister|adviser|advisor"
    r"|spokesman|spokeswoman|spokesperson|secretary|ambassador"
)
_MONTHS = _named(calendar.MONTHS)
_WEEKDAYS = _named(calendar.DAYS)
_NUMBER_WORDS = (
    r"deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|quarante|cinquante"
    r"|soixante|cent|cents|mille|million|millions|milliard|milliards|dizaine|dizaines|centaine|centaines"
    r"|douzaine|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
    r"|hundred|hundreds|thousand|thousands|billion|billions|dozen|dozens"
)
_UNITS = (
    r"secondes?|minutes?|heures?|jours?|journées?|semaines?|mois|ans|années?|décennies?|siècles?"
    r"|seconds?|hours?|days?|weeks?|months?|years?|decades?|centuries|century"
)
# Verbs that report someone's words or how they named something: « a déclaré », "said", « a qualifié ».
_SAYING_VERBS = (
    r"\b(?:déclar|affirm|annonc|soulign|insist|estim|assur|ajout|indiqu|expliqu|avert|qualifi|désign"
    r"|surnomm|appel|nomm|décri)\w*|\b(?:dit|dite|dits|promis|répondu|écrit)\b"
    r"|\b(?:said|says|say|stated|told|announced|declared|called|described|named|nicknamed"
    r"|warned|claimed|wrote|insisted|stressed|added)\b"
)
_CUES = {
    "date": re.compile(
        rf"\b(?:{_MONTHS}|{_WEEKDAYS})\b|\b(?:1\d|20)\d\d\b|\b\d{{1,2}}[./]\d{{1,2}}\b"
        # A century or an era: "au XVIe siècle", "19th century", "vers -500", "av. J.-C.", "les années 1100".
        r"|\b[IVXL]+(?:e|er|ème)\s+siècle\b|\b\d{1,2}(?:e|er|ème|st|nd|rd|th)\s+(?:siècle|century)\b|\bsiècles?\b|\bcentury\b"
        r"|(?<![\w-])-\d{3,5}\b|\bav\.?\s*J\.?-?C\b|\b(?:BC|BCE)\b|\bannées\s+\d{2,4}\b"
        r"|\b(?:hier|aujourd['’]hui|demain|yesterday|today|tomorrow|la\s+veille|le\s+lendemain)\b"
        # A time told from the day it is written: "le mois dernier", "l'an dernier", "cette année",
        # "last week", "earlier this year".
        r"|\b(?:le|la|l['’])\s*(?:mois|semaine|année|an|printemps|été|automne|hiver)\s+"
        r"(?:dernier|dernière|prochain|prochaine|passé|passée|précédent|précédente|suivant|suivante)\b"
        r"|\b(?:ce|cette|cet)\s+(?:mois|semaine|année|printemps|été|automne|hiver)\b"
        r"|\b(?:last|next|this|that)\s+(?:week|month|year|spring|summer|autumn|fall|winter)\b"
        # How long ago, which says when: "il y a 25 ans", "remonte à près de 25 ans", "two years ago".
        rf"|\b(?:il\s+y\s+a|remont(?:e|ent|ait|aient)\s+à)(?:\s+(?:près|plus|moins)\s+de)?\s+"
        rf"(?:\d+|{_NUMBER_WORDS}|une?|quelques|plusieurs)\s+(?:{_UNITS})\b"
        rf"|\b(?:\d+|{_NUMBER_WORDS}|an?|one|a\s+few|several)\s+(?:{_UNITS})\s+ago\b",
        _I,
    ),
    "number": re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b|%", _I),
    "duration": re.compile(
        # Not a time anchored to something else: "quelques heures avant son arrivée", "il y a 25 ans".
        rf"(?<!il\sy\sa\s)\b(?:\d+|{_NUMBER_WORDS}|une?|one|quelques|plusieurs|several|few)\s+(?:\w+\s+)?(?:{_UNITS})\b"
        r"(?!\s+(?:avant|après|plus\s+tôt|plus\s+tard|auparavant|before|after|earlier|later|ago)\b)"
        r"|\b(?:pendant|durant|depuis|for|during|since)\b",
        _I,
    ),
    "reason": re.compile(
        r"\b(?:pour|afin\s+de|afin\s+que|parce\s+que?|car|en\s+raison|à\s+cause|grâce\s+à|puisque|après\s+que"
        # an event after which something was done, inside the sentence ("a imposé des sanctions après le
        # tir d'essai"); opening it, "Après l'arrivée de Kim, …" tells when
        r"|(?<=\w\s)(?:après\s+(?:le|la|les|un|une|des)(?=\s)|après\s+l['’]|after\s+(?:the|a|an)(?=\s))"
        # the occasion or what it answers ("une lettre … à l'occasion de l'anniversaire de la libération")
        r"|à\s+l['’]occasion\s+d(?:e|u|es|['’])|en\s+l['’]honneur\s+d(?:e|u|es|['’])|en\s+réponse\s+(?:à|aux?)"
        r"|en\s+représailles|on\s+the\s+occasion\s+of|in\s+hono(?:u)?r\s+of|in\s+response\s+to|in\s+retaliation"
        r"|because|in\s+order\s+to|due\s+to|so\s+that|owing\s+to|as\s+a\s+result)\b",
        _I,
    ),
    # What was given for something: "recevant en échange un soutien", "in return for".
    "exchange": re.compile(_EXCHANGE, _I),
    # How someone went: "à bord de son train blindé", "par train", "en avion", "by train", "aboard".
    "means": re.compile(
        r"\bà\s+bord\s+(?:de|d['’]|du|des)|\b(?:en|par(?:\s+le)?)\s+(?:train|avion|voiture|bateau|hélicoptère|car|bus"
        r"|autocar|métro|tramway|tram|RER|taxi|vélo|navire|ferry|convoi)\b"
        r"|\b(?:train|avion|convoi|cortège)\s+(?:blindé|spécial|présidentiel|privé)|\bà\s+(?:pied|cheval|vélo|moto)\b"
        r"|\bby\s+(?:train|plane|air|car|road|boat|sea|rail|bus|ship|ferry|horse|bike|bicycle|taxi)\b|\baboard\b"
        r"|\bon\s+(?:foot|horseback)\b",
        _I,
    ),
    # Someone's words or a name: a quotation, or a verb of saying or naming ("a déclaré", "qu'il
    # désignait comme", "said", "called"); not a source's attribution ("d'après les médias russes").
    "words": re.compile(
        r"«[^»]{3,}»|“[^”]{3,}”|\"[^\"]{3,}\""
        # A quotation the sentence splitter cut: opened and running to the sentence's end, or
        # closed at its end with no opening mark ("… cette visite \"montre à quel point … entier.").
        r"|«[^»]{20,}$|“[^”]{20,}$|(?:^|\s)\"[^\"]{20,}$|^[^\"«»“”]{20,}[\"»”][.!?…]?$"
        rf"|{_SAYING_VERBS}",
        _I,
    ),
    # A place: a capitalised name after a preposition of place ("à Pyongyang", "en Corée", "in Seoul").
    # Not "d'État" ("visite d'État", "chef d'État"): a capitalised common noun, no place.
    "place": re.compile(
        r"\b(?i:à|au|aux|en|dans|vers|depuis|de|d['’]|in|at|to|from|near)\s*(?:la\s+|le\s+|l['’]|les\s+|the\s+)?"
        r"(?!États?\b(?!-))[A-ZÀ-ÖØ-Þ][\w’'-]+"
    ),
    # A person: a title or a role before a name, or two capitalised words ("Jake Sullivan", "M. Kim").
    "person": re.compile(
        r"\b(?:M\.|Mme|Mr\.?|Mrs\.?|Ms\.?|Dr\.?)\s+[A-ZÀ-ÖØ-Þ]"
        r"|(?<![.!?]\s)(?<!^)\b[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ’'-]+\s+(?:[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ’'-]+|[A-ZÀ-ÖØ-Þ]{2,})\b"
        rf"|\b(?:{_ROLES}|expert|experte"
        # someone named by kin: "le père de Kim Jong Un"
        r"|père|mère|fils|fille|frère|sœur|soeur|father|mother|daughter|brother|sister)\b",
    ),
}
# A date's or a time's digits, which count nothing: "le 18 juin", "June 18", "(18.06)", "en 2017",
# "23:09". A bare four-digit number may be a count ("1500 soldats"): a year only after a month or "en".
_DATE_DIGITS = re.compile(
    rf"\b\d{{1,2}}(?:er|st|nd|rd|th)?\s+(?:{_MONTHS})\b(?:\s+\d{{4}})?"
    rf"|\b(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?|\b(?:{_MONTHS})\s+\d{{4}}\b"
    r"|\b(?:en|in|depuis|since|de|of|an|année)\s+(?:1\d|20)\d\d\b"
    # a day and month ("18.06", not a price, "12.50") or a time of day ("23:09", "21h57")
    r"|\b(?:0?[1-9]|[12]\d|3[01])[./](?:0?[1-9]|1[0-2])\b(?:[./]\d{2,4})?|\b(?:[01]?\d|2[0-3])[:h][0-5]\d\b",
    _I,
)
# Just before a time that says how long ago, not how long: "remonte à près de 25 ans", "il y a deux ans".
_AGO = re.compile(r"\b(?:il\s+y\s+a|remont(?:e|ent|ait|aient)\s+à)(?:\s+(?:près|plus|moins)\s+de)?\s*$", _I)
# Just before "après" / "after" that tells when, not why: a time between ("neuf mois après que",
# "two days after the") or "shortly" ("peu après le", "soon after the").
_TIME_BEFORE_AFTER = re.compile(
    rf"(?:\b(?:\d+|{_NUMBER_WORDS}|une?|one|a|quelques|plusieurs|several|few)\s+(?:{_UNITS})"
    r"|\b(?:peu|juste|aussitôt|sitôt|longtemps|immédiatement|peu\s+de\s+temps|shortly|soon|just|long|right|immediately))"
    r"\s*$",
    _I,
)
# What could happen, rather than what happened: a conditional or modal verb ("pourraient signer",
# "could sign"). Words about speculation ("des spéculations", "d'éventuelles transactions") are not
# it: the sentence may state a fact about them.
_MODALS = r"pourrai(?:t|ent)|devrai(?:t|ent)|pourront|devront|could|might|may|would|should"
_SPECULATION = re.compile(rf"\b(?:{_MODALS})\b", _I)


# What a speculation says could happen: the verb after the modal, past pronouns, negations and
# adverbs ("pourraient signer un traité", "devraient ensuite se rendre à Hanoï"), and what follows it.
_SPECULATED = re.compile(
    rf"\b(?:{_MODALS})\s+"
    r"(?:(?:se|s['’]|ne|n['’]|pas|y|en|l['’]|le|la|les|lui|leur|bien|également|aussi|encore|ensuite|donc|alors"
    r"|not|also|then|soon|be|have)\s*)*(\w+)((?:\W+\w+){0,5})",
    _I,
)


# A question about what comes next ("Where will he go next?", "Et où va-t-il ensuite ?"): a plan,
# which news tells in the conditional ("devraient se rendre à Hanoï"), answers it.
_AHEAD = re.compile(
    r"\b(?:will|going\s+to|next|afterwards|after\s+that|plans?|planned|expected"
    r"|ensuite|après\s+(?:cela|ça|quoi)|prochaine?s?|ira|iront|irait|va-t-(?:il|elle|on)|vont-(?:ils|elles)"
    r"|prévue?s?\s+(?:pour|de|à)|projette|futur|futurs|future|futures)\b",
    _I,
)


def asks_ahead(question: str) -> bool:
    """Whether ``question`` asks what comes next, which a sentence saying what should happen answers."""
    return _AHEAD.search(question) is not None


def speculates(text: str) -> bool:
    """Whether ``text`` only says what could be (see :class:`Cues`)."""
    return _SPECULATION.search(text) is not None


def speculation(text: str) -> tuple[str, frozenset[str]] | None:
    """What ``text`` says could happen, if it speculates: the verb's stem ("signer": "signe") and the
    content words after it, cut to six letters ("un « traité de partenariat »": "traite", "parten")."""
    m = _SPECULATED.search(text)
    if m is None:
        return None
    stop = french_stop_words() | ENGLISH_STOP
    after = frozenset(_cut(w) for w in re.findall(r"\w+", m.group(2).casefold()) if len(w) > 3 and w not in stop)
    return _stem(m.group(1).casefold()), after


def states(text: str, speculated: tuple[str, frozenset[str]]) -> bool:
    """Whether ``text`` holds what ``speculated`` (see :func:`speculation`) says could happen: the
    same verb ("signé"; "signed" for "sign") and a content word after it ("partenariat"). Whether
    it only speculates too is the caller's to check."""
    verb, after = speculated
    found = re.findall(r"\w+", text.casefold())
    return any(_stem(w).startswith(verb) for w in found) and not after.isdisjoint(_cut(w) for w in found)


def _cut(word: str) -> str:
    """A word's first six letters, accents aside (see :func:`_stem`)."""
    return _stem(word, 6)


@dataclass(frozen=True)
class Cues:
    """What kinds of answer a sentence holds, and whether it only says what could be."""

    kinds: frozenset[str]
    speculative: bool

    def holds(self, kind: str | None) -> bool:
        return kind is None or kind in self.kinds


# Someone's title or role just before their name: "M. Kim", "le président russe Vladimir Poutine",
# "son homologue nord-coréen, Kim Jong-un", "spokesman John Kirby" (the role, up to two lower-case
# words that are no stop words, then the name).
_TITLED = re.compile(
    rf"(?:\b(?:M\.|Mme|Mr\.?|Mrs\.?|Ms\.?|Dr\.?)|\b(?i:{_ROLES}|ambassadrice|homologue|roi|reine|empereur"
    r"|impératrice|pape|king|queen|emperor|pope|counterpart))"
    r"(?P<between>(?:\s+[a-zà-öø-ÿ][\w’'-]*){0,2}?)\s*,?\s+"
    r"(?P<name>[A-ZÀ-ÖØ-Þ][\w’'-]+(?:\s+[A-ZÀ-ÖØ-Þ][\w’'-]+){0,2})"
)


def people_named(texts: Sequence[str]) -> frozenset[str]:
    """The words of the names that ``texts`` give with a title or a role ("M. Poutine", "le
    dirigeant nord-coréen Kim Jong-un"): people, whatever preposition they follow elsewhere ("la
    visite de Poutine" names no place)."""
    stop = french_stop_words() | ENGLISH_STOP
    out: set[str] = set()
    for text in texts:
        for m in _TITLED.finditer(text):
            if any(w.casefold() in stop for w in m["between"].split()):
                continue  # "le président de la France": a role of a place
            out.update(w.casefold() for w in m["name"].split())
    return frozenset(out)


def sentence_cues(text: str, question: str = "", people: frozenset[str] = frozenset()) -> Cues:
    """The kinds of answer ``text`` holds that ``question`` does not already name: a sentence
    answers "when did X meet Y in 2023?" with a date other than 2023, "who met Kim?" with a name
    other than Kim's. ``people``: words of names known to be people's (see :func:`people_named`),
    which tell no place."""
    asked = {_stem(w) for w in re.findall(r"\w+", question.casefold())}
    heard = {_stem(_heard(w)) for w in re.findall(r"\w+", question.casefold())}
    dates = [m.span() for m in _DATE_DIGITS.finditer(text)]
    kinds = set()
    for kind, pattern in _CUES.items():
        for m in pattern.finditer(text):
            if kind == "number" and any(a <= m.start() < b for a, b in dates):
                continue  # "le 18 juin" counts nothing
            if kind == "duration" and _AGO.search(text, max(0, m.start() - 40), m.start()):
                continue  # "remonte à près de 25 ans": how long ago, no duration
            if kind == "place" and _named_place(m.group(), asked, heard, people):
                continue  # "à Pyongyang" answers no "where?" about Pyongyang; "la visite de Poutine" no place
            if kind == "reason" and _TIME_BEFORE_AFTER.search(text, max(0, m.start() - 40), m.start()):
                continue  # "neuf mois après que …": when, not why
            found = re.findall(r"\w+", m.group().casefold())
            own = [w for w in found if _stem(w) not in asked]
            if kind == "person" and any(_stem(_heard(w)) in heard for w in found):
                continue  # "Vladimir Poutine" is no answer to "Qui a accompagné Poutine ?", nor to "…Putin?"
            if kind in ("reason", "words", "exchange") or any(len(w) > 1 or w.isdigit() for w in own):
                kinds.add(kind)
                break
    if "duration" in kinds and not re.search(rf"\b(?:{_UNITS})\b", text, _I):
        kinds.discard("duration")  # "depuis", "pendant" without a unit of time is no duration
    return Cues(frozenset(kinds), speculates(text))


def _named_place(found: str, asked: set[str], heard: set[str], people: frozenset[str]) -> bool:
    """Whether the place ``found`` ("à Pyongyang", "de Poutine") is one the question names (as typed
    or as the other language transcribes it), or someone's name (``people``)."""
    name = re.split(r"[\s'’]", found)[-1].casefold()
    return name in people or _stem(name) in asked or _stem(_heard(name)) in heard


# A verb reporting someone's words (« a déclaré », "said"), as the words cue reads it.
_SAYING = re.compile(_SAYING_VERBS, _I)
# Who speaks, just after the verb: « a déclaré M. Ushakov », « a insisté M. Kim », "said Kirby".
_INCISE = re.compile(r"\s*,?\s*(?:(?:M\.|Mme|Mr\.?|Ms\.?)\s+)?(?P<name>(?:[A-ZÀ-ÖØ-Þ][\w’'-]+\s*){1,3})")
_CAPITALISED = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w’'-]+")
# A speaker told by a pronoun inverted before the verb, in an incise: « Poutine, a-t-il dit, … ».
_SAID_BY_PRONOUN = re.compile(r",\s*(?:a|ont|avait|avaient)-(?:t-)?(?:il|elle|ils|elles)\s+$", _I)
# The end of a quotation the verb then attributes: « … », a déclaré …; "…," said …
_AFTER_QUOTE = re.compile(r"[»\"”]\s*,?\s*(?:a|ont|avait|avaient|has|had)?\s*(?:\w+\s+)?$", _I)


def reports_others_on(text: str, names: Sequence[str]) -> bool:
    """Whether ``text`` reports someone else's words about one of ``names``: « Washington a déclaré que
    Shoigu avait profité … » for "What did Shoigu say?"; not « Choïgou a déclaré … », « … a déclaré
    M. Ushakov », nor a sentence that reports no one's words."""
    wanted = _heard_names(" ".join(w for w in names if len(w) > 2))
    m = _SAYING.search(text) if wanted else None  # most questions name no one: every candidate is read
    if m is None:
        return False
    if _SAID_BY_PRONOUN.search(text, 0, m.start()):
        # « Poutine, a-t-il dit, est de plus en plus « désespéré » »: someone else speaks of him
        return bool(wanted & _heard_names(text))
    if _AFTER_QUOTE.search(text, 0, m.start()):
        # « … », a déclaré le porte-parole …, John Kirby: who speaks comes after the verb, up to a "que"
        return not wanted & _heard_names(text[m.end() :].split(" que ")[0]) and bool(wanted & _heard_names(text))
    incise = _INCISE.match(text, m.end())
    speaker = _heard_names(text[: m.start()]) | (_heard_names(incise["name"]) if incise else set())
    return not (wanted & speaker) and bool(wanted & _heard_names(text[m.end() :]))


def _heard_names(text: str) -> set[str]:
    """The capitalised words of ``text`` as either language transcribes them, by their first letters (see
    :func:`_heard`: "Putin" and « Poutine »)."""
    return {_stem(_heard(w.casefold())) for w in _CAPITALISED.findall(text)}


def _heard(word: str) -> str:
    """A name as both languages transcribe it from another alphabet ("Putin", "Poutine": "putin")."""
    return re.sub(r"tch|sh", "ch", _stem(word, 99)).replace("ou", "u")


def _stem(word: str, letters: int = 5) -> str:
    """A word's first letters, accents aside: "Putin" and "Poutine" differ, "Pyongyang" matches itself."""
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()[:letters]
