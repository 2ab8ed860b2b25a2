"""Late interaction: how well a sentence answers a question, read token by token (MaxSim).

Each token of the question is matched with its closest token of the sentence (cosine of
multilingual-e5's token states, across languages alike) and the matches are averaged. A
sentence that says what the question asks in other words, or in the other language, scores
high where a single-vector cosine blurs it ("What did Kim call Putin?" and "qu'il désignait
comme le « meilleur ami »"). No training: the encoder's own states, for the handful of
candidate sentences of one question, only when the encoder offers them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from ..corpus.translations import in_language
from ..types import Embedder, Hit

QUESTIONS_KEPT = 64  # questions whose token states are kept (a few KB each)


class LateInteraction:
    """``scores(question, sentences)``: MaxSim of each sentence with the question; None when the
    encoder gives no token states (then the answer goes without this signal).

    The token states of the texts it reads (passages, sentences) are kept, most recently used
    first, up to ``cache_bytes``: a follow-up, or another user's question about the same
    articles, re-reads the same passages without encoding them again (ten passages an English
    question). Keyed by the text itself, so an article changed by a re-index is read afresh. The
    last questions' own states are kept too: one answer reads its question against its passages,
    then its candidate sentences (and a follow-up against its previous question's), each a forward
    pass of the model before."""

    def __init__(
        self, encoder: Callable[[], Embedder | None], *, cache_bytes: int = 64 << 20, language: str | None = None
    ) -> None:
        self._encoder = encoder  # called when first needed: the model loads lazily
        # the articles' language: a question is read with its sure translations in it ("18 June" as
        # "18 juin"; see corpus.translations), the tokens of one language matching its own best
        self._language = language
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._held = 0
        self._lock = threading.Lock()  # the bot answers in worker threads
        self._questions: OrderedDict[str, np.ndarray] = OrderedDict()

    def scores(self, question: str, sentences: Sequence[str]) -> list[float] | None:
        encoder = self._encoder()
        token_states = getattr(encoder, "token_states", None)
        if token_states is None or not sentences:
            return None
        asked = self._question(token_states, question)
        out = []
        for states in self._states(token_states, sentences):
            out.append(float((asked @ states.T).max(axis=1).mean()) if len(states) and len(asked) else 0.0)
        return out

    def _question(self, token_states: Callable[..., list[np.ndarray]], question: str) -> np.ndarray:
        """``question``'s token states, encoded once for the last :data:`QUESTIONS_KEPT` questions."""
        with self._lock:
            states = self._questions.get(question)
            if states is not None:
                self._questions.move_to_end(question)
                return states
        read = in_language(question, self._language) if self._language else question
        states = token_states([read], query=True)[0]
        with self._lock:
            self._questions[question] = states
            while len(self._questions) > QUESTIONS_KEPT:
                self._questions.popitem(last=False)
        return states

    def _states(self, token_states: Callable[..., list[np.ndarray]], texts: Sequence[str]) -> list[np.ndarray]:
        """Each text's token states: from the cache, the missing ones encoded together and kept."""
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for t in found:
                self._cache.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = dict(zip(missing, token_states(missing), strict=True))
            found |= fresh
            with self._lock:
                for t, states in fresh.items():
                    if t not in self._cache and states.nbytes <= self._cache_bytes:
                        self._cache[t] = states
                        self._held += states.nbytes
                while self._held > self._cache_bytes:
                    self._held -= self._cache.popitem(last=False)[1].nbytes
        return [found[t] for t in texts]

    def passages(self, question: str, hits: Sequence[Hit]) -> list[float] | None:
        """MaxSim of ``question`` with each hit's passage, read as its quotable sentences."""
        return self.scores(question, [quotable_text(h) for h in hits])

    def best_passage(self, question: str, hits: Sequence[Hit]) -> float | None:
        """The best MaxSim of ``question`` with the passages of ``hits``: how much of what it asks
        some passage holds, token by token (None without token states).

        A passage is read as the sentences an answer could quote: a credit line ("Agence
        France-Presse"), a byline or a dateline is searchable but is no evidence that the
        articles answer ("Who is the president of France?")."""
        scores = self.passages(question, hits)
        return max(scores) if scores else None


def quotable_text(hit: Hit) -> str:
    """``hit``'s passage as the sentences that could be quoted from it; the passage's text when
    it has no sentence table (no multilingual encoder)."""
    return " ".join(s.text for s in hit.sentences) if hit.sentences else hit.passage.text


def gaps(scores: Sequence[float]) -> np.ndarray:
    """Each score less the best one (<= 0)."""
    values = np.asarray(scores, dtype=np.float64)
    return values - values.max() if len(values) else values


def reranked(hits: Sequence[Hit], matches: Sequence[float], weight: float) -> list[Hit]:
    """``hits`` with the first ``len(matches)`` re-ordered by their fused score plus ``weight`` times
    their MaxSim with the question (min-max scaled over them): late interaction as one more
    signal of the fusion, read for the few passages an answer may quote from. Ranks are renumbered
    from 1 and each re-read hit's score becomes the combined one; the others follow unchanged."""
    n = len(matches)
    if n < 2:
        return list(hits)
    lo, hi = min(matches), max(matches)
    spread = hi - lo
    combined = [
        h.score + weight * ((m - lo) / spread if spread > 0 else 0.0) for h, m in zip(hits[:n], matches, strict=True)
    ]
    order = sorted(range(n), key=lambda i: -combined[i])
    head = [replace(hits[i], rank=r, score=combined[i]) for r, i in enumerate(order, start=1)]
    return head + [replace(h, rank=r) for r, h in enumerate(hits[n:], start=n + 1)]
