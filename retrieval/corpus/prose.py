"""Is this body prose? Judged on the whole text, in one linear pass, from the distribution of its words.

A body passes when it is made of words (most tokens are words of letters), its words are
word-sized (not one endless run of letters), and they vary as language does: no word fills a
large share of the text, a window of 200 words holds many different ones, and the whole
text has more than a handful of distinct words for its length.

Calibrated on the five seeds and PIAF's 191 Wikipedia articles (``python -m bench.prose seeds
PIAF/articles``): the extreme value over those 196 articles, and the threshold, of each measure:

=================================  ===============  =========
measure                            extreme (196)    threshold
=================================  ===============  =========
real words among tokens            0.73 (lowest)    >= 0.5
letters in words over 40 letters   0 (longest: 29)  <= 10%
most frequent word's share         0.11 (highest)   <= 0.30
distinct words per 200             0.47 (lowest)    >= 0.25
distinct / sqrt(words)             5.0 (lowest)     >= 2.5
=================================  ===============  =========

Random letters cut into word-sized tokens do pass: telling them from a language this check
does not know is not attempted. Every measure is a C-level scan or a count (``str.split``,
one regex, a :class:`~collections.Counter`), so a body at the size cap is judged in well
under a second.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadArticle
from .plaintext import check_text

MIN_WORDS = 3
MIN_WORD_SHARE = 0.5
LONG_WORD = 40  # letters: longer than any word of French or English prose
MAX_LONG_WORD_SHARE = 0.10  # of the letters in words
MAX_TOP_SHARE = 0.30
WINDOW = 200
MIN_WINDOW_VARIETY = 0.25
MIN_GUIRAUD = 2.5
VARIETY_FROM = 20  # words: below this the shares say nothing
GUIRAUD_FROM = 100  # words: below this, distinct / sqrt(words) is small in any text

# A word: letters (apostrophes and hyphens inside), wrapped in at most some punctuation;
# the group is the word itself.
_WORD = re.compile(r"(?<!\S)[(\[«\"“‘'¡¿*_-]*([^\W\d_]{2,}(?:['’-][^\W\d_]+)*)[.,;:!?…)\]»\"”’'*_-]*(?!\S)")


@dataclass(frozen=True)
class ProseMeasures:
    """What :func:`measure` finds in a body; :meth:`refusal` says why it is not prose, or None."""

    tokens: int
    words: int
    distinct: int
    longest: int  # letters in the longest word
    long_word_share: float  # share of the words' letters in words over LONG_WORD letters
    top_word: str
    top_share: float  # the most frequent word's share of all words
    window_variety: float  # mean distinct / WINDOW over consecutive windows (the whole text if shorter)

    @property
    def guiraud(self) -> float:
        """Distinct words over the square root of the words: about length-independent variety."""
        return self.distinct / math.sqrt(self.words) if self.words else 0.0

    def refusal(self) -> str | None:
        if self.long_word_share > MAX_LONG_WORD_SHARE:
            return (
                f"{self.long_word_share:.0%} of its letters are in 'words' over {LONG_WORD} letters "
                f"(the longest has {self.longest:,})"
            )
        if self.words < MIN_WORDS or self.words < MIN_WORD_SHARE * self.tokens:
            return f"{self.words} real words in {self.tokens} tokens"
        if self.words < VARIETY_FROM:
            return None
        if self.top_share > MAX_TOP_SHARE:
            return f"one word, {_quoted(self.top_word)}, is {self.top_share:.0%} of its {self.words:,} words"
        if self.window_variety < MIN_WINDOW_VARIETY:
            span = min(self.words, WINDOW)
            return (
                f"too repetitive: {self.window_variety * span:.0f} different words per {span} "
                f"on average (prose has over {MIN_WINDOW_VARIETY * span:.0f})"
            )
        if self.words >= GUIRAUD_FROM and self.guiraud < MIN_GUIRAUD:
            return f"too repetitive: {self.distinct:,} different words in {self.words:,}"
        return None


def measure(body: str) -> ProseMeasures:
    """The measures of ``body``, in time linear in its length."""
    tokens = len(body.split())
    words = _WORD.findall(body.casefold())
    counts = Counter(words)
    letters = sum(map(len, words))
    longest = max(map(len, counts), default=0)  # over distinct words: cheap even for a million words
    long_letters = sum(len(w) * n for w, n in counts.items() if len(w) > LONG_WORD)
    top_word, top = counts.most_common(1)[0] if counts else ("", 0)
    return ProseMeasures(
        tokens=tokens,
        words=len(words),
        distinct=len(counts),
        longest=longest,
        long_word_share=long_letters / letters if letters else 0.0,
        top_word=top_word,
        top_share=top / len(words) if words else 0.0,
        window_variety=_window_variety(words),
    )


def check_prose(body: str, path: Path) -> None:
    """Refuse (:class:`BadArticle`, with the reason) a cleaned body that is not text or not prose."""
    check_text(body, path)
    reason = measure(body).refusal()
    if reason is not None:
        raise BadArticle(path, f"not prose: {reason}")


def _window_variety(words: list[str]) -> float:
    if len(words) <= WINDOW:
        return len(set(words)) / len(words) if words else 0.0
    full = len(words) // WINDOW
    return sum(len(set(words[i * WINDOW : (i + 1) * WINDOW])) for i in range(full)) / (full * WINDOW)


def _quoted(word: str) -> str:
    return repr(word if len(word) <= 30 else word[:30] + "…")
