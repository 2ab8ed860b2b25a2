"""A FAISS snapshot's vector sets as immutable segments plus tombstones.

A vector set is stored as one or more segment files, ``dense.<set>.faiss`` then
``dense.<set>.<k>.faiss`` (k = 1, 2, ...), their rows end to end: the *physical* rows. An
addition writes its new rows as a new small segment of the same kind and training, and hard-links
the previous snapshot's segments into the new folder as they are; a removal writes no vector at
all: the physical rows it drops are listed as tombstones (``tombstones.passages.npy``,
``tombstones.sentences.npy``) and filtered at search time. So a version costs what changed, not
the collection. Past :data:`MAX_SEGMENTS` segments or :data:`MAX_DEAD_SHARE` dead rows, the next
write merges: one segment holding the live rows, no tombstone (a full rewrite, as before).

A version's rows (what search, the database and the sentence table count) are its live rows in
order; physical row ``physical[r]`` holds row ``r``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import IndexCorrupt
from .base import SearchBreadth
from .local import FaissVectorSet
from .manifest import DB_FILE, DENSE_PREFIX, REBUILD

#: segments per vector set before a write merges them
MAX_SEGMENTS = 8
#: share of dead (tombstoned) physical rows before a write merges them away
MAX_DEAD_SHARE = 0.3  # Lucene merges away deletes past about a third (deletesPctAllowed 33)
#: the dead physical rows of the passage sets and of the sentence set (int64, ascending)
TOMBSTONES = {"passages": "tombstones.passages.npy", "sentences": "tombstones.sentences.npy"}
_NUMBERED = re.compile(r"(?P<stem>.+?)(?:\.(?P<k>[1-9][0-9]{0,5}))?(?P<suffix>\.faiss|\.sqlite|\.npy|\.json)")


def segment_file(name: str, k: int) -> str:
    """Segment ``k`` of vector set ``name``."""
    return numbered(f"{DENSE_PREFIX}{name}", ".faiss", k)


def segment_files(files: Iterable[str], name: str) -> list[str]:
    """The segment files of vector set ``name`` among ``files``, in row order."""
    return numbered_files(files, f"{DENSE_PREFIX}{name}", ".faiss")


def database_file(k: int) -> str:
    """Database ``k``: the passages, sentences and articles a write added (0: the first)."""
    return numbered(DB_FILE.removesuffix(".sqlite"), ".sqlite", k)


def database_files(files: Iterable[str]) -> list[str]:
    return numbered_files(files, DB_FILE.removesuffix(".sqlite"), ".sqlite")


def numbered(stem: str, suffix: str, k: int) -> str:
    return f"{stem}{suffix}" if k == 0 else f"{stem}.{k}{suffix}"


def numbered_files(files: Iterable[str], stem: str, suffix: str) -> list[str]:
    """``stem + suffix``, then ``stem.1 + suffix``, ``stem.2 + suffix``, … among ``files``, in that
    order; :class:`IndexCorrupt` when a number is missing (a write never leaves a gap)."""
    found = sorted(
        (int(m["k"] or 0), f)
        for f in files
        if (m := _NUMBERED.fullmatch(f)) and m["stem"] == stem and m["suffix"] == suffix
    )
    if [k for k, _ in found] != list(range(len(found))):
        raise IndexCorrupt(f"its files {stem}.*{suffix} are not numbered 0, 1, 2, …; {REBUILD}")
    return [f for _, f in found]


def tombstone_set(name: str) -> str:
    """Which tombstones vector set ``name`` shares: the passages' or the sentences'."""
    return "sentences" if name == "sentences" else "passages"


def live_rows(total: int, dead: np.ndarray) -> np.ndarray | None:
    """The physical row of each live row, given ``total`` physical rows; None when none is dead."""
    if not len(dead):
        return None
    keep = np.ones(total, dtype=bool)
    keep[dead] = False
    return np.flatnonzero(keep).astype(np.int64)


def valid_tombstones(dead: np.ndarray, total: int) -> bool:
    """Ascending, distinct, within the physical rows."""
    return (
        dead.dtype == np.int64
        and dead.ndim == 1
        and (not len(dead) or (int(dead[0]) >= 0 and int(dead[-1]) < total and bool(np.all(np.diff(dead) > 0))))
    )


class SegmentedVectorSet:
    """A :class:`~retrieval.stores.base.VectorSet` over a vector set's segments and tombstones."""

    def __init__(self, name: str, indexes: Sequence[Any], dead: np.ndarray, *, searchable: bool = True) -> None:
        sizes = [int(ix.ntotal) for ix in indexes]
        self.name = name
        self.dim = int(indexes[0].d)
        self.searchable = searchable
        self.starts = np.cumsum([0, *sizes])[:-1].astype(np.int64)
        self.physical = live_rows(sum(sizes), dead)
        self.segments = [
            FaissVectorSet(
                name,
                ix,
                searchable=searchable,
                excluded=dead[(dead >= start) & (dead < start + size)] - start,
            )
            for ix, start, size in zip(indexes, self.starts, sizes, strict=True)
        ]
        self._size = sum(sizes) - len(dead)

    def __len__(self) -> int:
        return self._size

    def _physical(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        return rows if self.physical is None else self.physical[rows]

    def top(self, query: np.ndarray, k: int, breadth: SearchBreadth) -> np.ndarray:
        found = [seg.search(query, k, breadth) for seg in self.segments]
        scores = np.concatenate([s for s, _ in found])
        rows = np.concatenate([r + start for (_, r), start in zip(found, self.starts, strict=True)])
        best = rows[np.argsort(-scores, kind="stable")[:k]]
        return best if self.physical is None else np.searchsorted(self.physical, best)

    def scores(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self.vectors(rows) @ query[0]

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        physical = self._physical(rows)
        out = np.zeros((len(physical), self.dim), dtype=np.float32)
        where = np.searchsorted(self.starts, physical, side="right") - 1
        for j in np.unique(where):
            mask = where == j
            out[mask] = self.segments[j].vectors(physical[mask] - self.starts[j])
        return out

    def table(self) -> None:
        return None
