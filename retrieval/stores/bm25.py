"""BM25 over passages, stored as plain arrays (no pickle) and scored with weighted query terms.

bm25s computes the per-term, per-passage BM25 contributions at build time; a query's
score for a passage is then the weighted sum of its terms' contributions, which is
what lets cross-lingual expansions carry less weight than the words actually typed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..corpus.analysis import Analyzer

LEXICAL_FILES = ("bm25_data.npy", "bm25_indices.npy", "bm25_indptr.npy", "bm25_vocab.json")


class LexicalIndex:
    """Term → (passage rows, BM25 contribution) in compressed sparse columns."""

    def __init__(self, vocab: dict[str, int], data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, n_docs: int):
        self.vocab = vocab
        self.data = data
        self.indices = indices
        self.indptr = indptr
        self.n_docs = n_docs

    @classmethod
    def build(cls, documents: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75) -> LexicalIndex:
        import bm25s

        model = bm25s.BM25(k1=k1, b=b)
        # bm25s needs at least one term per document; an empty passage gets a placeholder.
        model.index([list(doc) or ["\x00"] for doc in documents], show_progress=False)
        scores = model.scores
        return cls(
            {str(term): int(i) for term, i in model.vocab_dict.items()},
            np.asarray(scores["data"], dtype=np.float32),
            np.asarray(scores["indices"], dtype=np.int32),
            np.asarray(scores["indptr"], dtype=np.int64),
            int(scores["num_docs"]),
        )

    def save(self, folder: Path) -> None:
        np.save(folder / "bm25_data.npy", self.data, allow_pickle=False)
        np.save(folder / "bm25_indices.npy", self.indices, allow_pickle=False)
        np.save(folder / "bm25_indptr.npy", self.indptr, allow_pickle=False)
        (folder / "bm25_vocab.json").write_text(
            json.dumps({"n_docs": self.n_docs, "vocab": self.vocab}, ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        meta = json.loads((folder / "bm25_vocab.json").read_text(encoding="utf-8"))
        return cls(
            meta["vocab"],
            np.load(folder / "bm25_data.npy", allow_pickle=False),
            np.load(folder / "bm25_indices.npy", allow_pickle=False),
            np.load(folder / "bm25_indptr.npy", allow_pickle=False),
            int(meta["n_docs"]),
        )

    def document_frequency(self, term: str) -> int:
        """How many passages hold ``term``."""
        col = self.vocab.get(term)
        return 0 if col is None else int(self.indptr[col + 1] - self.indptr[col])

    def scores(self, weighted_terms: Mapping[str, float]) -> np.ndarray:
        """BM25 score of every passage for terms weighted 0..1 (1 = typed by the user)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term, weight in weighted_terms.items():
            col = self.vocab.get(term)
            if col is None or weight <= 0:
                continue
            lo, hi = self.indptr[col], self.indptr[col + 1]
            out[self.indices[lo:hi]] += weight * self.data[lo:hi]  # rows are unique within a column
        return out


def weighted_query_terms(
    question: str,
    analyzer: Analyzer,
    expansions: dict[str, list[tuple[str, float]]],
) -> dict[str, float]:
    """Lexical query: typed terms weigh 1, expansion terms their similarity (never more than 1)."""
    weights: dict[str, float] = {}
    for term in analyzer.terms(question):
        weights[term] = 1.0
    for candidates in expansions.values():
        for word, similarity in candidates:
            for term in analyzer.terms(word):
                weights[term] = max(weights.get(term, 0.0), min(1.0, similarity))
    return weights
