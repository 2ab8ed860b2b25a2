"""The embedded store (the default): versioned snapshot folders in the data folder, FAISS inside.

Each build writes a whole new snapshot (vectors reused from the previous one are copied
in), fsyncs it and switches the ``CURRENT`` pointer atomically; see :mod:`retrieval.stores.snapshot`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..corpus.analysis import Analyzer
from .bm25 import LexicalIndex
from .snapshot import (
    Snapshot,
    SnapshotContent,
    current_version,
    open_current,
    prune_snapshots,
    remove_unfinished,
    write_snapshot,
)

if TYPE_CHECKING:
    from ..config import Settings
    from .base import StoreVersion
    from .build import Build

#: the current snapshot and the two before it, to roll back to
KEEP_SNAPSHOTS = 3


class FaissStore:
    """:class:`~retrieval.stores.base.StoreBackend` over snapshot folders in ``folder``."""

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

    def write(self, build: Build, previous: StoreVersion | None, *, store: dict[str, str] | None = None) -> str:
        texts = [p.text for p in build.passages]
        analyzer = Analyzer(build.analyzer.get("language", "french"))
        extras: list[Any] = []
        local = store is None
        if local and texts:  # no passage, no lexical index (BM25 needs a document): the loader knows
            extras.append(LexicalIndex.build([analyzer.terms(t) for t in texts]))
        if build.expander is not None:
            extras.append(build.expander)
        dense = {name: column.assemble(name, previous) for name, column in build.vectors.items()} if local else {}
        content = SnapshotContent(
            articles=build.articles,
            passages=build.passages,
            sentences=build.sentences,
            dense=dense,
            encoders=build.encoders,
            analyzer=build.analyzer,
            chunking=build.chunking,
            extras=extras,
            index_kind=build.index_kind,
            threshold=build.threshold,
            previous=previous.dense if isinstance(previous, Snapshot) else {},
            index_settings=build.index_settings,
            store=store or {},
        )
        return write_snapshot(
            self.folder, content, build_seconds=time.perf_counter() - build.started, keep=KEEP_SNAPSHOTS
        )

    def remove_unfinished(self) -> list[str]:
        return remove_unfinished(self.folder)

    def prune(self) -> None:
        if (self.folder / "snapshots").is_dir():
            prune_snapshots(self.folder, keep=KEEP_SNAPSHOTS)

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "folder": str(self.folder)}
