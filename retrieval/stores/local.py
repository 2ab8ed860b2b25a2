"""In-process vector sets and lexical index: FAISS indexes and the BM25 arrays of a snapshot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .base import LexicalQuery, SearchBreadth
from .spelling import Spellings

if TYPE_CHECKING:
    from ..corpus.analysis import Analyzer
    from .bm25 import LexicalIndex, SegmentedLexical


class FaissVectorSet:
    """A :class:`~retrieval.stores.base.VectorSet` over one FAISS index (flat, IVF, HNSW or SQ)."""

    def __init__(self, name: str, index: Any, *, searchable: bool = True, excluded: np.ndarray | None = None) -> None:
        """``excluded``: rows (ascending) that searches never return (a segment's tombstones)."""
        import faiss

        self.name = name
        self.index = index
        self.dim = int(index.d)
        self.searchable = searchable
        self.exact = isinstance(index, faiss.IndexFlat)
        self._table = _flat_table(index)
        self._excluded = excluded if excluded is not None and len(excluded) else None
        self._selector: Any = None
        if self._excluded is not None:
            keep = np.ones(len(self), dtype=bool)
            keep[self._excluded] = False
            self._bitmap = np.packbits(keep, bitorder="little")  # referenced by the selector: kept alive here
            self._selector = faiss.IDSelectorBitmap(len(self), faiss.swig_ptr(self._bitmap))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def table(self) -> np.ndarray | None:
        """The stored vectors as a numpy view, without copying (flat or HNSW storage), else None.

        For an exact index, a matrix-vector product over it (BLAS, all cores) is about twice as
        fast as FAISS's single-query search.
        """
        return self._table

    def top(self, query: np.ndarray, k: int, breadth: SearchBreadth) -> np.ndarray:
        return self.search(query, k, breadth)[1]

    def search(self, query: np.ndarray, k: int, breadth: SearchBreadth) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the (at most) ``k`` best rows, best first, never an excluded one."""
        import faiss

        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        table = self._table if self.exact else None
        if table is None:
            params = None
            if hasattr(self.index, "hnsw"):
                self.index.hnsw.efSearch = breadth.hnsw_ef_search
                if self._selector is not None:
                    params = faiss.SearchParametersHNSW(sel=self._selector, efSearch=breadth.hnsw_ef_search)
            elif hasattr(self.index, "nprobe"):
                self.index.nprobe = breadth.ivf_nprobe
                if self._selector is not None:
                    params = faiss.SearchParametersIVF(sel=self._selector, nprobe=breadth.ivf_nprobe)
            elif self._selector is not None:
                params = faiss.SearchParameters(sel=self._selector)
            query = np.ascontiguousarray(query, dtype=np.float32)
            scores, rows = self.index.search(query, k) if params is None else self.index.search(query, k, params=params)
            found = rows[0] >= 0
            return scores[0][found], rows[0][found]
        scores = table @ query[0]
        if self._excluded is not None:
            scores[self._excluded] = -np.inf
            k = min(k, len(scores) - len(self._excluded))
        if k >= len(scores):
            best = np.argsort(-scores)
        else:
            best = np.argpartition(-scores, k)[:k]
            best = best[np.argsort(-scores[best])]
        best = best[:k]
        return scores[best], best

    def scores(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self.vectors(rows) @ query[0]

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if self._table is not None:
            return self._table[rows]
        if not len(rows):
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.index.reconstruct_batch(rows)


def _flat_table(index: Any) -> np.ndarray | None:
    import faiss

    flat = faiss.downcast_index(index.storage) if hasattr(index, "storage") else index
    if not isinstance(flat, faiss.IndexFlat):
        return None
    return faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)


class _ArrayScores:
    def __init__(self, scores: np.ndarray) -> None:
        self._scores = scores

    def top(self, k: int) -> np.ndarray:
        return np.argsort(-self._scores)[:k]

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return self._scores[rows]


class AnalyzedLexical:
    """A :class:`~retrieval.stores.base.LexicalIndex` over the snapshot's BM25 arrays: the query's
    words go through the snapshot's analyzer, typed terms weigh 1 and expansions their similarity."""

    def __init__(self, index: LexicalIndex | SegmentedLexical, analyzer: Analyzer) -> None:
        self.index = index
        self.analyzer = analyzer
        self._spellings: Spellings | None = None  # built at the first unseen term asked about

    @property
    def n_docs(self) -> int:
        return self.index.n_docs

    def document_frequency(self, term: str) -> int:
        return self.index.document_frequency(term)

    def spelt_like(self, term: str) -> bool:
        if self.index.document_frequency(term) > 0:
            return True
        if self._spellings is None:
            self._spellings = Spellings(self.index.terms())
        return self._spellings.close(term)

    def query(self, query: LexicalQuery) -> _ArrayScores:
        from .bm25 import weighted_query_terms

        terms = weighted_query_terms(query.text, self.analyzer, dict(query.expansions))
        return _ArrayScores(self.index.scores(terms))
