"""The write side of a store: a backend opens, writes, publishes and cleans up versions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from contextlib import AbstractContextManager

    import numpy as np

    from ..corpus.analysis import Analyzer
    from ..types import Article, Passage
    from .base import Expander, StoreVersion
    from .build import Build


class StoreBackend(Protocol):
    """A kind of store (``RAGBOT_STORE``): made from the settings by its registered factory."""

    name: str

    def current_version(self) -> str | None:
        """The name of the current version (cheap: called before every question); None before any build."""

    def open_current(self, *, verify: bool = True) -> StoreVersion:
        """The current version; :class:`~retrieval.errors.IndexNotBuilt` or ``IndexCorrupt``."""

    def lease(self) -> AbstractContextManager[None]:
        """Hold the store's one-writer lease while writing (:class:`~retrieval.lock.IndexBusy` when
        another writer holds it). A store in the data folder has none beyond the index lock."""

    def write(self, build: Build, previous: StoreVersion | None) -> str:
        """Write ``build`` as a new version and make it current; returns its name.

        ``previous`` is the current version the build was planned against (its reused rows
        point into it), or None for a build from scratch. Readers keep answering throughout.
        """

    def remove_unfinished(self) -> list[str]:
        """Remove what an interrupted write left; called under the index lock before a build (a
        description of each thing removed)."""

    def prune(self) -> None:
        """Remove old versions beyond the ones kept for rollback (never the current one)."""

    def describe(self) -> dict[str, Any]:
        """Where the store lives, for ``ragbot stats`` (no secrets)."""


class BuildStream(Protocol):
    """A new version written batch by batch (a full build): nothing is current until :meth:`finish`."""

    #: seconds per step of :meth:`finish`, once it returned (for the build's report)
    phases: dict[str, float]

    def add(
        self,
        articles: Sequence[Article],
        passages: Sequence[Passage],
        sentences: Sequence[tuple[int, int, int]],
        vectors: Mapping[str, np.ndarray],
        file_stats: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """Append a batch: its articles, their passages (after the rows added so far), their
        sentences (passage rows counted from the first of ``passages``), and each vector set's rows."""

    def finish(
        self,
        *,
        encoders: dict[str, dict[str, Any]],
        analyzer: dict[str, Any],
        chunking: dict[str, Any],
        expander: Expander | None,
        index_settings: Mapping[str, Any],
        build_seconds: float,
    ) -> str:
        """Index, write the rest, make the version current; returns its name."""

    def abort(self) -> None:
        """Drop what was written: the current version stays as it was."""


@runtime_checkable
class StreamingBackend(Protocol):
    """A backend that writes a full build batch by batch (its memory bounded by the batch)."""

    def stream(self, analyzer: Analyzer, *, index_kind: str, threshold: int) -> BuildStream:
        """Start a new version from scratch (the caller holds the index lock)."""
