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
from collections.abc import Callable, Set
from functools import lru_cache
from typing import TypeVar

import numpy as np

from ..corpus.analysis import TRUNCATION, Analyzer, detect_language, language_code, names_in, words
from ..corpus.translations import in_language, sure_translations
from ..encoders.embedding import encode_queries
from ..options import SearchSettings
from ..stores.base import LexicalQuery, SearchBreadth, StoreVersion, VectorSet
from ..types import ArticleInfo, Encoders, Hit, Passage
from .question import clean_question
from .sentences import Recorded, SentenceScorer

T = TypeVar("T")
# Texts whose index terms a searcher keeps: a passage's or a sentence's are analysed once, not at
# every question that finds it (the analysis was a third of a warm search on the seeds). A search
# reads about 130 texts; 4 096 held about 10 MB on PIAF, where 1 000 questions found 94% there.
ANALYSED_TEXTS = 4_096


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
        # A version's texts never change: their analyses are kept (bounded, safe across threads).
        self._terms = lru_cache(maxsize=ANALYSED_TEXTS)(self._analysed)
        self._cognates = lru_cache(maxsize=ANALYSED_TEXTS)(self._analysed_cognates)

    def _analysed(self, text: str) -> frozenset[str]:
        return frozenset(self.analyzer.terms(text))

    def _analysed_cognates(self, text: str) -> frozenset[str]:
        """What a question in another language matches in ``text``: its words' first letters, one
        fewer too ("pact", "pacte"), and its names' first eight ("vladivos")."""
        cut = self.analyzer.truncated_terms(text)
        return frozenset(cut) | {t[: TRUNCATION - 1] for t in cut} | frozenset(self.analyzer.name_terms(text))

    def search(self, question: str, k: int = 5, *, focus: str | None = None) -> list[Hit]:
        """The ``k`` best passages for ``question``. ``focus``: the question as typed, when ``question``
        is more (a follow-up searched with the one before it); its sentence cosines are kept too."""
        text = clean_question(question)
        focus = clean_question(focus) if focus and focus != question else None
        snap = self.snapshot
        n = snap.size
        if n == 0:
            return []
        pool = min(self.settings.candidates, n)
        w = self.settings.weights
        own = language_code(self.analyzer.language)
        cross = detect_language(text) != own
        if self.settings.cross_lingual_weights and cross:
            w = self.settings.cross_lingual_weights
        proposals: list[Callable[[], np.ndarray]] = []  # each signal's best passages, asked for at once
        exact: dict[str, tuple[float, object]] = {}  # signal -> (weight, scorer(candidates) -> scores)

        evidence = None
        passage_cosine = None
        # The encoders read the question with its sure translations in the articles' language ("What
        # happened on 18 juin?"): the words a multilingual model pairs weakly across languages.
        read = in_language(text, self.analyzer.language)
        ml = self.encoders.multilingual
        expansions: dict[str, list[tuple[str, float]]] = {}
        if ml is not None:
            # One encoder call for the question and its words (the words drive query expansion).
            expanding = snap.expander is not None and bool(snap.expander.vocabulary)
            words = self.analyzer.asked_words(text) if expanding else []
            asked = [in_language(focus, self.analyzer.language)] if focus else []
            vectors = self._encode(ml, "multilingual", [read, *asked, *words])
            q_ml, q_focus = vectors[:1], (vectors[1:2] if focus else None)
            if words:
                expansions = snap.expander.neighbours(words, vectors[1 + len(asked) :], self.settings.expansion)
            multilingual = snap.vector_set("multilingual")
            proposals.append(lambda q=q_ml: multilingual.top(q, pool, self._breadth))  # type: ignore[union-attr]
            passage_cosine = Recorded(lambda c, q=q_ml: multilingual.scores(q, c))  # type: ignore[union-attr]
            exact["multilingual"] = (w.multilingual, passage_cosine)
            sentences = snap.vector_set("sentences")
            if sentences is not None and len(snap.sentence_spans):
                if sentences.searchable:
                    proposals.append(lambda q=q_ml, s=sentences: self._sentence_proposal(s, q, pool))
                evidence = SentenceScorer(snap, q_ml, q_focus)
                exact["sentences"] = (w.sentences, evidence)
        # "NATO" is "OTAN" in French, "June" "juin": a sure translation, typed terms' weight.
        for word, other in sure_translations(text).items():
            expansions[word] = [*expansions.get(word, []), (other, 1.0)]
        if self.encoders.embedding is not None:
            q_st = self._encode(self.encoders.embedding, "embedding", [read])
            embedding = snap.vector_set("embedding")
            proposals.append(lambda q=q_st: embedding.top(q, pool, self._breadth))  # type: ignore[union-attr]
            exact["embedding"] = (w.embedding, lambda c, q=q_st: embedding.scores(q, c))  # type: ignore[union-attr]
        if snap.lexical is not None:
            bm25 = snap.lexical.query(LexicalQuery(text, expansions))
            proposals.append(lambda b=bm25: b.top(pool))
            exact["bm25"] = (w.bm25, bm25.scores)

        # A store written before StoreVersion.remote is read as a server's: its calls overlap, as they all did.
        overlap = getattr(snap, "remote", True)
        proposed = _together(proposals, overlap=overlap)
        candidates = np.unique(np.concatenate(proposed)) if proposed else np.arange(min(n, pool))
        # The sentence and passage cosines also feed the abstention decision: computed at weight 0 too.
        scoring = {name: ws for name, ws in exact.items() if ws[0] > 0 or name in ("sentences", "multilingual")}
        scored = _together(
            [lambda s=scorer: s(candidates) for _, scorer in scoring.values()],  # type: ignore[operator]
            overlap=overlap,
        )
        fused = np.zeros(len(candidates), dtype=np.float64)
        for (weight, _), scores in zip(scoring.values(), scored, strict=True):
            fused += weight * _minmax(np.asarray(scores, dtype=np.float64))
        ranked = np.argsort(-fused, kind="stable")
        order, found, passage_terms = self._diverse(ranked, candidates, k)
        rows = [int(candidates[i]) for i in order]
        best_sentence = evidence.best if evidence is not None else {}
        word_terms = self._word_terms(text, expansions)
        rarity, unseen = self._rarity(text)
        unseen_name = None if cross else self._unseen_name(text)

        # A sentence answers the question as asked: a follow-up's own words, not the previous question's.
        # Words in another language than the articles' match by their cognates (see Analyzer.truncated_terms).
        across = detect_language(focus) != own if focus else cross
        if across:
            # No document frequency is kept for a cognate: each weighs alike. A name's words keep more
            # letters (see NAME_TRUNCATION).
            named = {w for name in names_in(focus or text) for w in self.analyzer.content_words(name)}
            translated = sure_translations(focus or text)  # "NATO" matches "Otan" too, "June" "juin"
            asked_terms = []
            for w in self._matched_words(focus or text):
                other = dict.fromkeys(self.analyzer.truncated_terms(translated[w]), 1.0) if w in translated else {}
                for cut in self.analyzer.name_terms(w) if w in named else self.analyzer.truncated_terms(w):
                    asked_terms.append({cut: 1.0, **other})
            asked_rarity = [(set(terms), 1.0) for terms in asked_terms]
        elif focus:
            asked_terms, asked_rarity = self._word_terms(focus, expansions), self._rarity(focus)[0]
        else:
            asked_terms, asked_rarity = word_terms, rarity

        def coverage(sentence: str) -> tuple[float, float]:
            present = self._cognates(sentence) if across else self._terms(sentence)
            return _coverage(asked_terms, present), _rare_coverage(asked_rarity, present)

        hits = []
        for rank, (i, row, (passage, article), present) in enumerate(
            zip(order, rows, found, passage_terms, strict=True), start=1
        ):
            sentence = best_sentence.get(row)
            sentences = evidence.sentences(row, passage, coverage) if evidence else ()
            if sentences:
                # What the passage holds is what an answer could quote: a credit line ("Agence
                # France-Presse"), a byline or a dateline is searchable, but no evidence.
                present = set().union(*(self._terms(s.text) for s in sentences))
            hits.append(
                Hit(
                    rank=rank,
                    score=float(fused[i]),
                    passage=passage,
                    article=article,
                    evidence=evidence.raw.get(row) if evidence is not None else None,
                    sentence=tuple(int(x) for x in snap.sentence_spans[sentence, 1:]) if sentence is not None else None,
                    coverage=_coverage(word_terms, present),
                    sentences=sentences,
                    similarity=passage_cosine.raw.get(row) if passage_cosine is not None else None,
                    rare_coverage=_rare_coverage(rarity, present),
                    unseen=unseen,
                    unseen_name=unseen_name,
                )
            )
        return hits

    def _sentence_proposal(self, sentences: VectorSet, query: np.ndarray, pool: int) -> np.ndarray:
        """The passages of the sentences closest to the question (three sentences per passage wanted)."""
        rows = sentences.top(query, min(pool * 3, len(sentences)), self._breadth)
        return np.unique(self.snapshot.sentence_spans[rows, 0])

    def _diverse(
        self, ranked: np.ndarray, candidates: np.ndarray, k: int
    ) -> tuple[list[int], list[tuple[Passage, ArticleInfo]], list[frozenset[str]]]:
        """The best ``k`` candidates, skipping any that repeats a better one nearly word for word
        (the same wire copy in two articles), so the top k are k different pieces of evidence.
        Also returns each kept passage's index terms, which word coverage reuses."""
        chosen: list[int] = []
        kept: list[tuple[Passage, ArticleInfo]] = []
        seen_terms: list[frozenset[str]] = []
        step = max(3 * k, k + 10)
        for offset in range(0, len(ranked), step):  # more candidates only while duplicates crowd the top
            pool = [int(i) for i in ranked[offset : offset + step]]
            for i, found in zip(pool, self.snapshot.passages([int(candidates[i]) for i in pool]), strict=True):
                terms = self._terms(found[0].text)
                if any(_jaccard(terms, other) >= self.settings.duplicate_jaccard for other in seen_terms):
                    continue
                chosen.append(i)
                kept.append(found)
                seen_terms.append(terms)
                if len(chosen) == k:
                    return chosen, kept, seen_terms
        return chosen, kept, seen_terms

    def _matched_words(self, text: str) -> list[str]:
        """The question's words a passage or a sentence is matched on: its content words, and its
        numbers ("And in 2022?"), which say nothing of the question's rarity but where to look."""
        numbers = dict.fromkeys(w for w in words(text) if w.isdigit() and len(w) >= 2)
        return [*self.analyzer.asked_words(text), *numbers]

    def _word_terms(self, text: str, expansions: dict[str, list[tuple[str, float]]]) -> list[dict[str, float]]:
        """For each word the question is matched on (:meth:`_matched_words`): the index terms that would
        match it, with their weight."""
        out = []
        for word in self._matched_words(text):
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
        for word in self.analyzer.asked_words(text):
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

    def _unseen_name(self, text: str) -> str | None:
        """The first name of ``text`` none of whose terms a passage holds, nor a close spelling of
        one; None when every name is known, or the lexical backend cannot tell."""
        lexical = self.snapshot.lexical
        if lexical is None:
            return None
        for name in names_in(text):
            terms = self.analyzer.terms(name)
            if terms and all(lexical.spelt_like(t) is False for t in terms):
                return name
        return None

    def _encode(self, encoder: object, role: str, texts: list[str]) -> np.ndarray:
        vector = encode_queries(encoder, texts)  # type: ignore[arg-type]
        if role not in self._checked:
            self.snapshot.check_encoder(role, encoder.name, int(vector.shape[1]))  # type: ignore[attr-defined]
            self._checked.add(role)
        return np.ascontiguousarray(vector, dtype=np.float32)


def _together(calls: list[Callable[[], T]], *, overlap: bool) -> list[T]:
    """``[call() for call in calls]``; with ``overlap``, the calls running at once: independent
    questions to a store's server, whose round trips then overlap (a store's calls are safe from
    several threads). A store in this process answers each in well under a millisecond on the seeds:
    starting threads for them cost more than they saved (warm search p50 -2 to -4 ms without)."""
    if not overlap or len(calls) < 2:
        return [call() for call in calls]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="ragbot-search") as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]


def _rare_coverage(rarity: list[tuple[set[str], float]], present: Set[str]) -> float:
    """IDF-weighted share of the question's typed words found among ``present`` terms."""
    total = sum(idf for _, idf in rarity)
    if total <= 0:
        return 0.0
    return sum(idf for terms, idf in rarity if terms & present) / total


def _coverage(word_terms: list[dict[str, float]], present: Set[str]) -> float:
    """Share of the question's words found among ``present`` terms (a neighbour counts by its similarity)."""
    if not word_terms:
        return 0.0
    found = sum(max((w for t, w in terms.items() if t in present), default=0.0) for terms in word_terms)
    return found / len(word_terms)


def _jaccard(a: Set[str], b: Set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _minmax(values: np.ndarray) -> np.ndarray:
    if len(values) == 0:
        return values
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12:
        return np.zeros_like(values)
    return (values - lo) / (hi - lo)
