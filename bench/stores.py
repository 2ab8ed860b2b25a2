"""The same collection on every store backend: build, search end to end, what a question reads
besides its searches, recall@10 of the vector searches against exact search, a replica's cold start
to its first answer, add and remove one article, memory (this process, and a process that only serves).

    python -m bench.stores --passages 100000 --sample 500
    python -m bench.stores --passages 10000 --backends milvus --model-cache /tmp/ragbot-models
    python -m bench.stores --articles /tmp/b100k --backends milvus --copy-on-write

Milvus is the real engine: milvus-lite 2.5.1's server, started here on a free 127.0.0.1 port in
the scratch folder. Vectors: a real sample of ``--sample`` texts per encoder, the others derived
from it (bench/scale.py's SampledEncoder); the output says so. Questions are encoded by the real
models and go through the whole search (every signal, fusion, sentence rescoring). Prints one
JSON object per backend, then a summary line.
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.scale import PASSAGES_PER_ARTICLE, SampledEncoder
from bench.stats import DEV_QA, existing_file, percentile
from bench.synth import write
from retrieval import Engine, Settings
from retrieval.engine import default_encoders
from retrieval.evaluation import load_qa
from retrieval.stores import store_backends
from retrieval.types import Encoders

NEW_ARTICLE = """---
title: Un pont flottant sur le fleuve Toumen
date: 2024-07-01
source: bench
---
Les ingénieurs ont achevé un pont flottant provisoire sur le fleuve Toumen, entre les deux pays.
Le pont doit permettre le passage des camions de marchandises pendant l'été, selon les autorités.

Les autorités locales ont annoncé que le pont resterait ouvert jusqu'aux premières glaces.
"""


def rss_mb(pid: int | str = "self") -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(text.split("VmRSS:")[1].split()[0]) / 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Start this process's peak resident memory (VmHWM) afresh from what it holds now (Linux 4.0+:
    ``clear_refs`` 5), so that the peak read later is that of what ran since; False when it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def vm_hwm_mb() -> float:
    """This process's peak resident memory since it started or since :func:`reset_peak_rss`."""
    return int(Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]) / 1024


class LiteServer:
    """milvus-lite 2.5.1's server process (the Milvus C++ engine)."""

    def __init__(self, folder: Path) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            from milvus_lite.server import Server

        folder.mkdir(parents=True, exist_ok=True)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.server = Server(str(folder / "milvus.db"), address=f"127.0.0.1:{port}")
        if not self.server.init() or not self.server.start():
            raise SystemExit("error: milvus-lite did not start")
        self.uri = f"http://127.0.0.1:{port}"
        from pymilvus import MilvusClient

        for _ in range(150):
            try:
                MilvusClient(uri=self.uri, timeout=5).list_collections()
                break
            except Exception:
                time.sleep(0.2)

    @property
    def pid(self) -> int:
        return self.server._p.pid  # type: ignore[union-attr]

    def stop(self) -> None:
        self.server.stop()


def disk_bytes(folder: Path) -> int:
    """What the files under ``folder`` take on disk, a file linked from several snapshots counted once."""
    seen: dict[tuple[int, int], int] = {}
    for f in folder.rglob("*"):
        if f.is_file() and not f.is_symlink():
            st = f.stat()
            seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())


def question_parts_ms(engine: Engine, rounds: int = 60, rows_per_question: int = 20) -> dict[str, float]:
    """What a question reads besides its searches, each timed alone (medians): whether the version
    moved (the pointer, on a server store), its passages (text, offsets, article: the local SQLite on
    FAISS, the server on Milvus), and the document frequencies of five words never asked before."""
    import numpy as np

    from retrieval.corpus.analysis import Analyzer

    snap = engine.snapshot()
    rng = np.random.default_rng(0)
    analyzer = Analyzer(snap.manifest.analyzer.get("language", "french"))
    sample = snap.passages(sorted(int(r) for r in rng.choice(snap.size, min(400, snap.size), replace=False)))
    words = sorted({t for p, _ in sample for t in analyzer.terms(p.text)})
    rng.shuffle(words)
    pointer, passages, frequencies = [], [], []
    for i in range(rounds):
        t = time.perf_counter()
        engine.store.current_version()
        pointer.append((time.perf_counter() - t) * 1000)
        rows = sorted(int(r) for r in rng.choice(snap.size, min(rows_per_question, snap.size), replace=False))
        t = time.perf_counter()
        snap.passages(rows)
        passages.append((time.perf_counter() - t) * 1000)
        fresh = words[5 * i : 5 * i + 5]
        if snap.lexical is not None and len(fresh) == 5:
            t = time.perf_counter()
            for term in fresh:
                snap.lexical.document_frequency(term)
            frequencies.append((time.perf_counter() - t) * 1000)
    out = {
        "pointer_check_ms_p50": round(percentile(pointer, 50), 2),
        f"passages_read_ms_p50_{rows_per_question}_rows": round(percentile(passages, 50), 2),
    }
    if frequencies:
        out["document_frequencies_ms_p50_5_words"] = round(percentile(frequencies, 50), 2)
    return out


def cold_start_s(settings: Settings, data_dir: Path, question: str) -> float:
    """A new replica's first answer: `ragbot search` in a process of its own, started on ``data_dir``
    (its whole life: imports, the model, opening the version, the question)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    env.update(
        RAGBOT_STORE=settings.store,
        RAGBOT_MILVUS_URI=settings.milvus_uri,
        RAGBOT_DATA_DIR=str(data_dir),
        RAGBOT_ARTICLES_DIR=str(settings.articles_dir),
    )
    if settings.model_cache_dir:
        env["RAGBOT_MODEL_CACHE_DIR"] = str(settings.model_cache_dir)
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "search", "--json", "-k", "5", question], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - t
    if done.returncode != 0 or not json.loads(done.stdout)["hits"]:
        raise SystemExit(f"error: the cold replica did not answer: {done.stderr.strip()[-300:]}")
    return elapsed


SERVE = """
import json, sys
from pathlib import Path
from retrieval import Engine, Settings
args = json.loads(sys.argv[1])
settings = Settings(_env_file=None, **args["settings"])
engine = Engine(settings)
for q in args["questions"]:
    engine.search(q, 5)
status = Path("/proc/self/status").read_text()
print(json.dumps({k: int(status.split(k + ":")[1].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}))
"""


def serving_rss_mb(settings: Settings, questions: list[str]) -> dict[str, float]:
    """A process that only serves: it opens the current version and answers ``questions`` (searches,
    the real models), nothing else; its resident memory at the end and at its peak."""
    fields = {"store": settings.store, "data_dir": str(settings.data_dir), "articles_dir": str(settings.articles_dir)}
    if settings.milvus_uri:
        fields["milvus_uri"] = settings.milvus_uri
    if settings.model_cache_dir:
        fields["model_cache_dir"] = str(settings.model_cache_dir)
    done = subprocess.run(
        [sys.executable, "-c", SERVE, json.dumps({"settings": fields, "questions": questions})],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"error: the serving process failed: {done.stderr.strip()[-300:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return {"serving_rss_mb": round(found["VmRSS"], 1), "serving_peak_rss_mb": round(found["VmHWM"], 1)}


def recall_at_10(engine: Engine, questions: list[str], chunk: int = 65_536) -> dict[str, float]:
    """Recall@10 of each vector set's search as served (its index kind, the settings' breadth)
    against exact search over the same stored vectors (read back in chunks: never all at once)."""
    import numpy as np

    from retrieval.encoders.embedding import encode_queries
    from retrieval.stores.base import SearchBreadth

    snap = engine.snapshot()
    breadth = SearchBreadth(engine.settings.hnsw_ef_search, engine.settings.ivf_nprobe)
    out = {}
    for name in ("embedding", "multilingual", "sentences"):
        vectors = snap.vector_set(name)
        encoder = engine.encoders.multilingual if name != "embedding" else engine.encoders.embedding
        if vectors is None or encoder is None or not len(vectors):
            continue
        queries = np.asarray(encode_queries(encoder, questions), dtype=np.float32)
        best = np.full((len(queries), 10), -np.inf, dtype=np.float32)
        rows = np.zeros((len(queries), 10), dtype=np.int64)
        for start in range(0, len(vectors), chunk):
            ids = np.arange(start, min(start + chunk, len(vectors)))
            scores = queries @ vectors.vectors(ids).T
            both = np.concatenate([best, scores], axis=1)
            pool = np.concatenate([rows, np.broadcast_to(ids, scores.shape)], axis=1)
            top = np.argsort(-both, axis=1)[:, :10]
            best, rows = np.take_along_axis(both, top, 1), np.take_along_axis(pool, top, 1)
        found = [set(vectors.top(q[None, :], 10, breadth).tolist()) for q in queries]
        out[f"recall_at_10_{name}"] = round(
            float(np.mean([len(f & set(r)) / 10 for f, r in zip(found, rows.tolist(), strict=True)])), 3
        )
    return out


def copy_on_write_s(engine: Engine) -> float:
    """What a version that copies every row costs (Milvus): the write of a new generation holding
    the current version's rows, read back from the server and inserted again (what an immutable
    version would cost per edit if versions were whole collections)."""
    from dataclasses import replace as changed

    import numpy as np

    from retrieval.stores import Build, VectorColumn
    from retrieval.stores.build import Kept

    previous = engine.store.open_current()
    m = previous.manifest
    dims = {name: m.encoders["multilingual" if name == "sentences" else name]["dim"] for name in m.dense_names()}
    empty = {n: VectorColumn(dim=d, sources=[], fresh=np.zeros((0, d), dtype=np.float32)) for n, d in dims.items()}
    rows, sentences = previous.rows_of(m.articles)
    build = Build(
        articles=(),
        passages=(),
        sentences=(),
        vectors=empty,
        encoders=m.encoders,
        analyzer=m.analyzer,
        chunking=m.chunking,
        expander=previous.expander,
        index_settings={**m.index_settings, "copy": True},  # other settings: a new generation
        kept=Kept(rows, sentences, dict(m.articles)),
    )
    t = time.perf_counter()
    engine.store.write(changed(build, started=t), previous)
    return time.perf_counter() - t


def run(backend: str, articles: Path, tmp: Path, args: argparse.Namespace) -> dict[str, object]:
    server = LiteServer(tmp / "milvus-server") if backend == "milvus" else None
    try:
        extra: dict[str, object] = {"milvus_uri": server.uri} if server else {}
        if args.model_cache:
            extra["model_cache_dir"] = args.model_cache
        settings = Settings(
            _env_file=None, articles_dir=articles, data_dir=tmp / f"data-{backend}", store=backend, **extra
        )
        real = default_encoders(settings)
        # The default (e5 alone) has no second encoder: only the roles that exist are sampled.
        roles = (real.embedding, real.multilingual)
        sampled = Encoders(*(SampledEncoder(e, args.sample) if e is not None else None for e in roles))
        builder = Engine(settings, encoders=lambda _s: sampled)
        before_build = rss_mb()
        reset = reset_peak_rss()  # the build's own peak, not the synthetic corpus's generation
        start = time.perf_counter()
        report = builder.index()
        build = time.perf_counter() - start
        build_peak = vm_hwm_mb() if reset else peak_rss_mb()
        encode = sum(e.encode_seconds for e in (sampled.embedding, sampled.multilingual) if e is not None)  # type: ignore[attr-defined]

        engine = Engine(settings, encoders=lambda _s: real)
        questions = [q.question for q in load_qa(args.qa)]
        questions = (questions * (args.queries // len(questions) + 1))[: args.queries]
        engine.search(questions[0], 5)  # models loaded, version opened
        search_ms = []
        for q in questions:
            t = time.perf_counter()
            engine.search(q, 5)
            search_ms.append((time.perf_counter() - t) * 1000)
        parts = question_parts_ms(engine)
        recall = recall_at_10(engine, questions)
        serving = serving_rss_mb(settings, questions)
        # A replica that never ran: FAISS needs the data folder built above; Milvus an empty one.
        empty = tmp / f"cold-{backend}"
        cold_s = cold_start_s(settings, settings.data_dir if backend == "faiss" else empty, questions[0])
        t = time.perf_counter()
        type(engine.store)(settings).open_current()  # a store object that has opened nothing yet
        open_s = time.perf_counter() - t

        (articles / "999999_pont.md").write_text(NEW_ARTICLE, encoding="utf-8")
        t = time.perf_counter()
        added = engine.index()
        add_s = time.perf_counter() - t
        found = engine.search("pont flottant sur le fleuve Toumen", 1)
        (articles / "999999_pont.md").unlink()
        t = time.perf_counter()
        gone = engine.index()
        remove_s = time.perf_counter() - t
        # As an admin adds one (`ragbot add FILE`, Telegram upload): read and checked, the
        # duplicate check against the folder, the file written, then the index build.
        outside = tmp / "to-add" / "pont.md"
        outside.parent.mkdir(exist_ok=True)
        outside.write_text(NEW_ARTICLE, encoding="utf-8")
        t = time.perf_counter()
        library_report, via_add = engine.add([str(outside)])
        ragbot_add_s = time.perf_counter() - t
        if not library_report.added or via_add is None:
            raise SystemExit(f"error: `ragbot add` refused the new article: {library_report.refused}")
        t = time.perf_counter()  # as an admin removes one (`ragbot remove ID`, Telegram /remove)
        via_remove = engine.remove(library_report.added[0].article_id)
        ragbot_remove_s = time.perf_counter() - t
        return {
            "backend": backend,
            "passages": report.passages,
            "articles": report.articles,
            "vectors": f"{args.sample} real texts per encoder, the rest derived (bench/scale.py)",
            "build_s": round(build, 1),
            "build_s_without_encoding": round(build - encode, 1),
            "build_phases_s": dict(report.phases),
            # resident memory of this process when the build started, and its peak during the build
            "rss_before_build_mb": round(before_build, 1),
            "build_peak_rss_mb": round(build_peak, 1),
            "search_ms_p50": round(percentile(search_ms, 50), 1),
            "search_ms_p95": round(percentile(search_ms, 95), 1),
            "queries": len(search_ms),
            **parts,
            **recall,
            "replica_cold_start_to_first_answer_s": round(cold_s, 2),
            "open_version_s": round(open_s, 2),
            "add_one_article_s": round(add_s, 2),
            "add_phases_s": dict(added.phases),  # where the add's time went (IndexReport.phases)
            "add_embedded_passages": added.embedded_passages,
            "added_article_found_first": bool(found) and found[0].article.id == "999999_pont",
            "remove_one_article_s": round(remove_s, 2),
            "remove_phases_s": dict(gone.phases),
            "ragbot_add_one_article_s": round(ragbot_add_s, 2),
            # the part of it that is not the index build: reading, duplicate check, writing the file
            "ragbot_add_outside_index_s": round(ragbot_add_s - via_add.seconds, 2),
            "ragbot_add_phases_s": dict(via_add.phases),
            "ragbot_remove_one_article_s": round(ragbot_remove_s, 2),
            "ragbot_remove_phases_s": dict(via_remove.phases),
            "ragbot_rss_mb": round(rss_mb(), 1),
            "ragbot_peak_rss_mb": round(peak_rss_mb(), 1),
            **serving,  # a process that only opens the version and answers the questions
            "server_rss_mb": round(rss_mb(server.pid), 1) if server else None,
            "local_disk_mb": round(disk_bytes(settings.data_dir) / 2**20, 1),
            **({"copy_on_write_version_s": round(copy_on_write_s(engine), 1)} if args.copy_on_write and server else {}),
        }
    finally:
        if server:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=500, help="texts per encoder embedded for real")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--qa", type=Path, default=DEV_QA, help="questions to time (default: eval/dev_qa.jsonl)")
    parser.add_argument("--backends", default=",".join(sorted(store_backends())))
    parser.add_argument("--articles", type=Path, help="an existing synthetic folder (default: generated)")
    parser.add_argument(
        "--copy-on-write", action="store_true", help="Milvus: also time a version that copies every row (slow)"
    )
    parser.add_argument(
        "--model-cache",
        type=Path,
        help="where exported models are kept between runs (default: exported in the scratch folder)",
    )
    args = parser.parse_args()
    existing_file(args.qa, "QA file")
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        articles = args.articles or tmp / "articles"
        if args.articles is None:
            write(articles, max(1, round(args.passages / PASSAGES_PER_ARTICLE)))
        if len(backends) == 1:
            print(json.dumps(run(backends[0], articles, tmp, args)), flush=True)
            return
        for backend in backends:  # one process each: memory figures of one backend only
            command = [sys.executable, "-m", "bench.stores", "--backends", backend, "--articles", str(articles)]
            command += ["--sample", str(args.sample), "--queries", str(args.queries), "--qa", str(args.qa)]
            command += ["--model-cache", str(args.model_cache)] if args.model_cache else []
            command += ["--copy-on-write"] if args.copy_on_write else []
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
