"""Follow-up questions ("and what did Kim say about it?") read in the light of the previous one.

A question counts as a follow-up when it opens like one ("and …", "what about …",
"et …", "qu'en est-il …") or is short and leans on a pronoun ("when was it signed?").
It is then searched together with the previous question of the same chat, and answered
in its own language: "et quand ?" after an English question gets a French answer. Memory
is per chat, expires after a while and holds a bounded number of chats.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from ..corpus.analysis import ENGLISH_STOP, Analyzer, detect_language, french_stop_words, words

_OPENERS = re.compile(
    r"^\s*(?:and|but|also|so|what about|how about|then|"
    r"et|mais|aussi|alors|donc|qu['’]en est-il|et pour|et qu)\b",
    re.IGNORECASE,
)
_PRONOUNS = frozenset(
    "it its that this these those they them their he him his she her there "
    "il elle ils elles lui leur leurs ça cela ceci celui celle ceux y en le la les".split()
)
MAX_CONTEXT_CHARS = 400


def is_follow_up(question: str, analyzer: Analyzer) -> bool:
    if _OPENERS.match(question):
        return True
    return len(analyzer.content_words(question)) <= 3 and any(w in _PRONOUNS for w in words(question))


def resolve(question: str, previous: str | None, analyzer: Analyzer) -> str:
    """The text to search for: a follow-up is searched together with the previous question."""
    if not previous or not is_follow_up(question, analyzer):
        return question
    return f"{previous[-MAX_CONTEXT_CHARS:]} {question}"


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
        self._items: OrderedDict[Hashable, tuple[float, str, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def previous(self, chat: Hashable) -> str | None:
        item = self._live(chat)
        return item[1] if item else None

    def language(self, chat: Hashable) -> str | None:
        """The language the chat's last question was answered in."""
        item = self._live(chat)
        return item[2] if item else None

    def _live(self, chat: Hashable) -> tuple[float, str, str | None] | None:
        with self._lock:
            item = self._items.get(chat)
            if item is None:
                return None
            if self._clock() - item[0] > self._ttl:
                del self._items[chat]
                return None
            return item

    def remember(self, chat: Hashable, question: str, language: str | None = None) -> None:
        with self._lock:
            self._items.pop(chat, None)
            self._items[chat] = (self._clock(), question, language)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def forget(self, chat: Hashable) -> None:
        with self._lock:
            self._items.pop(chat, None)

    def __len__(self) -> int:
        return len(self._items)
