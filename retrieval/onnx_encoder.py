"""A sentence-transformers BERT-style model (mean pooling) exported to ONNX, optionally int8.

Why: loading torch costs ~5 s and a CPU forward pass in fp32 is the slowest part of a
query. The export runs once (needs torch, done at index time) from the local weights,
no download; afterwards encoding needs only ``onnxruntime`` and ``tokenizers``.

Folder layout (``data/models/<slug>/``): ``model.onnx`` (fp32), ``model.int8.onnx``
(dynamic int8 quantisation), ``tokenizer.json``, ``export.json`` (what it came from).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .embedding import ModelRef, bundled_model_dir, file_sha256, quiet_model_loading
from .errors import ModelUnavailable

log = logging.getLogger(__name__)

EXPORT_VERSION = 5
BACKENDS = ("torch", "onnx", "onnx-int8")


def model_cache_dir(cache_dir: Path, ref: ModelRef) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", ref.name).strip("_")[:100]
    return Path(cache_dir) / slug


def _source_dir(ref: ModelRef) -> Path:
    if ref.bundled:
        return bundled_model_dir()
    if ref.local:
        return Path(ref.location)
    raise ModelUnavailable(f"ONNX export needs a local model folder; {ref.name!r} is not one (use backend torch)")


def ensure_exported(ref: ModelRef, folder: Path) -> Path:
    """Export ``ref`` to ONNX (fp32 and int8) into ``folder`` unless an up-to-date export is there."""
    source = _source_dir(ref)
    weights = next((source / n for n in ("model.safetensors", "pytorch_model.bin") if (source / n).is_file()), None)
    stamp = {"version": EXPORT_VERSION, "model": ref.name, "weights_sha256": file_sha256(weights) if weights else None}
    meta = folder / "export.json"
    if meta.is_file() and json.loads(meta.read_text()) == stamp and (folder / "model.int8.onnx").is_file():
        return folder
    log.info("exporting %s to ONNX in %s (once)", ref.name, folder)
    tmp = folder.with_name(folder.name + ".part")
    tmp.mkdir(parents=True, exist_ok=True)
    _export(source, tmp)
    tmp.joinpath("export.json").write_text(json.dumps(stamp), encoding="utf-8")
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return folder


def _export(source: Path, out: Path) -> None:
    quiet_model_loading(offline=True)
    with warnings.catch_warnings():
        # The tracer explains its own limits at length; the export is checked against torch in the tests.
        warnings.simplefilter("ignore")
        _trace_and_quantize(source, out)


def _trace_and_quantize(source: Path, out: Path) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    class Encoder(torch.nn.Module):
        """Keyword arguments into the model, its last hidden state out: a stable signature to trace."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    # Eager attention traces to the MatMul/Softmax pattern onnxruntime fuses into one Attention
    # kernel (QAttention once quantised); the SDPA path traces to a graph it cannot fuse, which
    # measured no faster than torch.
    model = Encoder(AutoModel.from_pretrained(source, local_files_only=True, attn_implementation="eager").eval())
    sample = tokenizer(["an example sentence", "un exemple"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"last_hidden_state": {0: "batch", 1: "sequence"}}
    with torch.no_grad():
        torch.onnx.export(
            model,
            (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
            str(out / "model.onnx"),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    # Fuse attention, LayerNorm and GELU into onnxruntime's dedicated kernels (the big CPU win),
    # then quantise: per-channel int8 weights for the matrix products only (accuracy).
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    # Not SkipLayerNormalization: on onnxruntime 1.31's CPU kernels it measured ~8x slower
    # than the Add + LayerNormalization it replaces (22% of a forward pass). The session then
    # runs at the basic level so onnxruntime does not fuse it back (see OnnxEncoder._load).
    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False
    options.enable_bias_skip_layer_norm = False
    config = model.inner.config
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
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    config = source / "sentence_bert_config.json"
    max_len = json.loads(config.read_text()).get("max_seq_length", 256) if config.is_file() else 256
    (out / "pooling.json").write_text(json.dumps({"max_seq_length": max_len, "mode": "mean"}), encoding="utf-8")


class OnnxEncoder:
    """Mean-pooled, L2-normalised sentence embeddings from an exported model; no torch."""

    def __init__(self, ref: ModelRef, cache_dir: Path, *, quantized: bool = True, threads: int = 2) -> None:
        self._ref = ref
        self._folder = model_cache_dir(cache_dir, ref)
        self._quantized = quantized
        self._threads = threads
        self._session = None
        self._tokenizer = None
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

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One text per run, ``threads`` runs at a time on single-threaded kernels.

        Measured on 2 cores with ~180-token passages: no padding at all and one core per
        sequence beat batches of 8 or 32 with two threads per operator (fewer, larger sync
        points and no wasted work on pad tokens); the session is shared, onnxruntime allows
        concurrent runs.
        """
        session, tokenizer = self._load()
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = tokenizer.encode_batch(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)

        def one(i: int) -> None:
            e = encodings[i]
            ids = np.array([e.ids], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            pooled = session.run(None, feed)[0][0].mean(axis=0)
            out[i] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)

        # Longest first, so the last runs to finish are short ones and both cores stay busy.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        if self._threads == 1 or len(texts) == 1:
            for i in order:
                one(i)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(self._threads) as pool:
                list(pool.map(one, order))
        return out

    def _load(self):  # noqa: ANN202 - (InferenceSession, Tokenizer), imported lazily
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                folder = self._folder
                model_file = folder / ("model.int8.onnx" if self._quantized else "model.onnx")
                if not model_file.is_file():
                    folder = ensure_exported(self._ref, folder)
                pooling = json.loads((folder / "pooling.json").read_text())
                tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
                tokenizer.enable_truncation(pooling["max_seq_length"])
                tokenizer.no_padding()  # one text per run: nothing to pad
                options = ort.SessionOptions()
                options.intra_op_num_threads = 1  # parallel across texts instead (see encode)
                options.inter_op_num_threads = 1
                # The graph was fused at export; the extended level would re-fuse Add + LayerNorm
                # into the slow SkipLayerNormalization kernel (see _trace_and_quantize).
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
                self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
                self._tokenizer = tokenizer
            return self._session, self._tokenizer
