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
from typing import Any

import numpy as np

from ..errors import ModelUnavailable
from .embedding import ModelRef, Prompts, cannot_load, file_sha256, local_model_dir, model_prompts, quiet_model_loading

log = logging.getLogger(__name__)

#: Logger of the slow one-time steps a person waiting on a command should hear about without
#: ``-v`` (the model export: 40-70 s of silence otherwise). The core only logs; front ends show it.
NOTICE_LOGGER = "retrieval.notice"

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def model_cache_dir(cache_dir: Path, ref: ModelRef, backend: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", ref.name).strip("_")[:100]
    return Path(cache_dir) / slug / backend


def source_dir(ref: ModelRef) -> Path:
    if ref.local:
        return local_model_dir(ref)
    raise ModelUnavailable(f"exporting needs a local model folder; {ref.name!r} is not one (use backend torch)")


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

    try:
        AutoConfig.from_pretrained(source, local_files_only=True)
    except Exception as err:  # OSError (no config.json), ValueError (a config of no known model), ...
        first = next(iter(str(err).splitlines()), type(err).__name__)
        raise ModelUnavailable(f"{cannot_load(ref)}: {source} is not a model folder ({first})") from None
    if not any((source / name).is_file() for name in WEIGHT_FILES):
        raise ModelUnavailable(f"{cannot_load(ref)}: {source} holds no weights ({', '.join(WEIGHT_FILES[:2])})")


def ensure_exported(
    ref: ModelRef, folder: Path, *, stamp: dict[str, Any], product: str, export: Callable[[Path, Path], None]
) -> Path:
    """Run ``export(source, folder)`` unless ``folder`` holds ``product`` from an export with the same stamp.

    Cheap when the export is there: no weights are read or hashed (a cold ``ragbot ask`` pays
    for nothing). The weights' sha256 is recorded in ``export.json`` for provenance.
    The export writes to a sibling folder first: a crash never leaves a half-written model.
    """
    stamp = stamp | {"model": ref.name}
    meta = folder / "export.json"
    if meta.is_file() and (folder / product).is_file():
        recorded = json.loads(meta.read_text(encoding="utf-8"))
        if {k: recorded.get(k) for k in stamp} == stamp:
            return folder
    source = source_dir(ref)
    check_loadable(ref, source)  # before the notice: a folder that is no model is one line, not a crash
    weights = next((source / n for n in ("model.safetensors", "pytorch_model.bin") if (source / n).is_file()), None)
    stamp |= {"weights_sha256": file_sha256(weights) if weights else None}
    notice = logging.getLogger(NOTICE_LOGGER)
    notice.info("exporting the embedding model once (a minute or so): %s for %s…", ref.name, folder.name)
    log.info("exporting %s to %s", ref.name, folder)
    started = time.perf_counter()
    tmp = folder.with_name(folder.name + ".part")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    quiet_model_loading(offline=True)
    try:
        with warnings.catch_warnings():
            # The tracers explain their own limits at length; the exports are checked against torch in the tests.
            warnings.simplefilter("ignore")
            save_tokenizer(source, tmp, model_prompts(ref.name, source))  # first: an export may tokenise
            with _scratch_inside(tmp / ".scratch"):
                export(source, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp / ".scratch", ignore_errors=True)
    tmp.joinpath("export.json").write_text(json.dumps(stamp), encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    notice.info("exported the embedding model in %.0f s; later runs reuse %s", time.perf_counter() - started, folder)
    return folder


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
    from transformers import AutoModel, AutoTokenizer

    class Encoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    # Eager attention traces to the plain MatMul/Softmax pattern both runtimes know how to fuse.
    inner = AutoModel.from_pretrained(source, local_files_only=True, attn_implementation="eager").eval()
    sample = tokenizer(["an example sentence", "un exemple"], padding=True, return_tensors="pt")
    return Encoder(inner), {name: sample[name] for name in INPUT_NAMES}


def save_tokenizer(source: Path, out: Path, prompts: Prompts) -> None:
    from transformers import AutoTokenizer

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


def load_tokenizer(folder: Path):  # noqa: ANN201 - (tokenizers.Tokenizer, max length)
    from tokenizers import Tokenizer

    max_len = int(json.loads((folder / "pooling.json").read_text())["max_seq_length"])
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_len)
    tokenizer.no_padding()  # batches are padded by pack(), to the length they need
    return tokenizer, max_len


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


def pool_into(out: np.ndarray, batch: Batch, hidden: np.ndarray) -> None:
    """Mean of each text's real tokens (padding left out), L2-normalised, into its row of ``out``."""
    for r, (i, n) in enumerate(zip(batch.rows, batch.lengths, strict=True)):
        pooled = hidden[r, :n].mean(axis=0)
        out[i] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
