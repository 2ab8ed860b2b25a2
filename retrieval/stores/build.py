"""What the indexer hands a store backend: the new version's rows and only the vectors it computed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..types import Article, Passage
    from .base import StoreVersion
    from .vocabulary import TermExpander


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
        """Every row's vector: reused ones read back from ``previous``, fresh ones as computed."""
        out = np.zeros((len(self.sources), self.dim), dtype=np.float32)
        copy_reused(out, name, [(i, s) for i, s in enumerate(self.sources) if s is not None], previous)
        fresh = self.fresh_rows()
        if fresh:
            out[fresh] = self.fresh
        return out


@dataclass(frozen=True)
class Build:
    """The new version, as planned by the indexer."""

    articles: Sequence[Article]
    passages: Sequence[Passage]
    sentences: Sequence[tuple[int, int, int]]  # (passage row, char_start, char_end) in the article body
    vectors: Mapping[str, VectorColumn]  # "embedding" | "multilingual" (per passage) | "sentences"
    encoders: dict[str, dict[str, Any]]
    analyzer: dict[str, Any]
    chunking: dict[str, Any]
    expander: TermExpander | None
    #: articles whose rows are all fresh (added or changed), and articles gone since the previous version
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    index_kind: str = "auto"
    threshold: int = 50_000
    index_settings: Mapping[str, Any] = field(default_factory=dict)
    #: time.perf_counter() when the build started (the manifest records the build's duration)
    started: float = 0.0


def copy_reused(out: np.ndarray, name: str, reused: Sequence[tuple[int, int]], previous: StoreVersion | None) -> None:
    """Fill ``out[i]`` with the previous version's vector ``s`` of set ``name`` for each (i, s)."""
    if not reused:
        return
    vectors = previous.vector_set(name) if previous is not None else None
    if vectors is None:
        raise ValueError(f"{name}: rows to reuse but no previous vectors")
    rows, old = zip(*reused, strict=True)
    out[list(rows)] = vectors.vectors(np.asarray(old, dtype=np.int64))
