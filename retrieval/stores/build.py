"""What the indexer hands a store backend: the new version's rows and only the vectors it computed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .bm25 import lexical_texts

if TYPE_CHECKING:
    from ..types import Article, Passage
    from .base import Expander, StoreVersion


@dataclass(frozen=True)
class VectorColumn:
    """One vector set of the new version: each row is reused from the previous version or fresh."""

    dim: int
    #: per row of the new version: the previous version's row holding its vector, or None (fresh)
    sources: Sequence[int | None]
    #: the vectors of the fresh rows, in row order (shape (fresh rows, dim))
    fresh: np.ndarray

    def fresh_rows(self) -> list[int]:
        return [i for i, s in enumerate(self.sources) if s is None]

    def assemble(self, name: str, previous: StoreVersion | None) -> np.ndarray:
        """Every row's vector: reused ones read back from ``previous``, fresh ones as computed
        (when every row is fresh, the computed array itself: a full build holds its vectors once)."""
        if len(self.fresh) == len(self.sources) and all(s is None for s in self.sources):
            return np.ascontiguousarray(self.fresh, dtype=np.float32)
        out = np.zeros((len(self.sources), self.dim), dtype=np.float32)
        copy_reused(out, name, [(i, s) for i, s in enumerate(self.sources) if s is not None], previous)
        fresh = self.fresh_rows()
        if fresh:
            out[fresh] = self.fresh
        return out


@dataclass(frozen=True)
class Kept:
    """What the new version keeps of the previous one as it is: the rows of the articles that did
    not change, in their previous order, ahead of the build's own rows.

    Row ``i`` of the new version is the previous version's passage row ``passages[i]`` for
    ``i < len(passages)``, then the build's passage ``i - len(passages)``; sentences likewise.
    """

    passages: np.ndarray  # previous passage rows, ascending (int64)
    sentences: np.ndarray  # previous sentence rows, ascending: exactly those of ``passages``
    #: article id -> its entry in the new manifest (sha256, path, passages, and the file's stat)
    articles: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Build:
    """The new version, as planned by the indexer.

    With ``kept``, the new version is ``kept``'s rows of the previous version followed by
    ``passages`` (and ``sentences``, whose passage rows count from the first of ``passages``);
    without it, ``passages`` are all its rows.
    """

    articles: Sequence[Article]
    passages: Sequence[Passage]
    sentences: Sequence[tuple[int, int, int]]  # (passage row, char_start, char_end) in the article body
    vectors: Mapping[str, VectorColumn]  # "embedding" | "multilingual" (per passage) | "sentences"
    encoders: dict[str, dict[str, Any]]
    analyzer: dict[str, Any]
    chunking: dict[str, Any]
    expander: Expander | None
    #: articles whose rows are all fresh (added or changed), and articles gone since the previous version
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    index_kind: str = "auto"
    threshold: int = 50_000
    index_settings: Mapping[str, Any] = field(default_factory=dict)
    #: time.perf_counter() when the build started (the manifest records the build's duration)
    started: float = 0.0
    kept: Kept | None = None
    #: manifest entries' extra fields of the build's own articles, by id: the file's stat, the body fingerprint
    file_stats: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Passages of the new version."""
        return len(self.passages) + (len(self.kept.passages) if self.kept is not None else 0)

    @property
    def sentence_count(self) -> int:
        return len(self.sentences) + (len(self.kept.sentences) if self.kept is not None else 0)

    def lexical_texts(self) -> list[str]:
        """What BM25 reads of each of the build's own passages: its article's title and its text."""
        return lexical_texts(self.articles, self.passages)

    def kept_vectors(self, name: str, previous: StoreVersion | None) -> np.ndarray:
        """The vectors of set ``name`` at the kept rows, read back from ``previous``."""
        column = self.vectors[name]
        rows = self.kept_rows(name)
        out = np.zeros((len(rows), column.dim), dtype=np.float32)
        if len(rows):
            vectors = previous.vector_set(name) if previous is not None else None
            if vectors is None:
                raise ValueError(f"{name}: rows to keep but no previous vectors")
            out[:] = vectors.vectors(rows)
        return out

    def kept_rows(self, name: str) -> np.ndarray:
        if self.kept is None:
            return np.zeros(0, dtype=np.int64)
        return self.kept.sentences if name == "sentences" else self.kept.passages


def copy_reused(out: np.ndarray, name: str, reused: Sequence[tuple[int, int]], previous: StoreVersion | None) -> None:
    """Fill ``out[i]`` with the previous version's vector ``s`` of set ``name`` for each (i, s)."""
    if not reused:
        return
    vectors = previous.vector_set(name) if previous is not None else None
    if vectors is None:
        raise ValueError(f"{name}: rows to reuse but no previous vectors")
    rows, old = zip(*reused, strict=True)
    out[list(rows)] = vectors.vectors(np.asarray(old, dtype=np.int64))
