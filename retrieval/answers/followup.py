"""Follow-up questions ("and when?", "Qu'a-t-il reçu en retour ?") read in the light of the previous one.

A question counts as a follow-up when it opens like one ("and …", "what about …", "et …",
"qu'en est-il …"), when it has no word of its own besides question words and what they ask for
("when?", "Et où ?", "On what occasion?", "En quelle année ?"), or when it is short and leans on a
personal, demonstrative or object pronoun ("how did he describe it?", "Which of them…", "Qui l'a
annoncé ?"). Articles are not pronouns: "Qui a signé le traité ?" is a
complete question. A follow-up that only names another subject for a slot of the previous
question ("And about the West?", "Et à la Chine ?") is that question about it, asked whole; so is
one that only names someone else ("And Kim?") after a question naming one person or thing. Any
other follow-up is searched together with the previous question of the same chat, answered
with its own kind of answer (a date for "when?") and with something the previous answer did
not quote, in its own language: "et quand ?" after an English question gets a French answer.
One that names what it asks about and points back at nothing ("And who won the World Cup?") is
answered only when the articles answer it asked alone ("And Kim?" alone is "Kim").
Memory is per chat, expires after a while and holds a bounded number of chats.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from ..corpus.analysis import (
    ENGLISH_STOP,
    INVERTED_SUBJECT,
    OTHER_QUESTION_WORDS,
    QUESTION_WORDS,
    Analyzer,
    detect_language,
    french_stop_words,
    names_in,
    words,
    written_language,
)
from ..types import Hit
from .kinds import question_kind
from .measures import asked_measure

_OPENERS = re.compile(
    r"^\s*(?:and|but|also|so|what about|how about|then|"
    r"et|mais|aussi|alors|donc|qu['’]en est-il|et pour|et qu)\b",
    re.IGNORECASE,
)
OBJECT = "l'"  # a French object pronoun, as :func:`_leaning_words` gives it (no word is written so)
# Personal and demonstrative pronouns only: the French articles le/la/les (and "en", "y", mostly
# prepositions) would make every complete French question a follow-up.
_PRONOUNS = frozenset(
    "it its that this these those they them their he him his she her there "
    "il elle ils elles lui leur leurs eux ça cela ceci celui celle ceux celles".split()
) | {OBJECT}
# Words that point back as pronouns do: "and who else?" asks who besides those just named.
_BESIDES = frozenset("else other others another autre autres encore".split())
# So do the phrases that relate to what was just said: "And in exchange?", "Et en retour ?".
_RELATING = re.compile(
    r"\b(?:in\s+(?:exchange|return|response|retaliation|turn)|as\s+a\s+result"
    r"|en\s+(?:échange|retour|contrepartie|réponse|représailles)|à\s+(?:son|leur)\s+tour|par\s+conséquent)\b",
    re.IGNORECASE,
)
# How someone reacted, with nothing said of what to: "How did the South respond?", "Comment la Chine
# a-t-elle réagi ?" ask about a reaction to what was just said. ("Les États-Unis ont-ils réagi ?" asks
# whether they did, of the articles' subject: a question of its own.)
_REACTING = re.compile(
    r"^\s*(?:(?:and|et)\s+)?(?:how|comment)\b[^?!.]*\b"
    r"(?:respond|responded|responds|react|reacted|reacts|reply|replied|retaliate|retaliated"
    r"|réagi|réagir|réagit|réagissent|réagira|répondu|répondre|répond|répondent|riposté|riposter|riposte)"
    r"(?:-t-(?:il|elle|on)|-(?:il|elle|ils|elles))?\s*[?!.…]*\s*$",
    re.IGNORECASE,
)
# The same in the other languages a question may be asked in (see analysis.OTHER_LANGUAGES), read
# only in a question written in one of them: "e" opens an Italian or Portuguese follow-up, "Y a-t-il
# des sanctions ?" is a French question.
_OTHER_OPENERS = re.compile(
    r"^\s*[¿¡]?\s*(?:y|pero|también|und|aber|auch|e|ma|anche|mas|também"
    r"|qué\s+hay\s+de|was\s+ist\s+mit|che\s+mi\s+dici\s+di|e\s+quanto\s+a)\b",
    re.IGNORECASE,
)
_OTHER_PRONOUNS = {
    "es": frozenset("él ella ellos ellas eso esto ese esa su sus".split()),
    "de": frozenset("er sie es ihn ihm ihnen sein seine seinen seinem ihre ihren dies".split()),
    "it": frozenset("lui lei loro esso essa ciò questo questa quello quella suo sua suoi".split()),
    "pt": frozenset("ele ela eles elas isso isto dele dela deles delas seu sua seus suas".split()),
}
_PRO_DROP = frozenset({"es", "it", "pt"})
MAX_CONTEXT_CHARS = 400


@dataclass(frozen=True)
class FollowUp:
    """A question read with the one before it: what was typed, and what the previous answer quoted."""

    asked: str
    previous: frozenset[tuple[str, int]] = frozenset()  # (article id, char_start) of each quoted sentence
    #: it has no word of its own ("and when?", "Et où ?"): it asks about the previous question's subject
    elliptical: bool = False
    #: the kind of answer the previous question asked for (see :func:`.kinds.question_kind`)
    previous_kind: str | None = None
    #: the measure the previous question asked for (see :func:`.measures.asked_measure`)
    previous_measure: str | None = None
    #: the language the previous question was asked (and answered) in: "en", "fr"
    previous_language: str | None = None
    #: when it stands alone (see :func:`stands_alone`), what finds its passages searched alone (called
    #: only if it is not refused already): whether the articles answer it is judged on them
    alone: Callable[[], Sequence[Hit]] | None = None
    #: it asks for more of the previous answer ("tell me more", « dis-m'en plus », see
    #: :func:`asks_for_more`): ``asked`` is the previous question, answered with what was not quoted yet
    more: bool = False

    @property
    def kind(self) -> str | None:
        """The kind of answer it asks for: its own ("and when?" a date), or, when it asks no question
        of its own ("And about the West?" after "What did Putin say about North Korea?"), the
        previous question's."""
        return self._own_or_previous(question_kind(self.asked), self.previous_kind)

    @property
    def measure(self) -> str | None:
        """The measure it asks for: its own ("and how tall is he?"), or, when it asks no question of
        its own ("and Putin?" after "How old is Kim Jong-un?"), the previous question's."""
        return self._own_or_previous(asked_measure(self.asked), self.previous_measure)

    def _own_or_previous(self, own: str | None, previous: str | None) -> str | None:
        return own if own is not None or asks_its_own_question(self.asked) else previous

    @property
    def about_an_answered_subject(self) -> bool:
        """An elliptical follow-up of a question that was answered: the articles hold its subject."""
        return self.elliptical and bool(self.previous)


# A message asking for more of the last answer, whole: "tell me more", "go on", "what else?", "more
# please", « dis-m'en plus », « et encore ? », « quoi d'autre ? », « la suite ».
_MORE = {
    "en": re.compile(
        r"^\W*(?:(?:and|ok|okay|yes|so)\W+)?"
        r"(?:(?:tell|give|show)\s+me\s+more|more(?:\s+(?:details?|info(?:rmation)?|on\s+(?:that|this)))?"
        r"|go\s+on|keep\s+going|carry\s+on|continue|(?:anything|something|what)\s+else|what\s+more)"
        r"(?:\W+(?:please|pls))?\W*$",
        re.IGNORECASE,
    ),
    "fr": re.compile(
        r"^\W*(?:(?:et|oui|d['’]accord|alors)\W+)?"
        r"(?:dis[-\s]m['’]en\s+(?:plus|davantage)|dites[-\s]m['’]en\s+(?:plus|davantage)|(?:en\s+)?(?:savoir\s+)?plus"
        r"|encore(?:\s+plus)?|plus\s+encore|davantage|la\s+suite|continuez?|poursuis|poursuivez|développez?"
        r"|quoi\s+d['’]autre|autre\s+chose|(?:plus|d['’]autres)\s+(?:de\s+|d['’])?(?:détails|précisions|informations|infos))"
        r"(?:\W+(?:s['’]il\s+(?:te|vous)\s+pla[iî]t|stp|svp))?\W*$",
        re.IGNORECASE,
    ),
}


def asks_for_more(question: str) -> str | None:
    """The language of ``question`` when it only asks for more of the last answer ("Tell me more",
    « Et encore ? »): a follow-up whose question is the previous one (see :attr:`FollowUp.more`),
    answered in the language it asks in ("encore" alone is French); else None."""
    return next((language for language, pattern in _MORE.items() if pattern.match(question)), None)


def asks_its_own_question(question: str) -> bool:
    """Whether ``question`` has a question word ("what", "Qu'ont-ils vu ?", "¿Dónde?"), rather than only
    naming a new subject for the previous one ("And about the West?", "Et la Chine ?")."""
    asking = _other_words(question)[2]
    return any(w in QUESTION_WORDS or w == "qu" or w in asking for w in words(question))


def _other_words(question: str) -> tuple[str | None, frozenset[str], frozenset[str]]:
    """The other language ``question`` is written in, with its pronouns and question words; None and
    nothing for English, French or a question whose language nothing tells."""
    language = written_language(question)
    if language not in _OTHER_PRONOUNS:
        return None, frozenset(), frozenset()
    return language, _OTHER_PRONOUNS[language], OTHER_QUESTION_WORDS[language]


def stands_alone(question: str, analyzer: Analyzer) -> bool:
    """Whether a follow-up names what it asks about itself: words of its own and no pronoun ("And
    who won the World Cup?", "and the price of oil?", "Et qui a signé le traité ?"), or a name
    beside its pronoun ("Et que pense-t-il du Brexit ?": whatever "il" is, the articles must hold
    Brexit). Not "And when was it signed?", "Qu'a-t-il reçu en retour ?", "Où travaille-t-il ?",
    "and who else?", "And in exchange?"."""
    if not subject_words(question, analyzer):
        return False
    if _REACTING.search(question):
        # "How did France react?": to what was just said, whatever it was; the articles must hold France
        return bool(names_in(question))
    language, pronouns, _ = _other_words(question)
    leans = _RELATING.search(question) is not None or any(
        w in _PRONOUNS or w in _BESIDES or w in pronouns for w in _leaning_words(question, analyzer)
    )
    named = bool(_names(_tokens(question), analyzer))
    if language in _PRO_DROP:
        # Spanish, Italian and Portuguese leave the subject in the verb: "¿Y cuándo se firmó?" leans on
        # what was just said as "And when was it signed?" does; "¿Y quién ganó el Mundial?" names its own.
        return named
    return not leans or named


def standing_text(question: str) -> str:
    """What a follow-up that stands alone is searched and judged as, alone: the subject it names when
    it asks no question of its own ("And Kim?" is judged as "Kim", "and the price of oil?" as "the
    price of oil": the opener says nothing of whether the articles hold it), else itself ("And who
    won the World Cup?")."""
    if _REACTING.search(question) and (names := names_in(question)):
        return " ".join(names)  # "How did the South respond?" is judged as "South": to what, it does not say
    m = _RENAME.match(question)
    return m["subject"] if m is not None and not asks_its_own_question(m["subject"]) else question


def is_follow_up(question: str, analyzer: Analyzer) -> bool:
    language, pronouns, asking = _other_words(question)
    if _OPENERS.match(question) or _REACTING.search(question) or (language and _OTHER_OPENERS.match(question)):
        return True
    own, typed = analyzer.asked_words(question), words(question)
    if len(own) <= 3 and any(w in _PRONOUNS or w in pronouns for w in _leaning_words(question, analyzer)):
        return True  # "Qu'ont-ils vu ?", "how did he describe it?", "Qui l'a annoncé ?"
    # "when?", "Et où ?", "Pourquoi ?", "On what occasion?", "En quelle année ?", "¿Dónde?"
    return not subject_words(question, analyzer) and any(w in QUESTION_WORDS or w in asking for w in typed)


# What a question word asks for, when it names no subject: "what occasion", "which year", "quelle
# raison", "combien de jours"; not "combien de missiles", "which treaty".
_GENERIC = (
    r"occasions?|circumstances?|years?|dates?|days?|months?|times?|moments?|reasons?|purposes?|ways?|places?"
    r"|countries|country|cities|city|persons?|people|means|kinds?|sorts?|types?|circonstances?|années?|ans"
    r"|jours?|mois|heures?|temps|durée|fois|raisons?|buts?|manières?|façons?|moyens?|sortes?|genres?|lieux?"
    r"|endroits?|pays|villes?|époques?|personnes?"
    # What something is called or looks like: "Quelle marque ?", "What colour?" (a car just named).
    r"|names?|brands?|models?|colou?rs?|titles?|noms?|marques?|modèles?|couleurs?|titres?"
)
_ASKED_FOR = re.compile(
    rf"\b(?:(?:what|which|quel(?:le)?s?|combien\s+de)\s+|combien\s+d['’]\s*)(?:{_GENERIC})\b"
    # what comes next, which names no subject either: "Et ensuite ?", "And then?", "Where did he go next?"
    r"|\b(?:ensuite|puis|après\s+(?:cela|ça)|then|next|afterwards|after\s+that)\b",
    re.IGNORECASE,
)


def names_nothing(question: str, analyzer: Analyzer) -> bool:
    """Whether ``question`` names nothing to look for: no word of its own besides question words and what
    they ask for, no name, no acronym, no number ("Where?", "¿Dónde?", "What did he say?", "Quelles
    villes ?"). Asked with no question before it, nothing tells what it is about."""
    return not (subject_words(question, analyzer) or names_in(question) or _NAMING.search(question))


_NAMING = re.compile(r"\d|\b[A-Z]{2,}\b")


def subject_words(question: str, analyzer: Analyzer) -> list[str]:
    """The content words of ``question`` that name a subject: not what a question word asks for
    ("occasion" in "On what occasion?", "année" in "En quelle année ?"). None: it is elliptical, about
    the previous question's subject."""
    return analyzer.asked_words(_ASKED_FOR.sub(" ", question))


_OBJECT_PRONOUN = re.compile(
    r"\b(?:l['’]\s*|(?:le|la|les)\s+)(?:a|ont|avait|avaient|aura|auront|aurait|auraient|est|sont|était|étaient)\b",
    re.IGNORECASE,
)


def _leaning_words(question: str, analyzer: Analyzer) -> list[str]:
    """The words of ``question`` that may point back, without the French inverted pronoun that
    repeats a subject the question names ("Les États-Unis ont-ils réagi ?", "Pourquoi Kim a-t-il…"),
    with the French object pronoun before an auxiliary ("Qui l'a annoncé ?", "Qui les a imposées ?"),
    which an article never precedes."""
    out = words(INVERTED_SUBJECT.sub(" ", question))
    out += [OBJECT] * len(_OBJECT_PRONOUN.findall(question))
    for m in INVERTED_SUBJECT.finditer(question):
        before_verb = _without_last_word(question[: m.start()])
        if not subject_words(before_verb, analyzer):  # "Qu'ont-ils vu ?", "Où travaille-t-il ?": none named
            out.append(m.group(1).lower())
    return out


def _without_last_word(text: str) -> str:
    """``text`` without the word it ends with: the verb an inverted pronoun is attached to
    ("travaille" in "Où travaille-t-il ?"), which names no subject. Linear in ``text``."""
    end = len(text)
    while end > 0 and (text[end - 1].isalnum() or text[end - 1] in "_’'"):
        end -= 1
    return text[:end]


def resolve(question: str, previous: str | None, analyzer: Analyzer) -> str:
    """The text to search for: a follow-up is searched together with the previous question."""
    if not previous or not is_follow_up(question, analyzer):
        return question
    return f"{previous[-MAX_CONTEXT_CHARS:]} {question}"


# A follow-up that puts another subject in a slot of the previous question, the slot its
# preposition names: "And about the West?" after "What did Putin say about North Korea before his
# trip?" asks "What did Putin say about the West?"; "Et à la Chine ?" after "Combien de missiles
# ont été livrés à la Russie ?" asks "Combien de missiles ont été livrés à la Chine ?". "What
# about Moscow?" names no slot (Moscow may be who said it, or what it was about): not one.
_SLOTS = (
    frozenset({"about", "on", "regarding", "concerning", "sur", "concernant"}),
    frozenset({"de", "du", "des", "d"}),
    frozenset({"à", "au", "aux"}),
    *(
        frozenset({p})
        for p in "for with to from in at against toward towards pour avec contre dans chez vers en".split()
    ),
)
_SLOT_WORDS = frozenset().union(*_SLOTS)
_SWAP = re.compile(
    r"^\s*(?:(?:and|but|also|so|then|et|mais|alors|donc)\s+)?"
    r"(?P<prep>d['’]|(?:" + "|".join(sorted(_SLOT_WORDS - {"d"}, key=len, reverse=True)) + r")\s+)"
    r"(?P<subject>[^?!.]*\w)[\s?!.]*$",
    re.IGNORECASE,
)
_DETERMINERS = frozenset(
    "the a an his her its their this that le la les l un une son sa ses leur leurs ce cet cette ces".split()
)
# A phrase that only places the previous subject ("before his trip", "lors de sa visite"): it goes
# with the subject it placed.
_MODIFIERS = frozenset(
    """before after during since until while when in at on for with without by from to over
    avant après pendant depuis lors durant jusqu dans en à au aux pour avec sans par chez contre vers selon""".split()
)
_TOKEN = re.compile(r"[\w’'-]+|[^\w\s]")


def swapped(question: str, previous: str | None, analyzer: Analyzer) -> str | None:
    """The previous question about the subject ``question`` names instead, when ``question`` only
    names a subject in a slot of the previous one ("And about the West?", "Et sur la Chine ?");
    else None. What placed the old subject goes with it ("before his trip")."""
    m = _SWAP.match(question)
    if not previous or m is None or not analyzer.content_words(m["subject"]):
        return None
    if any(w in QUESTION_WORDS for w in words(m["subject"])):
        return None  # "and to whom?": a question of its own
    prep = words(m["prep"])[0]
    slot = next(group for group in _SLOTS if prep in group)
    tokens = _tokens(previous)
    for i in range(len(tokens) - 1, -1, -1):
        word = words(tokens[i][0])
        if not word or word[0] not in slot or _in_name(tokens, i):
            continue
        start = tokens[i][1]
        j = i + 1 if len(word) == 1 else i  # "d'Ukraine": the slot's word and its subject are one token
        if j < len(tokens) and len(after := words(tokens[j][0])) == 1 and after[0] in _DETERMINERS:
            j += 1  # "the", "la" ("l'Occident" is one token, and a word of its own)
        end = None
        while j < len(tokens) and (analyzer.content_words(tokens[j][0]) or (end is not None and _in_name(tokens, j))):
            end = tokens[j][2]
            j += 1
        if end is None:
            continue
        tail = previous[end:]
        first = words(tail)[:1]
        if first and first[0] in _MODIFIERS:
            tail = end_mark.group() if (end_mark := re.search(r"\s*[?!.]+\s*$", tail)) else ""
        joiner = "" if m["prep"].endswith(("'", "’")) else " "
        return f"{previous[:start]}{m['prep'].strip()}{joiner}{m['subject']}{tail}".strip()
    return None


_Token = tuple[str, int, int]  # text, start, end


def _tokens(text: str) -> list[_Token]:
    return [(t.group(), t.start(), t.end()) for t in _TOKEN.finditer(text)]


def _capitalised(tokens: Sequence[_Token], k: int) -> bool:
    return 0 <= k < len(tokens) and tokens[k][0][:1].isupper()


def _in_name(tokens: Sequence[_Token], k: int) -> bool:
    """Whether token ``k`` is a connector inside a name: "Corée du Nord", "Bank of England"."""
    return (
        _capitalised(tokens, k - 1)
        and _capitalised(tokens, k + 1)
        and words(tokens[k][0]) in (["du"], ["de"], ["des"], ["of"])
    )


def _names(tokens: Sequence[_Token], analyzer: Analyzer) -> list[tuple[int, int]]:
    """The (first, last) tokens of each name in ``tokens``: runs of capitalised words of content
    ("Corée du Nord", "South Korea", "États-Unis") and acronyms ("US"), not the question's first
    word ("Describe", "Qu'a")."""
    out: list[tuple[int, int]] = []
    k = 1
    while k < len(tokens):
        text = tokens[k][0]
        if _capitalised(tokens, k) and (analyzer.content_words(text) or (len(text) > 1 and text.isupper())):
            first = k
            while _capitalised(tokens, k + 1) or (_in_name(tokens, k + 1) and _capitalised(tokens, k + 2)):
                k += 1
            out.append((first, k))
        k += 1
    return out


# A follow-up that only names someone or something else: "And Kim?", "What about South Korea?",
# "Et la Corée du Sud ?", "Qu'en est-il de la Chine ?".
_RENAME = re.compile(
    r"^\s*(?:and|but|also|then|what about|how about|et|mais|alors|qu['’]en est-il\s+(?:de|du|des|d['’]))\s*"
    r"(?P<subject>[^?!.]*\w)[\s?!.]*$",
    re.IGNORECASE,
)


def renamed(question: str, previous: str | None, analyzer: Analyzer) -> str | None:
    """The previous question about the name ``question`` gives instead, when ``question`` only names
    someone or something ("And Kim?", "Et la Chine ?") and the previous question names exactly one
    ("What did Putin say about the treaty?" → "What did Kim say about the treaty?"); else None.
    With two names ("What did Putin say about North Korea?"), which one it replaces is anyone's
    guess: the follow-up is read with the previous question instead."""
    m = _RENAME.match(question)
    if not previous or m is None:
        return None
    subject = _tokens(m["subject"])
    if words(subject[0][0])[:1] and words(subject[0][0])[0] in _DETERMINERS:
        subject = subject[1:]  # "la Corée du Sud"
    if not subject or not all(_capitalised(subject, k) or _in_name(subject, k) for k in range(len(subject))):
        return None  # "And the sanctions?", "and when?": no name
    tokens = _tokens(previous)
    names = _names(tokens, analyzer)
    if len(names) != 1:
        return None
    first, last = names[0]
    if "'" in tokens[first][0] or "’" in tokens[first][0]:
        return None  # "l'Occident", "d'Ukraine": the new name would not fit the elision
    start = tokens[first][1]
    if first > 0 and words(tokens[first - 1][0]) and words(tokens[first - 1][0])[0] in _DETERMINERS:
        start = tokens[first - 1][1]  # "the US", "les États-Unis": the new name brings its own
    return f"{previous[:start]}{m['subject']}{previous[tokens[last][2] :]}"


def answer_language(question: str, previous_language: str | None = None) -> str:
    """The language to answer ``question`` in: its own, or when nothing in it tells
    ("Kim ?", "2019?"), the language the chat was last answered in."""
    if previous_language and not _tells_language(question):
        return previous_language
    return detect_language(question)


def _tells_language(question: str) -> bool:
    french = french_stop_words()
    return any(w in ENGLISH_STOP or w in french for w in words(question)) or bool(
        re.search(r"[àâçéèêëîïôûùœ]", question.casefold())
    )


class Conversations:
    """The last (resolved) question of each chat and the language it was answered in,
    forgotten after ``ttl`` seconds."""

    def __init__(
        self, *, ttl: float = 900.0, capacity: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._items: OrderedDict[Hashable, tuple[float, str, str | None, frozenset[tuple[str, int]]]] = OrderedDict()
        self._lock = threading.Lock()

    def previous(self, chat: Hashable) -> str | None:
        item = self._live(chat)
        return item[1] if item else None

    def language(self, chat: Hashable) -> str | None:
        """The language the chat's last question was answered in."""
        item = self._live(chat)
        return item[2] if item else None

    def quoted(self, chat: Hashable) -> frozenset[tuple[str, int]]:
        """(article id, char_start) of the sentences the chat's last answer quoted."""
        item = self._live(chat)
        return item[3] if item else frozenset()

    def _live(self, chat: Hashable) -> tuple[float, str, str | None, frozenset[tuple[str, int]]] | None:
        with self._lock:
            item = self._items.get(chat)
            if item is None:
                return None
            if self._clock() - item[0] > self._ttl:
                del self._items[chat]
                return None
            return item

    def remember(
        self,
        chat: Hashable,
        question: str,
        language: str | None = None,
        quoted: frozenset[tuple[str, int]] = frozenset(),
    ) -> None:
        with self._lock:
            self._items.pop(chat, None)
            self._items[chat] = (self._clock(), question, language, quoted)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def forget(self, chat: Hashable) -> None:
        with self._lock:
            self._items.pop(chat, None)

    def __len__(self) -> int:
        return len(self._items)
