"""The embedded store (the default): versioned snapshot folders in the data folder, FAISS inside.

Each build writes a new snapshot (an addition or a removal links the previous one's vector
segments, databases and BM25 segments and writes only its own rows, their term counts and
tombstones; a merge or a fresh build writes everything), fsyncs it and switches the ``CURRENT``
pointer atomically. The modules, one job each: :mod:`~retrieval.stores.snapshot_write` writes a
snapshot, :mod:`~retrieval.stores.faiss_index` chooses its FAISS indexes,
:mod:`~retrieval.stores.snapshot_db` writes its SQLite, :mod:`~retrieval.stores.segments` reads
segments and tombstones, :mod:`~retrieval.stores.seals` records the files already checked,
:mod:`~retrieval.stores.pointer` switches and prunes, :mod:`~retrieval.stores.snapshot` reads one.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..corpus.analysis import Analyzer
from .bm25 import LexicalIndex, TermCounts, analysed, lexical_text
from .pointer import SNAPSHOTS, current_version, prune_snapshots, remove_unfinished
from .snapshot import Snapshot, open_current
from .snapshot_stream import SnapshotStream
from .snapshot_write import DenseRows, LexicalRows, SnapshotContent, write_snapshot

if TYPE_CHECKING:
    from ..config import Settings
    from .base import StoreVersion
    from .build import Build

#: the current snapshot and the two before it, to roll back to
KEEP_SNAPSHOTS = 3


class FaissStore:
    """:class:`~retrieval.stores.backend.StoreBackend` over snapshot folders in ``folder``."""

    name = "faiss"

    def __init__(self, settings: Settings | None = None, *, folder: Path | None = None) -> None:
        if folder is None:
            if settings is None:
                raise TypeError("FaissStore needs settings or a folder")
            folder = settings.data_dir
        self.folder = Path(folder)

    def current_version(self) -> str | None:
        return current_version(self.folder)

    def open_current(self, *, verify: bool = True) -> Snapshot:
        return open_current(self.folder, verify=verify)

    def lease(self) -> AbstractContextManager[None]:
        # The data folder is the store: the index lock on it (retrieval/lock.py) is the one writer.
        return nullcontext()

    def write(self, build: Build, previous: StoreVersion | None) -> str:
        kept = build.kept
        base = previous if isinstance(previous, Snapshot) else None
        if kept is not None and base is None:
            raise ValueError("a build that keeps rows needs the snapshot it keeps them from")
        analyzer = Analyzer(build.analyzer.get("language", "french"))
        extras: list[Any] = []
        lexical = None
        if build.size:  # no passage, no lexical index (BM25 needs a document): the loader knows
            # each analyses the build's own passages when called: their terms are not held meanwhile
            lexical = LexicalRows(
                partial(_fresh_counts, build, analyzer), partial(_whole_lexical, build, base, analyzer)
            )
        if build.expander is not None:
            extras.append(build.expander)
        dense = {}
        for name, column in build.vectors.items():
            kept_vectors = partial(build.kept_vectors, name, previous)  # read only by a merge
            dense[name] = DenseRows(len(build.kept_rows(name)), column.assemble(name, previous), kept_vectors)
        content = SnapshotContent(
            articles=build.articles,
            passages=build.passages,
            sentences=build.sentences,
            dense=dense,
            encoders=build.encoders,
            analyzer=build.analyzer,
            chunking=build.chunking,
            lexical=lexical,
            extras=extras,
            index_kind=build.index_kind,
            threshold=build.threshold,
            index_settings=build.index_settings,
            kept=kept,
            base=base,
            file_stats=build.file_stats,
        )
        return write_snapshot(
            self.folder, content, build_seconds=time.perf_counter() - build.started, keep=KEEP_SNAPSHOTS
        )

    def stream(self, analyzer: Analyzer, *, index_kind: str, threshold: int) -> SnapshotStream:
        return SnapshotStream(self.folder, analyzer, index_kind, threshold, keep=KEEP_SNAPSHOTS)

    def remove_unfinished(self) -> list[str]:
        return remove_unfinished(self.folder)

    def prune(self) -> None:
        if (self.folder / SNAPSHOTS).is_dir():
            prune_snapshots(self.folder, keep=KEEP_SNAPSHOTS)

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "folder": str(self.folder)}


def _fresh_counts(build: Build, analyzer: Analyzer) -> TermCounts:
    """The term counts of the build's own passages (a segment of their own)."""
    return TermCounts.of(analysed(build.lexical_texts(), analyzer))


def _whole_lexical(build: Build, base: Snapshot | None, analyzer: Analyzer) -> LexicalIndex:
    """The new version's BM25 index, written whole (a fresh build or a merge). Its weights depend on
    every passage (document frequencies, mean length), but the kept passages' term counts are the
    previous version's: only the build's own passages are analysed (all of them when the previous
    version kept no counts)."""
    fresh = analysed(build.lexical_texts(), analyzer)
    kept = build.kept
    if kept is None or base is None:
        return LexicalIndex.from_counts(TermCounts.of(fresh))
    counts = base.term_counts()
    if counts is None:
        texts = [lexical_text(info.title, p.text) for p, info in base.passages(kept.passages.tolist())]
        return LexicalIndex.build(analysed(texts, analyzer) + fresh)
    return LexicalIndex.from_counts(counts.extended(base.lexical_rows(kept.passages), fresh))
