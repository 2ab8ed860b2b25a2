"""What search and the indexer need from a store, as small Protocols; backends implement them.

A store keeps one *version* of the index current at a time. A version offers:

- vector sets by name (``"embedding"``, ``"multilingual"`` per passage, ``"sentences"`` per
  sentence): :class:`VectorSet`;
- a lexical index over the passages' text: :class:`LexicalIndex`;
- the passages and articles by row, the sentences of each passage, and its manifest
  (:class:`StoreVersion`).

Rows are positions in the version (passage row ``i`` is the ``i``-th passage of the
version, sentence rows follow passage order), whatever key a backend stores them under.

A backend (:class:`StoreBackend`) opens the current version, writes a new one from a
:class:`~retrieval.stores.build.Build` (applying adds and removes to what the previous
version holds), publishes it so readers move to it at their next question, and cleans up
what an interrupted write left. Fusion, sentence rescoring and abstention stay in
``retrieval.search.hybrid``: every backend answers the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from ..options import ExpansionSettings
    from ..types import ArticleInfo, ArticleSummary, Passage
    from .manifest import Manifest


@dataclass(frozen=True)
class SearchBreadth:
    """How hard an approximate vector index looks (ignored by exact ones)."""

    hnsw_ef_search: int = 400
    ivf_nprobe: int = 64


@runtime_checkable
class VectorSet(Protocol):
    """Unit vectors, one per row; inner product is the cosine."""

    name: str
    dim: int
    #: True when :meth:`top` is meant to be called (an index that only stores vectors for rescoring is not)
    searchable: bool

    def __len__(self) -> int: ...

    def top(self, query: np.ndarray, k: int, breadth: SearchBreadth) -> np.ndarray:
        """Rows of the (at most) ``k`` vectors closest to ``query`` (shape (1, dim)), best first."""

    def scores(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact inner products of ``query`` with the vectors at ``rows``, in that order."""

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors at ``rows`` (float32, shape (len(rows), dim)): for reuse and rescoring."""


@dataclass(frozen=True)
class LexicalQuery:
    """The question as typed (weight 1) and its cross-lingual neighbours (weighted by similarity)."""

    text: str
    expansions: Mapping[str, Sequence[tuple[str, float]]] = field(default_factory=dict)


class LexicalScores(Protocol):
    """One query's lexical scores (BM25), asked for in two ways."""

    def top(self, k: int) -> np.ndarray:
        """Rows of (at most) ``k`` passages, best first (a backend may leave out passages that match no term)."""

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """Scores of the passages at ``rows`` (0 where no term matches)."""


class LexicalIndex(Protocol):
    def query(self, query: LexicalQuery) -> LexicalScores: ...

    def document_frequency(self, term: str) -> int | None:
        """How many passages hold the analysed ``term``; None when the backend does not say
        (abstention then weighs every word alike and counts none as unseen)."""

    def spelt_like(self, term: str) -> bool | None:
        """Whether a passage holds a term spelt like the analysed ``term`` (a typo away: "strutthof"
        for "struthof"); None when the backend cannot tell (then no name counts as unseen)."""


class Expander(Protocol):
    """The collection's words in the multilingual space (cross-lingual query expansion)."""

    vocabulary: list[str]

    def neighbours(
        self, query_words: Sequence[str], vectors: np.ndarray, settings: ExpansionSettings
    ) -> dict[str, list[tuple[str, float]]]:
        """For each query word (with its vector), its nearest collection words and their cosine."""


class StoreVersion(Protocol):
    """One published version of the index, as search and the indexer read it."""

    version: str
    manifest: Manifest
    #: whether its searches are round trips to a server (a question's independent searches then run
    #: at once) rather than calls in this process
    remote: bool
    expander: Expander | None
    lexical: LexicalIndex | None
    #: (passage_row, char_start, char_end) per sentence row, and each passage's sentence rows
    #: ``sentence_first[p]`` to ``sentence_last[p]`` (exclusive)
    sentence_spans: np.ndarray
    sentence_first: np.ndarray
    sentence_last: np.ndarray

    @property
    def size(self) -> int: ...

    def vector_set(self, name: str) -> VectorSet | None: ...

    def check_encoder(self, role: str, model: str | None, dim: int | None = None) -> None: ...

    def passages(self, rows: Sequence[int]) -> list[tuple[Passage, ArticleInfo]]: ...

    def articles(self) -> list[ArticleSummary]: ...

    def article_rows(self, article_id: str) -> list[int]: ...

    def sentence_rows(self, passage_rows: Sequence[int]) -> list[int]: ...

    def article_body(self, article_id: str) -> str | None: ...

    def rows_of(self, article_ids: Collection[str]) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows, sentence rows) of these articles, ascending (what a build keeps)."""

    def passage_texts(self, rows: np.ndarray) -> list[str]:
        """The text of the passages at ``rows`` (ascending), in that order."""

    def disk_bytes(self) -> int: ...

    def close(self) -> None: ...


def sentence_rows(first: np.ndarray, last: np.ndarray, passage_rows: Sequence[int]) -> list[int]:
    """Sentence rows of these passages, in reading order: a version's sentences are stored passage by
    passage, those of passage ``p`` at rows ``first[p]`` to ``last[p]`` (exclusive)."""
    out: list[int] = []
    for row in passage_rows:
        out.extend(range(int(first[row]), int(last[row])))
    return out
