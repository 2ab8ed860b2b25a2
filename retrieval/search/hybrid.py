"""Hybrid search over a loaded snapshot: lexical (with cross-lingual expansion) + dense signals.

Each signal proposes its best ``candidates`` passages; every candidate is then scored
exactly by every signal, each signal's scores are min-max normalised over the
candidates and summed with the weights from settings. Min-max on a shared candidate
set keeps a strong signal from being drowned by a flat one, and needs no training.

Signals (defaults: multilingual-e5-small alone plays the multilingual role):
    bm25          typed terms (weight 1) + multilingual neighbours of the question's words, when on
    multilingual  cosine of the question and the passage (read with its article title)
    sentences     best cosine of the question and one sentence of the passage
    embedding     cosine with a second passage encoder, when one is configured

Each hit also carries what abstention reads: the raw passage and sentence cosines, the
question words' coverage weighted by rarity, and the share of words the collection never uses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from ..corpus.analysis import Analyzer
from ..corpus.articles import normalize_text
from ..encoders.embedding import encode_queries
from ..errors import BadQuestion
from ..options import SearchSettings
from ..stores.base import LexicalQuery, SearchBreadth, StoreVersion, VectorSet
from ..types import ArticleInfo, Encoders, Hit, Passage, ScoredSentence

MAX_QUESTION_CHARS = 2000
T = TypeVar("T")


# Terminal escape sequences (CSI such as the colour code ``ESC[31m``, OSC titles, two-character
# escapes) go whole; any other control character (C0, DEL, C1) is a space; bidirectional
# controls, which only reorder what is displayed, go. A question of nothing else is empty.
_ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -~]?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_question(question: str, *, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """The question on one line, without control characters; :class:`BadQuestion` if empty or too long."""
    text = _BIDI.sub("", _CONTROLS.sub(" ", _ESCAPES.sub("", question)))
    text = " ".join(normalize_text(text).split())
    if not text:
        raise BadQuestion("the question is empty")
    if len(text) > max_chars:
        raise BadQuestion(f"the question is too long ({len(text)} characters; the limit is {max_chars})")
    return text


class Searcher:
    """``search(question, k)`` over one store version with the encoders that built it."""

    def __init__(self, snapshot: StoreVersion, encoders: Encoders, settings: SearchSettings | None = None) -> None:
        snapshot.check_encoder("embedding", encoders.embedding.name if encoders.embedding else None)
        snapshot.check_encoder("multilingual", encoders.multilingual.name if encoders.multilingual else None)
        self.snapshot = snapshot
        self.encoders = encoders
        self.settings = settings or SearchSettings()
        self.analyzer = Analyzer(snapshot.manifest.analyzer.get("language", "french"))
        self._checked: set[str] = set()
        self._breadth = SearchBreadth(self.settings.hnsw_ef_search, self.settings.ivf_nprobe)

    def search(self, question: str, k: int = 5) -> list[Hit]:
        text = clean_question(question)
        snap = self.snapshot
        n = snap.size
        if n == 0:
            return []
        pool = min(self.settings.candidates, n)
        w = self.settings.weights
        proposals: list[Callable[[], np.ndarray]] = []  # each signal's best passages, asked for at once
        exact: dict[str, tuple[float, object]] = {}  # signal -> (weight, scorer(candidates) -> scores)

        evidence = None
        passage_cosine = None
        ml = self.encoders.multilingual
        expansions: dict[str, list[tuple[str, float]]] = {}
        if ml is not None:
            # One encoder call for the question and its words (the words drive query expansion).
            expanding = snap.expander is not None and bool(snap.expander.vocabulary)
            words = self.analyzer.content_words(text) if expanding else []
            vectors = self._encode(ml, "multilingual", [text, *words])
            q_ml = vectors[:1]
            if words:
                expansions = snap.expander.neighbours(words, vectors[1:], self.settings.expansion)
            multilingual = snap.vector_set("multilingual")
            proposals.append(lambda q=q_ml: multilingual.top(q, pool, self._breadth))  # type: ignore[union-attr]
            passage_cosine = _Recorded(lambda c, q=q_ml: multilingual.scores(q, c))  # type: ignore[union-attr]
            exact["multilingual"] = (w.multilingual, passage_cosine)
            sentences = snap.vector_set("sentences")
            if sentences is not None and len(snap.sentence_spans):
                if sentences.searchable:
                    proposals.append(lambda q=q_ml, s=sentences: self._sentence_proposal(s, q, pool))
                evidence = _SentenceScorer(snap, q_ml)
                exact["sentences"] = (w.sentences, evidence)
        if self.encoders.embedding is not None:
            q_st = self._encode(self.encoders.embedding, "embedding", [text])
            embedding = snap.vector_set("embedding")
            proposals.append(lambda q=q_st: embedding.top(q, pool, self._breadth))  # type: ignore[union-attr]
            exact["embedding"] = (w.embedding, lambda c, q=q_st: embedding.scores(q, c))  # type: ignore[union-attr]
        if snap.lexical is not None:
            bm25 = snap.lexical.query(LexicalQuery(text, expansions))
            proposals.append(lambda b=bm25: b.top(pool))
            exact["bm25"] = (w.bm25, bm25.scores)

        proposed = _together(proposals)
        candidates = np.unique(np.concatenate(proposed)) if proposed else np.arange(min(n, pool))
        # The sentence and passage cosines also feed the abstention decision: computed at weight 0 too.
        scoring = {name: ws for name, ws in exact.items() if ws[0] > 0 or name in ("sentences", "multilingual")}
        scored = _together([lambda s=scorer: s(candidates) for _, scorer in scoring.values()])  # type: ignore[operator]
        fused = np.zeros(len(candidates), dtype=np.float64)
        for (weight, _), scores in zip(scoring.values(), scored, strict=True):
            fused += weight * _minmax(np.asarray(scores, dtype=np.float64))
        ranked = np.argsort(-fused, kind="stable")
        order, found, passage_terms = self._diverse(ranked, candidates, k)
        rows = [int(candidates[i]) for i in order]
        best_sentence = evidence.best if evidence is not None else {}
        word_terms = self._word_terms(text, expansions)
        rarity, unseen = self._rarity(text)
        hits = []
        for rank, (i, row, (passage, article), present) in enumerate(
            zip(order, rows, found, passage_terms, strict=True), start=1
        ):
            sentence = best_sentence.get(row)
            hits.append(
                Hit(
                    rank=rank,
                    score=float(fused[i]),
                    passage=passage,
                    article=article,
                    evidence=evidence.raw.get(row) if evidence is not None else None,
                    sentence=tuple(int(x) for x in snap.sentence_spans[sentence, 1:]) if sentence is not None else None,
                    coverage=_coverage(word_terms, present),
                    sentences=evidence.sentences(row, passage, word_terms, self._text_coverage) if evidence else (),
                    similarity=passage_cosine.raw.get(row) if passage_cosine is not None else None,
                    rare_coverage=_rare_coverage(rarity, present),
                    unseen=unseen,
                )
            )
        return hits

    def _sentence_proposal(self, sentences: VectorSet, query: np.ndarray, pool: int) -> np.ndarray:
        """The passages of the sentences closest to the question (three sentences per passage wanted)."""
        rows = sentences.top(query, min(pool * 3, len(sentences)), self._breadth)
        return np.unique(self.snapshot.sentence_spans[rows, 0])

    def _diverse(
        self, ranked: np.ndarray, candidates: np.ndarray, k: int
    ) -> tuple[list[int], list[tuple[Passage, ArticleInfo]], list[set[str]]]:
        """The best ``k`` candidates, skipping any that repeats a better one nearly word for word
        (the same wire copy in two articles), so the top k are k different pieces of evidence.
        Also returns each kept passage's index terms, which word coverage reuses."""
        chosen: list[int] = []
        kept: list[tuple[Passage, ArticleInfo]] = []
        seen_terms: list[set[str]] = []
        step = max(3 * k, k + 10)
        for offset in range(0, len(ranked), step):  # more candidates only while duplicates crowd the top
            pool = [int(i) for i in ranked[offset : offset + step]]
            for i, found in zip(pool, self.snapshot.passages([int(candidates[i]) for i in pool]), strict=True):
                terms = set(self.analyzer.terms(found[0].text))
                if any(_jaccard(terms, other) >= self.settings.duplicate_jaccard for other in seen_terms):
                    continue
                chosen.append(i)
                kept.append(found)
                seen_terms.append(terms)
                if len(chosen) == k:
                    return chosen, kept, seen_terms
        return chosen, kept, seen_terms

    def _word_terms(self, text: str, expansions: dict[str, list[tuple[str, float]]]) -> list[dict[str, float]]:
        """For each content word of the question: the index terms that would match it, with their weight."""
        out = []
        for word in self.analyzer.content_words(text):
            terms = dict.fromkeys(self.analyzer.terms(word), 1.0)
            for neighbour, similarity in expansions.get(word, []):
                for term in self.analyzer.terms(neighbour):
                    terms[term] = max(terms.get(term, 0.0), similarity)
            out.append(terms)
        return out

    def _rarity(self, text: str) -> tuple[list[tuple[set[str], float]], float]:
        """Each typed content word's terms with its IDF in the collection, and the share of words
        found nowhere in it. No lexical index: no words; a backend that does not know document
        frequencies: every word weighs 1 and none is unseen."""
        lexical = self.snapshot.lexical
        if lexical is None:
            return [], 0.0
        n = self.snapshot.size
        out, missing = [], 0
        for word in self.analyzer.content_words(text):
            terms = set(self.analyzer.terms(word))
            if not terms:
                continue
            counts = [lexical.document_frequency(t) for t in terms]
            if any(c is None for c in counts):
                out.append((terms, 1.0))
                continue
            df = max(c for c in counts if c is not None)
            missing += df == 0
            out.append((terms, math.log(1 + (n - df + 0.5) / (df + 0.5))))
        return out, (missing / len(out) if out else 0.0)

    def _text_coverage(self, word_terms: list[dict[str, float]], text: str) -> float:
        return _coverage(word_terms, set(self.analyzer.terms(text)))

    def _encode(self, encoder: object, role: str, texts: list[str]) -> np.ndarray:
        vector = encode_queries(encoder, texts)  # type: ignore[arg-type]
        if role not in self._checked:
            self.snapshot.check_encoder(role, encoder.name, int(vector.shape[1]))  # type: ignore[attr-defined]
            self._checked.add(role)
        return np.ascontiguousarray(vector, dtype=np.float32)


class _SentenceScorer:
    """Best sentence cosine per candidate passage, remembering which sentence won."""

    def __init__(self, snapshot: StoreVersion, query: np.ndarray) -> None:
        self.snapshot = snapshot
        self.query = query
        self.raw: dict[int, float] = {}
        self.best: dict[int, int] = {}
        self._sims: dict[int, np.ndarray] = {}  # passage row -> its sentences' cosines, from __call__

    def _similarities(self, rows: np.ndarray) -> np.ndarray:
        return self.snapshot.vector_set("sentences").scores(self.query, rows)  # type: ignore[union-attr]

    def sentences(
        self,
        row: int,
        passage: Passage,
        word_terms: list[dict[str, float]],
        coverage: Callable[[list[dict[str, float]], str], float],
    ) -> tuple[ScoredSentence, ...]:
        """Every sentence of passage ``row``, with its cosine and word coverage."""
        lo, hi = int(self.snapshot.sentence_first[row]), int(self.snapshot.sentence_last[row])
        if hi <= lo:
            return ()
        sims = self._sims.get(row)
        if sims is None:
            sims = self._similarities(np.arange(lo, hi, dtype=np.int64))
        out = []
        for j, sim in zip(range(lo, hi), sims, strict=True):
            _, start, end = (int(x) for x in self.snapshot.sentence_spans[j])
            text = passage.text[start - passage.char_start : end - passage.char_start]
            out.append(ScoredSentence(start, end, text, float(sim), coverage(word_terms, text)))
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


class _Recorded:
    """A scorer that remembers each candidate's raw score (what abstention reads)."""

    def __init__(self, scorer: Callable[[np.ndarray], np.ndarray]) -> None:
        self.scorer = scorer
        self.raw: dict[int, float] = {}

    def __call__(self, candidates: np.ndarray) -> np.ndarray:
        scores = self.scorer(candidates)
        self.raw.update(zip(candidates.tolist(), np.asarray(scores, dtype=np.float64).tolist(), strict=True))
        return scores


def _together(calls: list[Callable[[], T]]) -> list[T]:
    """``[call() for call in calls]``, the calls running at once: independent questions to the store,
    whose round trips to a server then overlap (a store's calls are safe from several threads)."""
    if len(calls) < 2:
        return [call() for call in calls]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="ragbot-search") as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]


def _rare_coverage(rarity: list[tuple[set[str], float]], present: set[str]) -> float:
    """IDF-weighted share of the question's typed words found among ``present`` terms."""
    total = sum(idf for _, idf in rarity)
    if total <= 0:
        return 0.0
    return sum(idf for terms, idf in rarity if terms & present) / total


def _coverage(word_terms: list[dict[str, float]], present: set[str]) -> float:
    """Share of the question's words found among ``present`` terms (a neighbour counts by its similarity)."""
    if not word_terms:
        return 0.0
    found = sum(max((w for t, w in terms.items() if t in present), default=0.0) for terms in word_terms)
    return found / len(word_terms)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _minmax(values: np.ndarray) -> np.ndarray:
    if len(values) == 0:
        return values
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12:
        return np.zeros_like(values)
    return (values - lo) / (hi - lo)
