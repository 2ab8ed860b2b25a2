"""Stores: where a version of the index lives, behind the Protocols of :mod:`retrieval.stores.base`.

Backends register through one door, the ``ragbot.stores`` entry-point group: the built-in
ones are declared in ``pyproject.toml`` exactly as a third-party package would declare its
own (``name = "package.module:Factory"``), and ``RAGBOT_STORE`` picks one by name. A
factory takes the :class:`~retrieval.config.Settings` and returns a
:class:`~retrieval.stores.base.StoreBackend`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import (
    LexicalIndex,
    LexicalQuery,
    LexicalScores,
    SearchBreadth,
    StoreBackend,
    StoreVersion,
    VectorSet,
)
from .build import Build, VectorColumn

if TYPE_CHECKING:
    from ..config import Settings

ENTRY_POINTS = "ragbot.stores"
#: the built-in backends, also declared as entry points; listed here too so that a source tree
#: used without installing (no entry-point metadata) still finds them
BUILT_IN = {
    "faiss": "retrieval.stores.faiss:FaissStore",
    "milvus": "retrieval.stores.milvus:MilvusStore",
}


def store_backends() -> dict[str, str]:
    """Every registered backend: name -> "module:factory" (nothing is imported)."""
    from importlib.metadata import entry_points

    found = dict(BUILT_IN)
    for entry in entry_points(group=ENTRY_POINTS):
        found.setdefault(entry.name.lower(), entry.value)
    return found


def make_store(settings: Settings) -> StoreBackend:
    """The backend ``settings.store`` names, made from the settings (imported on first use)."""
    import importlib

    target = store_backends()[settings.store]
    module, _, factory = target.partition(":")
    return getattr(importlib.import_module(module), factory)(settings)


__all__ = [
    "BUILT_IN",
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
