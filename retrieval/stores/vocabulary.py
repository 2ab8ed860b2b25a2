"""The expansion vocabulary a version keeps: the corpus's words, searchable by meaning.

It serves cross-lingual query expansion: the words of an English question, mapped to the corpus's words.

At index time every distinct content word of the articles is embedded with the
multilingual encoder. At query time each content word of the question is embedded too
and its nearest article words (cosine ≥ a threshold) join the lexical query, weighted
by that similarity: "treaty" finds "traité", "toast" finds "trinqué". It needs no
dictionary and works for any language pair the encoder covers; for a French question
it adds close variants (plural, synonyms) the stemmer would miss.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..corpus.analysis import Analyzer
from ..types import Embedder

if TYPE_CHECKING:
    from ..options import ExpansionSettings


class TermExpander:
    """The article vocabulary in the multilingual space, searchable by word."""

    def __init__(self, vocabulary: list[str], index: object) -> None:
        from .local import FaissVectorSet

        self.vocabulary = vocabulary
        self.index = index  # faiss.IndexFlatIP over L2-normalised word vectors: the file format
        self.words = FaissVectorSet("vocabulary", index)  # read through the vector-set interface

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        analyzer: Analyzer,
        encoder: Embedder,
        *,
        max_vocabulary: int,
        previous: TermExpander | None = None,
    ) -> TermExpander:
        """Embed the most frequent content words of ``texts``; words ``previous`` knows keep their vectors."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(analyzer.content_words(text))
        return cls.from_counts(counts, encoder, max_vocabulary=max_vocabulary, previous=previous)

    @classmethod
    def from_counts(
        cls,
        counts: Counter[str],
        encoder: Embedder,
        *,
        max_vocabulary: int,
        previous: TermExpander | None = None,
    ) -> TermExpander:
        """:meth:`build` from the content words already counted (a streaming build counts them batch by batch)."""
        import faiss

        vocabulary = sorted(w for w, _ in counts.most_common(max_vocabulary))
        known = {w: i for i, w in enumerate(previous.vocabulary)} if previous else {}
        dim = previous.words.dim if previous is not None else encoder.dim
        vectors = np.zeros((len(vocabulary), dim), dtype=np.float32)
        old = [(i, known[w]) for i, w in enumerate(vocabulary) if w in known]
        if old and previous is not None:
            rows, old_rows = zip(*old, strict=True)
            vectors[list(rows)] = previous.words.vectors(np.asarray(old_rows, dtype=np.int64))
        new = [i for i, w in enumerate(vocabulary) if w not in known]
        if new:
            vectors[new] = encoder.encode([vocabulary[i] for i in new])
        index = faiss.IndexFlatIP(int(vectors.shape[1]))
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(vocabulary, index)

    def save(self, folder: Path) -> None:
        import faiss

        (folder / "xling_vocab.json").write_text(json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8")
        faiss.write_index(self.index, str(folder / "xling_vocab.faiss"))

    @classmethod
    def load(cls, folder: Path) -> TermExpander:
        import faiss

        vocabulary = json.loads((folder / "xling_vocab.json").read_text(encoding="utf-8"))
        return cls(vocabulary, faiss.read_index(str(folder / "xling_vocab.faiss")))

    def neighbours(
        self, query_words: Sequence[str], vectors: np.ndarray, settings: ExpansionSettings
    ) -> dict[str, list[tuple[str, float]]]:
        """For each query word (with its multilingual vector), its nearest article words and their cosine."""
        if not query_words or not self.vocabulary or settings.top_n <= 0:
            return {}
        table = self.words.table()
        if table is None:  # not a flat index: read every word's vector back
            table = self.words.vectors(np.arange(len(self.words)))
        scores = np.ascontiguousarray(vectors, dtype=np.float32) @ table.T  # one BLAS call for all words
        k = min(settings.top_n, len(self.vocabulary))
        ids = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        sims = np.take_along_axis(scores, ids, axis=1)
        out: dict[str, list[tuple[str, float]]] = {}
        for word, row_sims, row_ids in zip(query_words, sims, ids, strict=True):
            out[word] = [
                (self.vocabulary[i], float(s))
                for s, i in zip(row_sims, row_ids, strict=True)
                if i >= 0 and s >= settings.min_similarity
            ]
        return out
