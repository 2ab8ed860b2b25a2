"""The FAISS store's index recipe: which FAISS index a vector set gets, and when a version may keep
the previous one's indexes as they are and put its new rows in a small segment of the same kind.

- ``flat``: exact inner product over fp32 vectors; small collections.
- ``ivf-sq8``: inverted file (about 4·√n lists, k-means on a sample) over 8-bit scalar-quantised
  vectors; the ``auto`` choice at ``threshold`` passages and above. At 1M passages it measured
  recall@10 0.97 against exact search in ~2 ms (nprobe 64) where HNSW (M=32, efConstruction 80)
  stayed near 0.7 even at efSearch 2500, and it has no graph to keep in memory. Its sentence
  vectors go to a 6-bit store that is read back, not searched: the passage-level indexes propose
  the candidates, and searching every sentence would cost more than all the rest.
- ``hnsw`` / ``hnsw-sq8``: HNSW graph over fp32 vectors / 8-bit codes, on request.

Every kind keeps the vectors (or their codes), so candidates are rescored from ``reconstruct``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
#: k-means iterations training an inverted file's lists (FAISS's default: 10). Each one compares
#: every sample point with every list (at 1M passages 157k points by 3 935 lists, about 4 s on two
#: cores); at 1M, 5 iterations measured the same recall@10 at nprobe 128 as 10 (README).
KMEANS_ITERATIONS = 5


@dataclass(frozen=True)
class IndexChoice:
    """What decides a version's index kind: the setting (``auto`` or a kind), its threshold, and
    the number of passages of the version."""

    kind: str = "auto"  # "auto" | "flat" | "ivf-sq8" | "hnsw" | "hnsw-sq8"
    threshold: int = 50_000
    passages: int = 0

    def resolve(self, rows: int) -> str:
        """The kind of index a vector set of ``rows`` rows gets (``auto`` resolved)."""
        if rows == 0:  # an empty collection: nothing to train a quantiser or a graph on
            return "flat"
        if self.kind == "auto":
            return "ivf-sq8" if self.passages >= self.threshold else "flat"
        return self.kind


class TrainingRows(Protocol):
    """What training an index reads of a vector set: its size, some of its rows, and the least and
    greatest value of each dimension (all a scalar quantiser's ranges depend on)."""

    @property
    def shape(self) -> tuple[int, int]: ...

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The vectors at ``rows`` (ascending), in that order."""

    def extremes(self) -> np.ndarray:
        """Shape (2, dim): each dimension's least value, then its greatest."""


@dataclass(frozen=True)
class ArrayRows:
    """:class:`TrainingRows` over vectors held in memory."""

    vectors: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        rows, dim = self.vectors.shape
        return rows, dim

    def take(self, rows: np.ndarray) -> np.ndarray:
        return self.vectors[rows]

    def extremes(self) -> np.ndarray:
        return np.stack([self.vectors.min(axis=0), self.vectors.max(axis=0)])


def new_index(
    name: str, vectors: np.ndarray | TrainingRows, choice: IndexChoice, previous: Any = None
) -> tuple[Any, str]:
    """The FAISS index for vector set ``name`` (trained, empty) and its recorded type.

    ``vectors``: the set's vectors, or what training reads of them (a streaming build holds them on
    disk). ``previous``: the current version's index of that set; a compatible trained inverted file
    is reused (its k-means centroids and quantiser ranges), so an incremental build does not retrain.
    A scalar quantiser is trained on each dimension's least and greatest values: FAISS's ranges
    (min-max) are exactly those of all the rows.
    """
    import faiss

    source = ArrayRows(vectors) if isinstance(vectors, np.ndarray) else vectors
    rows, dim = source.shape
    kind = choice.resolve(rows)
    ip = faiss.METRIC_INNER_PRODUCT
    if kind == "flat":
        return faiss.IndexFlatIP(dim), "flat"
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, ip)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        return index, f"hnsw{HNSW_M}"
    if name == "sentences":
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_6bit, ip)
        index.train(source.extremes())
        return index, "sq6"
    if kind == "hnsw-sq8":
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, HNSW_M, ip)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.train(source.extremes())
        return index, f"hnsw{HNSW_M}-sq8"
    lists = ivf_lists(rows)
    if _similar_ivf(previous, dim, lists):
        # Same space, similar size: the old centroids still partition it well, and training
        # (k-means over ~40 points per list) is the slowest step of a large build.
        index = empty_like(previous)
    else:
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, lists, faiss.ScalarQuantizer.QT_8bit, ip)
        index.cp.niter = KMEANS_ITERATIONS
        # k-means needs ~40 points per list, not all of them: a fixed-seed sample keeps builds repeatable.
        sample = np.random.default_rng(0).choice(rows, min(rows, 40 * lists), replace=False)
        index.train(source.take(np.sort(sample)))
    index.set_direct_map_type(faiss.DirectMap.Array)  # reconstruct(row) for rescoring and reuse
    return index, f"ivf{index.nlist}-sq8"


def appendable(name: str, old: Any, old_type: str, rows: int, choice: IndexChoice) -> bool:
    """Whether a version of ``rows`` rows may keep ``old`` (recorded as ``old_type``) as it is and put
    its new rows in a segment of the same kind (:func:`empty_like`): a fresh index of the whole set
    would be of that kind, with similar training (``ragbot index --rebuild`` retrains)."""
    kind = choice.resolve(rows)
    if name != "sentences" and kind == "ivf-sq8":
        return _similar_ivf(old, old.d, ivf_lists(rows))
    if kind == "hnsw":
        return old_type == f"hnsw{HNSW_M}"
    if name == "sentences" and kind in ("ivf-sq8", "hnsw-sq8"):
        return old_type == "sq6"
    return old_type == ("flat" if kind == "flat" else f"hnsw{HNSW_M}-sq8")


def empty_like(index: Any) -> Any:
    """An empty index of the same kind and training as ``index`` (its coarse centroids, its scalar
    quantiser's ranges), without copying its rows: a new segment's codes are then the very codes
    the whole index would give them."""
    import faiss

    index = faiss.downcast_index(index)
    ip = faiss.METRIC_INNER_PRODUCT
    if isinstance(index, faiss.IndexIVFScalarQuantizer):
        quantizer = faiss.IndexFlatIP(index.d)
        quantizer.add(index.quantizer.reconstruct_n(0, index.nlist))
        out = faiss.IndexIVFScalarQuantizer(quantizer, index.d, index.nlist, index.sq.qtype, ip)
        out.sq.trained = index.sq.trained
        out.is_trained = True
        out.set_direct_map_type(faiss.DirectMap.Array)
        return out
    if isinstance(index, faiss.IndexHNSWSQ):
        storage = faiss.downcast_index(index.storage)
        out = faiss.IndexHNSWSQ(index.d, storage.sq.qtype, HNSW_M, ip)
        out.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        faiss.downcast_index(out.storage).sq.trained = storage.sq.trained
        faiss.downcast_index(out.storage).is_trained = True
        out.is_trained = True
        return out
    if isinstance(index, faiss.IndexHNSWFlat):
        out = faiss.IndexHNSWFlat(index.d, HNSW_M, ip)
        out.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        return out
    if isinstance(index, faiss.IndexScalarQuantizer):
        out = faiss.IndexScalarQuantizer(index.d, index.sq.qtype, ip)
        out.sq.trained = index.sq.trained
        out.is_trained = True
        return out
    return faiss.IndexFlatIP(index.d)


def ivf_lists(rows: int) -> int:
    """About 4·√rows inverted lists, with at least 39 training points each."""
    return max(1, min(int(4 * rows**0.5), rows // 39, 65_536))


def _similar_ivf(index: Any, dim: int, lists: int) -> bool:
    import faiss

    return isinstance(index, faiss.IndexIVFScalarQuantizer) and index.d == dim and lists / 2 <= index.nlist <= lists * 2
