"""Follow-up questions ("and what did Kim say about it?") read in the light of the previous one.

A question counts as a follow-up when it opens like one ("and …", "what about …",
"et …", "qu'en est-il …") or is short and leans on a pronoun ("when was it signed?").
It is then searched together with the previous question of the same chat. Memory is
per chat, expires after a while and holds a bounded number of chats.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from .analysis import Analyzer, words

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


class Conversations:
    """The last (resolved) question of each chat, forgotten after ``ttl`` seconds."""

    def __init__(
        self, *, ttl: float = 900.0, capacity: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._items: OrderedDict[Hashable, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def previous(self, chat: Hashable) -> str | None:
        with self._lock:
            item = self._items.get(chat)
            if item is None:
                return None
            if self._clock() - item[0] > self._ttl:
                del self._items[chat]
                return None
            return item[1]

    def remember(self, chat: Hashable, question: str) -> None:
        with self._lock:
            self._items.pop(chat, None)
            self._items[chat] = (self._clock(), question)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def forget(self, chat: Hashable) -> None:
        with self._lock:
            self._items.pop(chat, None)

    def __len__(self) -> int:
        return len(self._items)
