"""Stores: where a version of the index lives, behind the Protocols of :mod:`retrieval.stores.base`.

Backends register through :mod:`retrieval.registry` (group ``ragbot.stores``): the built-in
ones in its table, another package's through an entry point in its own ``pyproject.toml``
(``name = "package.module:Factory"``), and ``RAGBOT_STORE`` picks one by name. A factory
takes the :class:`~retrieval.config.Settings` and returns a
:class:`~retrieval.stores.base.StoreBackend`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..registry import STORES, load, registered, target
from .backend import StoreBackend
from .base import (
    LexicalIndex,
    LexicalQuery,
    LexicalScores,
    SearchBreadth,
    StoreVersion,
    VectorSet,
)
from .build import Build, VectorColumn

if TYPE_CHECKING:
    from ..config import Settings


def store_backends() -> dict[str, str]:
    """Every registered backend: name -> "module:factory" (nothing is imported)."""
    return registered(STORES)


def make_store(settings: Settings) -> StoreBackend:
    """The backend ``settings.store`` names, made from the settings (imported on first use)."""
    spec = target(STORES, settings.store)
    if spec is None:
        raise ValueError(f"unknown store {settings.store!r}; one of {', '.join(sorted(store_backends()))}")
    return load(spec)(settings)


__all__ = [
    "Build",
    "LexicalIndex",
    "LexicalQuery",
    "LexicalScores",
    "SearchBreadth",
    "StoreBackend",
    "StoreVersion",
    "VectorColumn",
    "VectorSet",
    "make_store",
    "store_backends",
]
