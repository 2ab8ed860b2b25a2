"""The write side of a store: a backend opens, writes, publishes and cleans up versions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from .base import StoreVersion
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
