"""A sentence-transformers BERT-style model (mean pooling) on OpenVINO, statically quantised to int8.

The export converts the traced model to OpenVINO's format, then NNCF quantises weights *and*
activations to int8 (scales calibrated once on ``calibration.txt``: generic English and French
news prose, nothing from any collection). With all matrix products in int8 (VNNI on this kind of
CPU) it measured about 3.3x the torch fp32 throughput against 2-2.7x for onnxruntime's dynamic
int8, with vectors closer to torch's (mean cosine 0.995 against 0.992).

Folder layout (``<model cache>/<slug>/openvino-int8/``): ``model.xml`` and ``model.bin``,
``tokenizer.json``, ``pooling.json``, ``export.json``, and ``cache/`` (compiled kernels, so a
cold start does not recompile).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import random
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..types import Embedder
from .embedding import ModelRef, no_telemetry, torch_encoder
from .exported import (
    INPUT_NAMES,
    NOTICE_LOGGER,
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

EXPORT_VERSION = 2  # 2: prompts recorded with the export
BACKEND = "openvino-int8"
CALIBRATION_FILE = Path(__file__).with_name("calibration.txt")
CALIBRATION_SAMPLES = 300
#: Texts per inference and the token multiple they are padded to. OpenVINO specialises its kernels
#: per input shape: a few rounded shapes reused beat one fresh shape per length (measured 2 cores,
#: ~170-token passages: 1 text unpadded 82/s, 1 text padded to 16 ~100/s, 4 texts padded ~123/s).
BATCH_TEXTS = 4
PAD_MULTIPLE = 16


def calibration_texts(count: int = CALIBRATION_SAMPLES, seed: int = 0) -> list[str]:
    """Deterministic windows over the calibration prose: question-length and passage-length."""
    words = CALIBRATION_FILE.read_text(encoding="utf-8").split()
    rng = random.Random(seed)
    texts = []
    for k in range(count):
        n = rng.randint(4, 20) if k % 3 == 0 else rng.randint(40, 170)
        start = rng.randrange(max(1, len(words) - n))
        texts.append(" ".join(words[start : start + n]))
    return texts


def _export(source: Path, out: Path) -> None:
    import torch

    ov = _import_openvino()

    nncf = _import_nncf()

    notice = logging.getLogger(NOTICE_LOGGER)
    notice.info("export: converting the model to OpenVINO…")
    module, sample = traceable(source)
    with torch.no_grad():
        model = ov.convert_model(
            module,
            example_input=sample,
            input=[(name, [-1, -1], ov.Type.i64) for name in INPUT_NAMES],
        )
    tokenizer, _ = load_tokenizer(out)
    prompts = load_prompts(out)
    feeds = []
    for k, text in enumerate(calibration_texts()):  # every third is question-sized: the query prompt
        text = (prompts.query if k % 3 == 0 else prompts.passage) + text
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        feeds.append({"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)})
    notice.info("export: quantising to int8, calibrated on %d texts…", len(feeds))
    chatter = io.StringIO()  # NNCF draws progress bars on stdout; `ragbot index --json` owns stdout
    with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
        nncf.set_log_level(logging.ERROR)
        quantized = nncf.quantize(
            model, nncf.Dataset(feeds), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(feeds)
        )
    ov.save_model(quantized, str(out / "model.xml"), compress_to_fp16=False)


def _import_openvino():  # noqa: ANN202 - the openvino module
    no_telemetry()
    import openvino

    return openvino


def _import_nncf():  # noqa: ANN202 - the nncf module
    no_telemetry()
    import nncf

    return nncf


def _stamp() -> dict[str, object]:
    calibration = hashlib.sha256(CALIBRATION_FILE.read_bytes()).hexdigest()
    return {"version": EXPORT_VERSION, "calibration_sha256": calibration, "samples": CALIBRATION_SAMPLES}


class OpenVinoEncoder(PromptedEncoder):
    """Mean-pooled, L2-normalised sentence embeddings from the int8 OpenVINO export; no torch."""

    backend = BACKEND

    def __init__(self, ref: ModelRef, cache_dir: Path, *, threads: int = 2) -> None:
        self._ref = ref
        self._folder = model_cache_dir(cache_dir, ref, BACKEND)
        self._threads = threads
        self._core = None
        self._model_file: Path | None = None
        self._tokenizer = None
        self._max_len = 0
        self._single = None  # (CompiledModel, InferRequest): one batch, one thread
        self._queue = None  # AsyncInferQueue: one stream per thread
        self._load_lock = threading.RLock()
        self._run_lock = threading.Lock()  # one encode at a time owns the requests

    @property
    def name(self) -> str:
        # The backend is part of the identity: its vectors differ slightly from torch's.
        return f"{self._ref.name} [{BACKEND}]"

    @property
    def dim(self) -> int:
        compiled, _ = self._latency_model()
        return int(compiled.outputs[0].get_partial_shape()[-1].get_length())

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """A question runs as one synchronous call on one thread; many texts run as batches of
        similar length, one batch per stream (one single-threaded stream per core), asynchronously.

        Two compiled models because the cases want different layouts (measured, 2 cores): through
        the 2-stream model a question paid 1-2 ms more (its requests switch shapes, and each stream
        keeps its own kernels), and 2 threads for one question gave search p95 spikes of 20-130 ms
        (its worker threads contend with FAISS and numpy that follow); batches ran ~150 texts/s on
        two streams and ~118/s on one. The many-text model is compiled only when first needed
        (indexing), never by a question.
        """
        tokenizer = self._load()
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in tokenizer.encode_batch(texts)]
        batches = pack(ids, size=BATCH_TEXTS, multiple=PAD_MULTIPLE, max_len=self._max_len)
        if len(batches) == 1:
            _, request = self._latency_model()
            with self._run_lock:
                request.infer(batches[0].feed)
                pool_into(out, batches[0], request.get_output_tensor(0).data)
            return out
        failures: list[BaseException] = []

        def done(request, batch) -> None:  # noqa: ANN001 - called by OpenVINO on its own thread
            try:
                pool_into(out, batch, request.get_output_tensor(0).data)
            except BaseException as err:  # surfaced below: an exception here would be lost
                failures.append(err)

        queue = self._throughput_queue()
        with self._run_lock:
            queue.set_callback(done)
            for batch in batches:
                queue.start_async(batch.feed, batch)
            queue.wait_all()
        if failures:
            raise failures[0]
        return out

    def _load(self):  # noqa: ANN202 - the tokenizer; exports first if needed
        with self._load_lock:
            if self._core is None:
                ov = _import_openvino()
                folder = ensure_exported(self._ref, self._folder, stamp=_stamp(), product="model.xml", export=_export)
                self._tokenizer, self._max_len = load_tokenizer(folder)
                self._prompts = load_prompts(folder)
                core = ov.Core()
                cache = folder / "cache"
                with contextlib.suppress(OSError):
                    cache.mkdir(exist_ok=True)
                if os.access(cache, os.W_OK):
                    core.set_property({"CACHE_DIR": str(cache)})  # compiled kernels: a cold start reuses them
                self._model_file = folder / "model.xml"
                self._core = core
            return self._tokenizer

    def _compile(self, streams: int):  # noqa: ANN202 - openvino.CompiledModel
        self._load()
        config = {
            "NUM_STREAMS": str(streams),
            "INFERENCE_NUM_THREADS": str(streams),  # one thread per stream
            # float32 wherever int8 does not apply: on CPUs with AVX512-BF16 the plugin
            # defaults to bfloat16, which measured no faster here and is further from torch.
            "INFERENCE_PRECISION_HINT": "f32",
        }
        return self._core.compile_model(str(self._model_file), "CPU", config)  # type: ignore[union-attr]

    def _latency_model(self):  # noqa: ANN202 - (CompiledModel, InferRequest)
        with self._load_lock:
            if self._single is None:
                compiled = self._compile(streams=1)
                self._single = (compiled, compiled.create_infer_request())
            return self._single

    def _throughput_queue(self):  # noqa: ANN202 - openvino.AsyncInferQueue
        with self._load_lock:
            if self._queue is None:
                ov = _import_openvino()
                self._queue = ov.AsyncInferQueue(self._compile(streams=self._threads), self._threads)
            return self._queue


def openvino_int8(ref: ModelRef, request: EncoderRequest) -> Embedder:
    """Backend ``openvino-int8``: the int8 OpenVINO export (a hub-only model runs on torch: an export
    needs the model's folder)."""
    if not ref.local:
        return torch_encoder(ref, request)
    return OpenVinoEncoder(ref, request.cache_dir, threads=request.settings.encoder_threads)
