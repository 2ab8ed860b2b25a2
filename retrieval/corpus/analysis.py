"""Language-aware text analysis for lexical search: words, stop words, accent folding, stemming."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_WORD = re.compile(r"\w+")
_COMPOUND = re.compile(r"\w+(?:-\w+)*")
_SPACES = dict.fromkeys(map(ord, "\u00a0\u202f\u2007\u2009\u200a\t"), " ")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def normalize_text(text: str) -> str:
    """NFC, one kind of newline, plain spaces for non-breaking ones, no invisible marks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    return text.translate(_SPACES).translate(_INVISIBLE)


def tidy(text: str) -> str:
    """``text`` as a person reads it: each line a paragraph with its runs of spaces as one,
    paragraphs separated by one blank line.

    An article body keeps its file's layout (and blanks where captions and markup stood):
    this is how its passages and quotes are shown, and what the encoders read."""
    return "\n\n".join(" ".join(line.split()) for line in text.split("\n") if line.strip())


# Function words of questions and prose. French is the Snowball list bm25s ships (copied here:
# importing bm25s loads scipy, a tenth of a second of a cold `ragbot ask`) plus common question
# words; English is written out because bm25s's list is tiny and misses the question words an
# English query is made of.
_FRENCH_SNOWBALL = tuple(
    """ai aie aient aies ait as au aura aurai auraient aurais aurait auras aurez auriez aurions aurons
    auront aux avaient avais avait avec avez aviez avions avons ayant ayante ayantes ayants ayez
    ayons c ce ces d dans de des du elle en es est et eu eue eues eurent eus eusse eussent
    eusses eussiez eussions eut eux eûmes eût eûtes furent fus fusse fussent fusses fussiez
    fussions fut fûmes fût fûtes il ils j je l la le les leur lui m ma mais me mes moi mon même
    n ne nos notre nous on ont ou par pas pour qu que qui s sa se sera serai seraient serais
    serait seras serez seriez serions serons seront ses soient sois soit sommes son sont soyez
    soyons suis sur t ta te tes toi ton tu un une vos votre vous y à étaient étais était étant
    étante étantes étants étiez étions été étée étées étés êtes""".split()
)
_FRENCH_EXTRA = frozenset(
    """comment pourquoi quand quel quelle quels quelles quoi combien où selon lequel laquelle lesquels
    cette cet ces celui celle ceux aussi alors ainsi plus très tout tous toute toutes
    été fait faire dit dire entre avant après depuis sans sous vers chez contre""".split()
)
ENGLISH_STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves according say says said tell told mention mentioned describe described""".split()
)

# Function words of the other languages a question may be asked in: multilingual-e5 reads them as
# it reads English, against the articles across languages. A word another language writes too ("la",
# "de", "que") counts for each: the words only one of them uses decide (see written_language).
OTHER_LANGUAGES: dict[str, frozenset[str]] = {
    "es": frozenset(
        """el la los las un una unos unas del al y de que en es son fue fueron era está están ha han hay
        por para con sin su sus se le les lo qué quién quiénes cuándo dónde adónde cómo cuánto cuánta cuántos
        cuántas cuál cuáles porque pero muy también este esta estos estas ese esa sobre entre después antes
        durante hizo dijo dice dicho según él ella ellos ellas eso esto""".split()
    ),
    "de": frozenset(
        """der die das den dem des ein eine einen einem einer und oder ist sind war waren hat haben hatte wird
        wurde wurden nicht mit von zu im in auf für über nach bei aus was wer wen wem wessen wann wo wohin
        woher warum wieso weshalb wie welche welcher welches welchen viele lange sich auch noch sagte sagt
        gesagt er sie es ihn ihm ihnen""".split()
    ),
    "it": frozenset(
        """il lo la i gli le un una uno del della dei degli delle al alla ai e è o di che in con per su tra fra
        sono era erano ha hanno non cosa chi quando dove come quanto quanti quanta quante perché quale quali
        anche ma più dopo prima durante secondo qual dell nell dall sull detto disse dice lui lei
        loro""".split()
    ),
    "pt": frozenset(
        """o a os as um uma uns umas do da dos das no na nos nas ao e ou de que em é são foi foram era está
        estão tem têm há por para com sem seu sua seus suas se quem quando onde como quanto quantos quanta
        quantas qual quais porque mas muito também depois antes durante segundo sobre disse diz dito ele
        ela eles elas isso isto dele dela""".split()
    ),
}
# Their question words, which count twice: "¿Dónde?", "Warum braucht Russland Nordkorea?".
OTHER_QUESTION_WORDS = {
    "es": frozenset("qué quién quiénes cuándo dónde adónde cómo cuánto cuánta cuántos cuántas cuál cuáles".split()),
    "de": frozenset("wer wen wem wessen wann wo wohin woher warum wieso weshalb wie welche welcher welches".split()),
    "it": frozenset("chi quando dove perché quale quali quanto quanti cosa".split()),
    "pt": frozenset("quem quando onde quais qual quanto quantos".split()),
}
# Letters (and marks) one of them writes and neither English nor French does: "¿", "ñ", "ß", "ã".
_OTHER_LETTERS = {"es": "[ñ¿¡]", "de": "[äöüß]", "it": "[ìò]", "pt": "[ãõ]"}
_OTHER_FUNCTION_WORDS = frozenset().union(*OTHER_LANGUAGES.values())
_MARKS = "¿?¡!.,;:…'’\"«»()"
# Snowball's name of each language ragbot tells apart, and the code it goes by.
LANGUAGE_CODES = {"french": "fr", "english": "en", "spanish": "es", "german": "de", "italian": "it", "portuguese": "pt"}

# What people write to a bot besides questions ("hello", "merci !"): greetings and thanks (the bot
# answers a message of only those, bot/texts.py), and a few more words; all tell the language too.
GREETINGS = {
    "en": frozenset("hello hi hey".split()),
    "fr": frozenset("bonjour bonsoir salut coucou".split()),
    "es": frozenset("hola buenos buenas".split()),
    "de": frozenset("hallo servus guten".split()),
    "it": frozenset("ciao buongiorno buonasera salve".split()),
    "pt": frozenset("olá oi bom boa".split()),
}
THANKS = {
    "en": frozenset("thanks thank cheers".split()),
    "fr": frozenset({"merci"}),
    "es": frozenset({"gracias"}),
    "de": frozenset("danke dankeschön".split()),
    "it": frozenset({"grazie"}),
    "pt": frozenset("obrigado obrigada".split()),
}
# A greeting or thanks in another language counts two towards it: "¡Gracias!", "Danke".
_OTHER_COURTESY = {code: GREETINGS[code] | THANKS[code] for code in OTHER_LANGUAGES}
_ENGLISH_COURTESY = GREETINGS["en"] | THANKS["en"] | frozenset("please bye goodbye yes".split())
_FRENCH_COURTESY = GREETINGS["fr"] | THANKS["fr"] | frozenset("svp stp oui revoir".split())
POSSESSIVE = "'s"  # the English possessive, as :func:`_unnamed_words` gives it

# Words that make a question of a word or two ("when?", "Et où ?").
QUESTION_WORDS = frozenset(
    """who whom whose what when where why which how qui que quoi quand où pourquoi comment combien quel quelle
    quels quelles lequel laquelle""".split()
)


def french_stop_words() -> frozenset[str]:
    return frozenset(_FRENCH_SNOWBALL) | _FRENCH_EXTRA


def words(text: str) -> list[str]:
    """Lower-cased word tokens; apostrophes split elisions (l’accord → l, accord)."""
    return _WORD.findall(text.replace("’", "'").casefold())


def cased_like(typed: str, form: str) -> str:
    """``form`` (lower case) with the capitals of ``typed``: all of them ("COREE": "CORÉE"), the
    first ("Coree": "Corée"), or none."""
    if typed.isupper() and len(typed) > 1:
        return form.upper()
    return form[0].upper() + form[1:] if typed[:1].isupper() else form


def fold_accents(word: str) -> str:
    if word.isascii():
        return word  # nothing to fold (most words): ten times faster than decomposing it
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_FOLDED_FEMININE = re.compile(r"ee(s?)$")
#: A word's letters: no digit, no underscore, no apostrophe or hyphen ("a-t-il" is three words).
LETTERS = re.compile(r"[^\W\d_]+")
#: A French verb's subject pronoun put after it ("a-t-il", "ont-ils", "reçoit-elle"): group 1.
INVERTED_SUBJECT = re.compile(r"-(?:t-)?(il|elle|ils|elles|on)\b", re.IGNORECASE)
#: A verb addressed to the one asked or said by the asker ("Parle-moi de", "Dites-le-nous",
#: "Pouvez-vous", "me parler de", "tell me about", "Résume …"): how a request is put, not what it is about.
REQUEST_VERB = re.compile(
    r"(\w+)(?:-(?:le|la|les|en|y))?-(?:moi|nous|vous|tu|toi)\b"
    r"|(?:\bme\s+|\bm['’]|\bnous\s+)(parler|dire|expliquer|raconter|décrire|montrer|résumer|présenter)\b"
    r"|\b(tell|show|give|explain|describe)\s+(?:me|us)\b"
    # an imperative opening the request: "Résume l'article sur le pacte", "Summarize the treaty"
    r"|^\W*(résume|résumez|explique|expliquez|décris|décrivez|raconte|racontez|présente|présentez|cite|citez"
    r"|summari[sz]e|explain|describe|list|name)\b",
    re.IGNORECASE,
)

TRUNCATION = 5  # letters a word keeps to match its cognates in another language (McNamee & Mayfield)
# A name keeps more: names are spelt alike across languages or not at all ("Putin", "Poutine"), and
# five letters would match "Vladivostok" with "Vladimir".
NAME_TRUNCATION = 8


@dataclass(frozen=True)
class Analyzer:
    """Turns text into index terms: stop words out, accents folded, Snowball-stemmed.

    The articles' language decides the stemmer (``french`` by default). Query words in
    another language are analysed the same way, which keeps names and numbers matching;
    translation is the cross-lingual expander's job.
    """

    language: str = "french"
    _stemmer: Any = field(init=False, repr=False, compare=False, default=None)
    _stop: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())

    def __post_init__(self) -> None:
        import Stemmer

        object.__setattr__(self, "_stemmer", Stemmer.Stemmer(self.language))
        stop = french_stop_words() if self.language == "french" else frozenset()
        object.__setattr__(self, "_stop", stop | ENGLISH_STOP)

    def is_stop(self, word: str) -> bool:
        return word in self._stop

    def stop_words(self) -> frozenset[str]:
        return self._stop

    def terms(self, text: str) -> list[str]:
        """Index terms of ``text``, in order, repeated as often as they occur."""
        kept = [fold_accents(w) for w in words(text) if len(w) > 1 and w not in self._stop]
        if self.language == "french":
            # Folded, a feminine participle ("signée", "sanctionnées") ends in "ee", which Snowball
            # does not strip: it is cut as "signe" where "signé" and "signer" are "sign". Written
            # with or without accents, both now meet ("coree", "corée": "cor").
            kept = [_FOLDED_FEMININE.sub(r"e\1", w) for w in kept]
        return self._stemmer.stemWords(kept)

    def truncated_terms(self, text: str) -> list[str]:
        """Terms of ``text`` across languages: each word's first five letters, accents folded
        ("visit" and "visite" share "visit", "minister" and "ministres" "minis"; "visant" does not).
        The articles' stemmer cuts an English word as a French one ("visit" to "vis", as "visant")."""
        return [fold_accents(w)[:TRUNCATION] for w in words(text) if len(w) > 1 and w not in self._stop]

    def name_terms(self, text: str) -> list[str]:
        """:meth:`truncated_terms` for the words of a name: each word's first eight letters."""
        return [fold_accents(w)[:NAME_TRUNCATION] for w in words(text) if len(w) > 1 and w not in self._stop]

    def content_words(self, text: str) -> list[str]:
        """Distinct words worth translating or matching (no stop words, no bare numbers)."""
        seen: dict[str, None] = {}
        for w in words(text):
            if len(w) >= 3 and not w.isdigit() and w not in self._stop:
                seen.setdefault(w, None)
        return list(seen)

    def asked_words(self, question: str) -> list[str]:
        """:meth:`content_words` of a question, without the verb of a request: "Parle-moi de l'Aurus"
        is about the Aurus, as "Qu'est-ce que l'Aurus ?" is (a question's, not an article's: indexing
        never pays for it)."""
        request = {next(filter(None, m.groups())).casefold() for m in REQUEST_VERB.finditer(question)}
        # and without the function words of another language it is written in ("¿Dónde?" names nothing)
        foreign = OTHER_LANGUAGES.get(written_language(question) or "", frozenset())
        return [w for w in self.content_words(question) if w not in request and w not in foreign]

    def as_dict(self) -> dict[str, str]:
        # "passages": what BM25 reads of a passage (stores.bm25.lexical_text); an index built otherwise
        # is rebuilt whole by the next run.
        return {
            "language": self.language,
            "stemmer": "snowball",
            "accents": "folded, -ée as -é" if self.language == "french" else "folded",
            "stop_words": "fr+en",
            "passages": "title+text",
        }


def language_code(articles_language: str) -> str:
    """``"fr"``, ``"en"``, ``"es"``… for a Snowball language name (``"french"``); a language ragbot does
    not tell apart keeps its name."""
    return LANGUAGE_CODES.get(articles_language, articles_language)


def detect_language(text: str) -> str:
    """The code of the language a question is written in (see :func:`written_language`); French when
    nothing in it tells."""
    return written_language(text) or "fr"


_ROMAN = re.compile(r"[IVXLCDM][IVXLCDMl]*(?:e|er|ème|ième|eme)?$")  # "XIVe", "XVIIIième", "XlV"
_TITLES = frozenset("mme mmes mlle mlles mr mrs ms dr pr me mgr st ste sir lord lady".split())


def names_in(text: str) -> list[str]:
    """The capitalised words inside a sentence of ``text``: names ("Que pense Macron de la visite ?"
    gives "Macron"). Not a sentence's first word, an acronym ("NHL", "JC": often spelt otherwise in
    the articles), a numeral ("XVIIIième", "2019") nor a title ("Mme"). Linear in ``text``."""
    if text.isupper():
        return []
    out = []
    for word, before in _placed_words(text):
        numeral = _ROMAN.match(word) is not None or any(c.isdigit() for c in word)
        if _named(word, before) and not word.isupper() and not numeral and word.casefold() not in _TITLES:
            out.append(word)
    return out


def _unnamed_words(text: str) -> list[str]:
    """:func:`words` of ``text`` but the capitalised ones inside a sentence, which belong to names
    ("Kim Jong Un", "Le Monde", "The Hague") and say nothing of the language around them."""
    shouting = text.isupper()
    out = []
    for word, before in _placed_words(text):
        if not shouting and _named(word, before):
            continue
        if word.casefold() == "s" and before[-1:] == "'" and before[:1].isalnum() and len(before) == 2:
            out.append(POSSESSIVE)  # "Putin's": English, where French elides before a word ("s'il")
            continue
        out.extend(_WORD.findall(word.casefold()))
    return out


def _placed_words(text: str) -> Iterator[tuple[str, str]]:
    """Each word of ``text`` ("Jong-un" is one name; "a-t-il" three words, read apart later) with the
    two characters before it, the spaces since the last word skipped ("" at the start). Linear in
    all: each step backs over the spaces since the last word only."""
    text = text.replace("’", "'")
    for m in _COMPOUND.finditer(text):
        j = m.start() - 1
        while j >= 0 and text[j].isspace():
            j -= 1
        yield m.group(), text[max(0, j - 1) : j + 1]


def _named(word: str, before: str) -> bool:
    """Whether ``word`` (with the characters ``before`` it) is capitalised inside a sentence: part of a name."""
    return word[:1].isupper() and bool(before) and (before[-1].isalnum() or before[-1] in ",'")


def written_language(text: str) -> str | None:
    """``"fr"`` or ``"en"`` as :func:`detect_language` reads ``text``, by which language's function words
    dominate (a French accent counts two); None when nothing in it tells (no function word, no French
    accent: "missiles balistiques", "Kim"). Spanish, German, Italian or Portuguese (``"es"``, ``"de"``,
    ``"it"``, ``"pt"``) when that language's words (its question words count two, as its own letters
    do: "¿", "ß") reach two and outnumber both English's and French's: "¿Qué incluye el tratado?",
    "Wer begleitete Putin?"."""
    tokens = _unnamed_words(text)
    french = french_stop_words()
    fr = sum(t in french or t in _FRENCH_COURTESY for t in tokens)
    # not in another language's function words: "Quem é…", "Chi è…", "più", "¿Qué…"
    accented = " ".join(w for w in text.casefold().split() if w.strip(_MARKS) not in _OTHER_FUNCTION_WORDS)
    fr += 2 * bool(re.search(r"[àâçéèêëîïôûùœ]", accented))
    en = sum(t in ENGLISH_STOP or t in _ENGLISH_COURTESY or t == POSSESSIVE for t in tokens)
    unnamed = " ".join(tokens) + "".join(c for c in text if c in "¿¡")
    other = {
        code: sum(
            (t in function_words) + (t in OTHER_QUESTION_WORDS[code]) + 2 * (t in _OTHER_COURTESY[code]) for t in tokens
        )
        + 2 * bool(re.search(_OTHER_LETTERS[code], unnamed))
        for code, function_words in OTHER_LANGUAGES.items()
    }
    code, score = max(other.items(), key=lambda item: item[1])
    if score >= 2 and score > max(en, fr):
        return code
    if en == fr == 0:
        return None
    return "en" if en > fr else "fr"
