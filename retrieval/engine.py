"""The facade front ends talk to: search, ask, index, sources, stats over the current snapshot.

It follows the data directory's ``CURRENT`` pointer, so when another process (or
this one) builds a new snapshot, the next question is served from it: no restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from .answer import AbstainPolicy, Answer, Answerer, PassageAnswerer
from .config import Settings
from .embedding import make_embedder, make_multilingual
from .indexer import Encoders, IndexReport, Progress, build_index
from .search import Hit, Searcher, search_settings
from .snapshot import ArticleSummary, Snapshot, current_version, open_current

EncoderFactory = Callable[[Settings], Encoders]


def default_encoders(settings: Settings) -> Encoders:
    """The encoders the settings ask for (loaded lazily, on first use)."""
    return Encoders(embedding=make_embedder(settings), multilingual=make_multilingual(settings))


@dataclass(frozen=True)
class Stats:
    version: str
    encoders: dict
    articles: int
    passages: int
    sentences: int
    created_at: str
    build_seconds: float
    disk_bytes: int
    chunking: dict


class Engine:
    def __init__(
        self,
        settings: Settings,
        *,
        encoders: EncoderFactory = default_encoders,
        answerer: Answerer | None = None,
    ) -> None:
        self.settings = settings
        self._encoder_factory = encoders
        self._encoders: Encoders | None = None
        self._answerer = answerer or PassageAnswerer(
            policy=AbstainPolicy(settings.abstain_below, settings.abstain_coverage_weight)
        )
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()

    @property
    def encoders(self) -> Encoders:
        with self._lock:
            if self._encoders is None:
                self._encoders = self._encoder_factory(self.settings)
            return self._encoders

    def snapshot(self) -> Snapshot:
        """The current snapshot, reopened when the pointer has moved since last time."""
        return self.searcher().snapshot

    def searcher(self) -> Searcher:
        version = current_version(self.settings.data_dir)
        searcher = self._searcher
        if searcher is not None and searcher.snapshot.version == version:
            return searcher
        encoders = self.encoders
        with self._lock:
            if self._searcher is None or self._searcher.snapshot.version != version:
                # The old snapshot is not closed: a query running on it in another thread
                # finishes on the version it started with; the GC closes it afterwards.
                self._searcher = Searcher(
                    open_current(self.settings.data_dir), encoders, search_settings(self.settings)
                )
            return self._searcher

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        return self.searcher().search(question, k or self.settings.top_k)

    def ask(self, question: str, k: int | None = None) -> Answer:
        return self.answer_hits(question, self.search(question, k))

    def answer_hits(self, question: str, hits: list[Hit]) -> Answer:
        return self._answerer.answer(question, hits)

    def index(self, *, progress: Progress | None = None) -> IndexReport:
        return build_index(self.settings, self.encoders, progress=progress)

    def sources(self) -> list[ArticleSummary]:
        return self.snapshot().articles()

    def stats(self) -> Stats:
        snap = self.snapshot()
        m = snap.manifest
        return Stats(
            version=snap.version,
            encoders=m.encoders,
            articles=m.counts["articles"],
            passages=m.counts["passages"],
            sentences=m.counts.get("sentences", 0),
            created_at=m.created_at,
            build_seconds=m.build_seconds,
            disk_bytes=snap.disk_bytes(),
            chunking=m.chunking,
        )
