"""A sentence-transformers BERT-style model (mean pooling) on ONNX Runtime, fp32 or int8.

Folder layout (``<model cache>/<slug>/onnx/``): ``model.onnx`` (fp32, fused), ``model.int8.onnx``
(dynamic int8 quantisation), ``tokenizer.json``, ``pooling.json``, ``export.json`` (what it came from).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..types import Embedder
from .embedding import ModelRef, no_telemetry, torch_encoder
from .exported import (
    INPUT_NAMES,
    PromptedEncoder,
    ensure_exported,
    load_prompts,
    load_tokenizer,
    model_cache_dir,
    pack,
    pool_into,
    traceable,
)

if TYPE_CHECKING:
    from .registry import EncoderRequest

log = logging.getLogger(__name__)

EXPORT_VERSION = 7  # 7: prompts recorded with the export


def _export(source: Path, out: Path) -> None:
    import torch

    no_telemetry()
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    module, sample = traceable(source)
    axes = {n: {0: "batch", 1: "sequence"} for n in INPUT_NAMES} | {"last_hidden_state": {0: "batch", 1: "sequence"}}
    with torch.no_grad():
        torch.onnx.export(
            module,
            tuple(sample[n] for n in INPUT_NAMES),
            str(out / "model.onnx"),
            input_names=list(INPUT_NAMES),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    # Fuse attention, LayerNorm and GELU into onnxruntime's dedicated kernels (the big CPU win),
    # then quantise: per-channel int8 weights for the matrix products only (accuracy).
    # Not SkipLayerNormalization: on onnxruntime 1.31's CPU kernels it measured ~8x slower
    # than the Add + LayerNormalization it replaces (22% of a forward pass). The session then
    # runs at the basic level so onnxruntime does not fuse it back (see OnnxEncoder._load).
    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False
    options.enable_bias_skip_layer_norm = False
    config = module.inner.config
    fused = optimize_model(
        str(out / "model.onnx"),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        optimization_options=options,
    )
    fused.save_model_to_file(str(out / "model.onnx"))
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs advice on the root logger; not for our users
    try:
        quantize_dynamic(
            str(out / "model.onnx"),
            str(out / "model.int8.onnx"),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Attention"],
            extra_options={"DefaultTensorType": 1},  # fused nodes carry no type info: they are float32
        )
    finally:
        root.setLevel(level)


class OnnxEncoder(PromptedEncoder):
    """Mean-pooled, L2-normalised sentence embeddings from the ONNX export; no torch."""

    def __init__(self, ref: ModelRef, cache_dir: Path, *, quantized: bool = True, threads: int = 2) -> None:
        self._ref = ref
        self._folder = model_cache_dir(cache_dir, ref, "onnx")
        self._quantized = quantized
        self._threads = threads
        self._session = None
        self._tokenizer = None
        self._max_len = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        # The backend is part of the identity: its vectors differ slightly from torch's.
        return f"{self._ref.name} [{self.backend}]"

    @property
    def backend(self) -> str:
        return "onnx-int8" if self._quantized else "onnx"

    @property
    def dim(self) -> int:
        session, _ = self._load()
        return int(session.get_outputs()[0].shape[-1])

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """One text per run, ``threads`` runs at a time on single-threaded kernels.

        Measured on 2 cores with ~180-token passages: no padding at all and one core per
        sequence beat batches of 8 or 32 with two threads per operator (fewer, larger sync
        points and no wasted work on pad tokens); the session is shared, onnxruntime allows
        concurrent runs.
        """
        session, tokenizer = self._load()
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        batches = pack(tokenizer.ids(texts), size=1, multiple=1, max_len=self._max_len)

        def run(batch) -> None:  # noqa: ANN001
            pool_into(out, batch, session.run(None, batch.feed)[0])

        if self._threads == 1 or len(batches) == 1:
            for batch in batches:
                run(batch)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(self._threads) as pool:
                list(pool.map(run, batches))
        return out

    def _load(self):  # noqa: ANN202 - (InferenceSession, Tokenizer), imported lazily
        with self._lock:
            if self._session is None:
                no_telemetry()
                import onnxruntime as ort

                product, stamp = "model.int8.onnx", {"version": EXPORT_VERSION}
                folder = ensure_exported(self._ref, self._folder, stamp=stamp, product=product, export=_export)
                self._tokenizer, self._max_len = load_tokenizer(folder)
                self._prompts = load_prompts(folder)
                options = ort.SessionOptions()
                options.intra_op_num_threads = 1  # parallel across texts instead (see encode)
                options.inter_op_num_threads = 1
                # The graph was fused at export; the extended level would re-fuse Add + LayerNorm
                # into the slow SkipLayerNormalization kernel (see _export).
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
                model_file = folder / ("model.int8.onnx" if self._quantized else "model.onnx")
                self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
            return self._session, self._tokenizer


def onnx_fp32(ref: ModelRef, request: EncoderRequest) -> Embedder:
    """Backend ``onnx``: the fused fp32 export on ONNX Runtime (a hub-only model runs on torch:
    an export needs the model's folder)."""
    if not ref.local:
        return torch_encoder(ref, request)
    return OnnxEncoder(ref, request.cache_dir, quantized=False, threads=request.settings.encoder_threads)


def onnx_int8(ref: ModelRef, request: EncoderRequest) -> Embedder:
    """Backend ``onnx-int8``: the export with dynamic int8 weights on ONNX Runtime (a hub-only model
    runs on torch)."""
    if not ref.local:
        return torch_encoder(ref, request)
    return OnnxEncoder(ref, request.cache_dir, quantized=True, threads=request.settings.encoder_threads)
