"""A sentence-transformers BERT-style model (mean pooling) on OpenVINO, statically quantised to int8.

The export converts the traced model to OpenVINO's format, then NNCF quantises weights *and*
activations to int8 (scales calibrated once on ``calibration.txt``: generic English and French
news prose, nothing from any collection). With all matrix products in int8 (VNNI on this kind of
CPU) it measured about 3.3x the torch fp32 throughput against 2-2.7x for onnxruntime's dynamic
int8, with vectors closer to torch's (mean cosine 0.995 against 0.992).

The word-embedding table stays out of the graph (:class:`~.exported.EmbeddingTable`): int8 rows
in a memory-mapped file, looked up before each inference. Inside the graph the CPU plugin
expanded it to float32 when compiling (e5's 250k rows: 384 MB resident, and as much again in
the kernel cache), although NNCF had stored it as int8.

Folder layout (``<model cache>/<slug>/openvino-int8/``): ``model.xml`` and ``model.bin`` (the
rest of the model), ``embeddings.npy`` and ``embedding_scales.npy``, ``tokenizer.json``,
``pooling.json``, ``export.json``, and ``cache/<OpenVINO version>/`` (the question-time model's
compiled kernels, so that a cold start does not recompile: about 0.3 s instead of 1-2 s).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..types import Embedder
from .embedding import ModelRef, no_telemetry, torch_encoder
from .exported import (
    INPUT_NAMES,
    NOTICE_LOGGER,
    Batch,
    EmbeddingTable,
    PromptedEncoder,
    Span,
    ensure_exported,
    is_exported,
    keep_sentencepiece,
    keep_token_states,
    load_prompts,
    load_tokenizer,
    model_cache_dir,
    pack,
    pool_into,
    pool_spans,
    traceable_body,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

    from .registry import EncoderRequest

log = logging.getLogger(__name__)

EXPORT_VERSION = 4  # 2: prompts recorded; 3: the word embeddings out of the graph; 4: a sentencepiece twin
BACKEND = "openvino-int8"
CALIBRATION_FILE = Path(__file__).with_name("calibration.txt")
#: 150 (not 300): the quantisation took twice as long, a third of a first run, for vectors 0.0004 closer to fp32
CALIBRATION_SAMPLES = 150
#: Texts per inference and the token multiple they are padded to. OpenVINO specialises its kernels
#: per input shape: a few rounded shapes reused beat one fresh shape per length (measured 2 cores,
#: ~170-token passages: 1 text unpadded 82/s, 1 text padded to 16 ~100/s, 4 texts padded ~123/s).
BATCH_TEXTS = 4
# A question's forward pass serves twice: its vector for the search, then its token states for the
# answer's late interaction. The last few single texts' states are kept (about 30 KB each).
RECENT_TEXTS = 32
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
    module, table, sample = traceable_body(source)
    words = EmbeddingTable.save(table, out)
    del table
    with torch.no_grad():
        model = ov.convert_model(
            module,
            example_input=sample,
            input=[
                ("inputs_embeds", [-1, -1, words.dim], ov.Type.f32),
                *((name, [-1, -1], ov.Type.i64) for name in INPUT_NAMES[1:]),
            ],
        )
    prompts = load_prompts(out)
    # every third is question-sized: the query prompt
    texts = [(prompts.query if k % 3 == 0 else prompts.passage) + t for k, t in enumerate(calibration_texts())]
    keep_sentencepiece(source, out, texts)
    tokenizer, _ = load_tokenizer(out)
    feeds = []
    for ids in tokenizer.ids(texts):
        ids = np.array([ids], dtype=np.int64)
        feeds.append(_feed(words, ids, np.ones_like(ids)))
    notice.info("export: quantising to int8, calibrated on %d texts…", len(feeds))
    chatter = io.StringIO()  # NNCF draws progress bars on stdout; `ragbot index --json` owns stdout
    with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
        nncf.set_log_level(logging.ERROR)
        quantized = nncf.quantize(
            model, nncf.Dataset(feeds), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(feeds)
        )
    ov.save_model(quantized, str(out / "model.xml"), compress_to_fp16=False)


def _feed(words: EmbeddingTable, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """The graph's inputs for a batch of token ids: their embedding rows, the mask, token types 0."""
    return {"inputs_embeds": words.lookup(ids), "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


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
        self._model = None  # openvino.Model, read once under the export's lock
        self._words: EmbeddingTable | None = None
        self._cache: Path | None = None
        self._tokenizer = None
        self._max_len = 0
        self._single = None  # (CompiledModel, InferRequest): one batch, one thread
        self._queue = None  # AsyncInferQueue: one stream per thread
        self._preloading: Future[object] | None = None  # a load started by preload(), until awaited
        self._preload_lock = threading.Lock()
        self._load_lock = threading.RLock()
        self._run_lock = threading.Lock()  # one encode at a time owns the requests
        self._recent: OrderedDict[tuple[int, ...], np.ndarray] = OrderedDict()  # under _run_lock

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
        if texts:
            self._run(tokenizer.ids(texts), lambda batch, hidden: pool_into(out, batch, hidden))
        return out

    def token_states(self, texts: Sequence[str], *, query: bool = False) -> list[np.ndarray]:
        """Each text's token states (:class:`~.exported.TokenEncoder`), for late interaction."""
        tokenizer = self._load()
        prompt = self._prompts.query if query else self._prompts.passage
        out = [np.zeros((0, self.dim), dtype=np.float32) for _ in texts]
        if texts:
            # A question's handful of sentences and passages: on the question's own model, batch after
            # batch, so that answering never compiles (nor holds) the many-text model.
            self._run(
                tokenizer.ids([prompt + t for t in texts]),
                lambda batch, hidden: keep_token_states(out, batch, hidden),
                latency=True,
            )
        return out

    def encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, and the vectors of spans of each passage pooled from the same forward pass
        (late chunking; :class:`~.exported.SpanEncoder`)."""
        tokenizer = self._load()
        shift = len(self._prompts.passage)
        texts = [self._prompts.passage + t for t in texts]
        spans = [[(start + shift, end + shift) for start, end in text_spans] for text_spans in spans]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        span_out = [np.zeros((len(s), self.dim), dtype=np.float32) for s in spans]
        if texts:
            ids, ends = zip(*tokenizer.ids_and_ends(texts), strict=True)

            def pool(batch: Batch, hidden: np.ndarray) -> None:
                pool_into(out, batch, hidden)
                pool_spans(span_out, batch, hidden, ends, spans)

            self._run(list(ids), pool)
        return out, span_out

    def _run(self, ids: list[list[int]], pool: Callable[[Batch, np.ndarray], None], *, latency: bool = False) -> None:
        """Encode ``ids`` batch by batch into ``pool``: one batch (or, with ``latency``, every batch in
        turn) on the single-threaded question model, else on the many-text model's streams."""
        batches = pack(ids, size=BATCH_TEXTS, multiple=PAD_MULTIPLE, max_len=self._max_len)
        words = self._words
        assert words is not None
        if len(batches) == 1 or latency:
            _, request = self._latency_model()
            with self._run_lock:
                if len(ids) == 1 and (kept := self._recent.get(tuple(ids[0]))) is not None:
                    self._recent.move_to_end(tuple(ids[0]))
                    pool(batches[0], kept)  # the same text, the same forward pass: its states again
                    return
                for batch in batches:
                    request.infer(_feed(words, batch.feed["input_ids"], batch.feed["attention_mask"]))
                    hidden = request.get_output_tensor(0).data
                    pool(batch, hidden)
                if len(ids) == 1:
                    self._recent[tuple(ids[0])] = np.array(hidden[:1, : len(ids[0])])  # a copy: the buffer is reused
                    while len(self._recent) > RECENT_TEXTS:
                        self._recent.popitem(last=False)
            return
        failures: list[BaseException] = []

        def done(request, batch) -> None:  # noqa: ANN001 - called by OpenVINO on its own thread
            try:
                pool(batch, request.get_output_tensor(0).data)
            except BaseException as err:  # surfaced below: an exception here would be lost
                failures.append(err)

        queue = self._throughput_queue()
        with self._run_lock:
            queue.set_callback(done)
            for batch in batches:
                queue.start_async(_feed(words, batch.feed["input_ids"], batch.feed["attention_mask"]), batch)
            queue.wait_all()
        if failures:
            raise failures[0]

    def preload(self) -> None:
        """Start loading the question-time model (tokenizer, compiled model) on a thread of its own
        and return at once, so that a caller opening its index meanwhile finds the model ready: a
        cold question waits for the longer of the two, not for both. Nothing happens when the model
        is loaded or loading, nor when it is not exported yet (the export, 40 s or more, runs where
        it is needed, with its notices). The next use waits for the load and raises what it raised.
        """
        with self._preload_lock:
            if self._core is not None or self._preloading is not None:
                return
            if not is_exported(self._ref, self._folder, stamp=_stamp(), product="model.xml"):
                return
            from concurrent.futures import ThreadPoolExecutor

            # The worker is not a daemon: a process that ends meanwhile (an error opening the index)
            # waits for the load rather than tearing OpenVINO down under it.
            pool = ThreadPoolExecutor(1, thread_name_prefix="ragbot-model-load")
            self._preloading = pool.submit(self._load_now)
            pool.shutdown(wait=False)

    def _load(self):  # noqa: ANN202 - the tokenizer; exports first if needed
        preloading = self._preloading
        if preloading is not None:
            try:
                preloading.result()  # a failed preload's error, raised to those who waited for it
            finally:
                with self._preload_lock:
                    if self._preloading is preloading:
                        self._preloading = None  # once awaited: a later use loads (or fails) afresh
        return self._load_now()

    def _load_now(self):  # noqa: ANN202 - the tokenizer
        with self._load_lock:
            if self._core is None:
                self._core, self._model = ensure_exported(
                    self._ref, self._folder, stamp=_stamp(), product="model.xml", export=_export, load=self._read
                )
            return self._tokenizer

    def _read(self, folder: Path):  # noqa: ANN202 - (openvino.Core, openvino.Model)
        """Everything the encoder needs from its folder, read at once (under the export's lock), and
        the question model compiled and run once. The tokenizer loads on a thread of its own
        meanwhile: e5's 250k-piece sentencepiece model takes about 0.3 s, the model, its compilation
        and first run about as long, and both let go of the GIL. The tokenizer starts first: OpenVINO's
        import holds the GIL."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1, thread_name_prefix="ragbot-tokenizer-load") as pool:
            tokenizer = pool.submit(load_tokenizer, folder)
            core = _import_openvino().Core()
            self._prompts = load_prompts(folder)
            self._words = EmbeddingTable.load(folder)
            self._cache = kernel_cache(folder)
            model = core.read_model(str(folder / "model.xml"))
            compiled = self._compile(core, model, streams=1, cached=True)
            request = compiled.create_infer_request()
            # A compiled model's first inference takes about 0.15 s more than the next ones (the CPU
            # plugin readies its kernels): paid here, beside the tokenizer, not by the first question.
            ids = np.zeros((1, PAD_MULTIPLE), dtype=np.int64)
            request.infer(_feed(self._words, ids, np.ones_like(ids)))
            self._single = (compiled, request)
            self._tokenizer, self._max_len = tokenizer.result()
        return core, model

    def _compile(self, core, model, streams: int, *, cached: bool):  # noqa: ANN001, ANN202 - openvino.CompiledModel
        config = {
            "NUM_STREAMS": str(streams),
            "INFERENCE_NUM_THREADS": str(streams),  # one thread per stream
            # float32 wherever int8 does not apply: on CPUs with AVX512-BF16 the plugin
            # defaults to bfloat16, which measured no faster here and is further from torch.
            "INFERENCE_PRECISION_HINT": "f32",
        }
        if cached and self._cache is not None:
            config["CACHE_DIR"] = str(self._cache)  # compiled kernels: a cold start reuses them
        return core.compile_model(model, "CPU", config)

    def _latency_model(self):  # noqa: ANN202 - (CompiledModel, InferRequest), compiled by the load
        self._load()
        return self._single

    def _throughput_queue(self):  # noqa: ANN202 - openvino.AsyncInferQueue
        self._load()  # not under the lock: a preload holds it until done
        with self._load_lock:
            if self._queue is None:
                ov = _import_openvino()
                # not cached: indexing compiles it once per process, and its kernels would double the cache
                compiled = self._compile(self._core, self._model, streams=self._threads, cached=False)
                self._queue = ov.AsyncInferQueue(compiled, self._threads)
            return self._queue


def kernel_cache(folder: Path) -> Path | None:
    """The compiled-kernel cache of this OpenVINO version in ``folder`` (another version's is
    removed: its kernels are never read again), or None where the folder is read-only."""
    import shutil

    ov = _import_openvino()
    root = folder / "cache"
    here = root / re.sub(r"[^A-Za-z0-9._-]+", "_", ov.get_version())[:80]
    try:
        here.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    for other in root.iterdir():
        if other != here:
            shutil.rmtree(other, ignore_errors=True) if other.is_dir() else other.unlink(missing_ok=True)
    return here if os.access(here, os.W_OK) else None


def openvino_int8(ref: ModelRef, request: EncoderRequest) -> Embedder:
    """Backend ``openvino-int8``: the int8 OpenVINO export (a hub-only model runs on torch: an export
    needs the model's folder)."""
    if not ref.local:
        return torch_encoder(ref, request)
    return OpenVinoEncoder(ref, request.cache_dir, threads=request.settings.encoder_threads)
