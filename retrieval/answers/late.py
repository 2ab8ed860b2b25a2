"""Late interaction: how well a sentence answers a question, read token by token (MaxSim).

Each token of the question is matched with its closest token of the sentence (cosine of
multilingual-e5's token states, across languages alike) and the matches are averaged. A
sentence that says what the question asks in other words, or in the other language, scores
high where a single-vector cosine blurs it ("What did Kim call Putin?" and "qu'il désignait
comme le « meilleur ami »"). No training: the encoder's own states, for the handful of
candidate sentences of one question, only when the encoder offers them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..types import Embedder, Hit


class LateInteraction:
    """``scores(question, sentences)``: MaxSim of each sentence with the question; None when the
    encoder gives no token states (then the answer goes without this signal)."""

    def __init__(self, encoder: Callable[[], Embedder | None]) -> None:
        self._encoder = encoder  # called when first needed: the model loads lazily

    def scores(self, question: str, sentences: Sequence[str]) -> list[float] | None:
        encoder = self._encoder()
        token_states = getattr(encoder, "token_states", None)
        if token_states is None or not sentences:
            return None
        asked = token_states([question], query=True)[0]
        out = []
        for states in token_states(list(sentences)):
            out.append(float((asked @ states.T).max(axis=1).mean()) if len(states) and len(asked) else 0.0)
        return out

    def best_passage(self, question: str, hits: Sequence[Hit]) -> float | None:
        """The best MaxSim of ``question`` with the passages of ``hits``: how much of what it asks
        some passage holds, token by token (None without token states).

        A passage is read as the sentences an answer could quote: a credit line ("Agence
        France-Presse"), a byline or a dateline is searchable but is no evidence that the
        articles answer ("Who is the president of France?")."""
        scores = self.scores(question, [quotable_text(h) for h in hits])
        return max(scores) if scores else None


def quotable_text(hit: Hit) -> str:
    """``hit``'s passage as the sentences that could be quoted from it; the passage's text when
    it has no sentence table (no multilingual encoder)."""
    return " ".join(s.text for s in hit.sentences) if hit.sentences else hit.passage.text


def gaps(scores: Sequence[float]) -> np.ndarray:
    """Each score less the best one (<= 0)."""
    values = np.asarray(scores, dtype=np.float64)
    return values - values.max() if len(values) else values
