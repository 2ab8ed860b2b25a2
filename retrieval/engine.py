"""The facade front ends talk to: search, ask, index, sources, stats over the current snapshot.

It follows the data directory's ``CURRENT`` pointer, so when another process (or
this one) builds a new snapshot, the next question is served from it: no restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from .answer import Answer, Answerer, PassageAnswerer
from .config import Settings
from .embedding import Embedder, make_embedder
from .indexer import IndexReport, Progress, build_index
from .search import Hit, Searcher
from .snapshot import ArticleSummary, Snapshot, current_version, open_current

EmbedderFactory = Callable[[Settings], Embedder]


@dataclass(frozen=True)
class Stats:
    version: str
    model: str
    dim: int
    articles: int
    passages: int
    created_at: str
    build_seconds: float
    disk_bytes: int
    chunking: dict


class Engine:
    def __init__(
        self,
        settings: Settings,
        *,
        embedder_factory: EmbedderFactory = make_embedder,
        answerer: Answerer | None = None,
    ) -> None:
        self.settings = settings
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._answerer = answerer or PassageAnswerer()
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = self._embedder_factory(self.settings)
            return self._embedder

    def snapshot(self) -> Snapshot:
        """The current snapshot, reopened when the pointer has moved since last time."""
        return self.searcher().snapshot

    def searcher(self) -> Searcher:
        version = current_version(self.settings.data_dir)
        searcher = self._searcher
        if searcher is not None and searcher.snapshot.version == version:
            return searcher
        embedder = self.embedder
        with self._lock:
            if self._searcher is None or self._searcher.snapshot.version != version:
                # The old snapshot is not closed: a query running on it in another thread
                # finishes on the version it started with; the GC closes it afterwards.
                self._searcher = Searcher(open_current(self.settings.data_dir), embedder)
            return self._searcher

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        return self.searcher().search(question, k or self.settings.top_k)

    def ask(self, question: str, k: int | None = None) -> Answer:
        return self.answer_hits(question, self.search(question, k))

    def answer_hits(self, question: str, hits: list[Hit]) -> Answer:
        return self._answerer.answer(question, hits)

    def index(self, *, progress: Progress | None = None) -> IndexReport:
        return build_index(self.settings, self.embedder, progress=progress)

    def sources(self) -> list[ArticleSummary]:
        return self.snapshot().articles()

    def stats(self) -> Stats:
        snap = self.snapshot()
        m = snap.manifest
        return Stats(
            version=snap.version,
            model=m.model,
            dim=m.dim,
            articles=m.counts["articles"],
            passages=m.counts["passages"],
            created_at=m.created_at,
            build_seconds=m.build_seconds,
            disk_bytes=snap.disk_bytes(),
            chunking=m.chunking,
        )
