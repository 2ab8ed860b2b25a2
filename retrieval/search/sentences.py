"""Sentence rescoring: each candidate passage's best sentence cosine, and which sentence won."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..corpus.analysis import tidy
from ..corpus.reference import points_back
from ..stores.base import StoreVersion
from ..types import Passage, ScoredSentence


class SentenceScorer:
    """Best sentence cosine per candidate passage, remembering which sentence won."""

    def __init__(self, snapshot: StoreVersion, query: np.ndarray, focus: np.ndarray | None = None) -> None:
        self.snapshot = snapshot
        self.query = query
        self.focus = focus  # the question as typed, when ``query`` is more (a follow-up)
        self.raw: dict[int, float] = {}
        self.best: dict[int, int] = {}
        self._sims: dict[int, np.ndarray] = {}  # passage row -> its sentences' cosines, from __call__

    def _similarities(self, rows: np.ndarray) -> np.ndarray:
        return self.snapshot.vector_set("sentences").scores(self.query, rows)  # type: ignore[union-attr]

    def sentences(
        self, row: int, passage: Passage, coverage: Callable[[str], tuple[float, float]]
    ) -> tuple[ScoredSentence, ...]:
        """Every sentence of passage ``row``, with its cosine(s) and ``coverage(text)``: the share of the
        question's words it holds, plain and weighted by rarity."""
        lo, hi = int(self.snapshot.sentence_first[row]), int(self.snapshot.sentence_last[row])
        if hi <= lo:
            return ()
        rows = np.arange(lo, hi, dtype=np.int64)
        sims = self._sims.get(row)
        if sims is None:
            sims = self._similarities(rows)
        focus = [None] * len(rows)
        if self.focus is not None:
            focus = self.snapshot.vector_set("sentences").scores(self.focus, rows).tolist()  # type: ignore[union-attr]
        out: list[ScoredSentence] = []
        for j, sim, aside in zip(range(lo, hi), sims, focus, strict=True):
            _, start, end = (int(x) for x in self.snapshot.sentence_spans[j])
            text = tidy(passage.text[start - passage.char_start : end - passage.char_start])
            # « Ils ont assisté à … » is matched with the sentence before it, which says who they are.
            context = out[-1].text if out and points_back(text) else ""
            plain, rare = coverage(f"{context} {text}" if context else text)
            out.append(ScoredSentence(start, end, text, float(sim), plain, rare, aside, context))
        return tuple(out)

    def __call__(self, candidates: np.ndarray) -> np.ndarray:
        """One gather and one matrix product for all the candidates' sentences, then a max per passage."""
        first = self.snapshot.sentence_first[candidates]
        last = self.snapshot.sentence_last[candidates]
        counts = last - first
        out = np.zeros(len(candidates), dtype=np.float64)
        has = counts > 0
        if not has.any():
            return out
        rows = np.concatenate([np.arange(a, b) for a, b in zip(first[has], last[has], strict=True)]).astype(np.int64)
        sims = self._similarities(rows)
        starts = np.concatenate([[0], np.cumsum(counts[has])[:-1]])
        best = np.maximum.reduceat(sims, starts)
        winners = [int(np.argmax(sims[s : s + n])) for s, n in zip(starts, counts[has], strict=True)]
        for cand, value, offset, lo, start, n in zip(
            candidates[has], best, winners, first[has], starts, counts[has], strict=True
        ):
            self.raw[int(cand)] = float(value)
            self.best[int(cand)] = int(lo) + offset
            self._sims[int(cand)] = sims[start : start + n]
        out[has] = best
        return out


class Recorded:
    """A scorer that remembers each candidate's raw score (what abstention reads)."""

    def __init__(self, scorer: Callable[[np.ndarray], np.ndarray]) -> None:
        self.scorer = scorer
        self.raw: dict[int, float] = {}

    def __call__(self, candidates: np.ndarray) -> np.ndarray:
        scores = self.scorer(candidates)
        self.raw.update(zip(candidates.tolist(), np.asarray(scores, dtype=np.float64).tolist(), strict=True))
        return scores
