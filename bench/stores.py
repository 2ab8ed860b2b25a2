"""The same collection on every store backend: build, search end to end, add one article, memory.

    python -m bench.stores --passages 100000 --sample 500
    python -m bench.stores --passages 10000 --backends milvus --model-cache /tmp/ragbot-models

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


def metadata_ms(engine: Engine, rounds: int = 60, rows_per_question: int = 20) -> dict[str, float]:
    """What a question's passages cost to read: from the local SQLite (what both stores do), and,
    on Milvus, from the collection itself (text, article id, ordinal by key), had it moved there."""
    import numpy as np

    from retrieval.stores.milvus import in_filter

    snap = engine.snapshot()
    rng = np.random.default_rng(0)
    local, server = [], []
    vectors = snap.vector_set("multilingual") or snap.vector_set("embedding")
    keys = getattr(vectors, "keys", None)  # Milvus: rows <-> keys on the server
    for _ in range(rounds):
        rows = sorted(int(r) for r in rng.choice(snap.size, min(rows_per_question, snap.size), replace=False))
        t = time.perf_counter()
        snap.passages(rows)
        local.append((time.perf_counter() - t) * 1000)
        if keys is not None:
            wanted = keys.passage_keys(rows)
            t = time.perf_counter()
            engine.store.client().query(  # type: ignore[attr-defined]
                vectors.collection,  # type: ignore[union-attr]
                filter=in_filter("pk", wanted),
                output_fields=["text", "article_id", "ordinal"],
            )
            server.append((time.perf_counter() - t) * 1000)
    out = {"metadata_ms_local_sqlite_p50": round(percentile(local, 50), 2)}
    if server:
        out["metadata_ms_from_collection_p50"] = round(percentile(server, 50), 2)
    return out


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
        start = time.perf_counter()
        report = builder.index()
        build = time.perf_counter() - start
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
        metadata = metadata_ms(engine)

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
        engine.remove(library_report.added[0].article_id)
        return {
            "backend": backend,
            "passages": report.passages,
            "articles": report.articles,
            "vectors": f"{args.sample} real texts per encoder, the rest derived (bench/scale.py)",
            "build_s": round(build, 1),
            "build_s_without_encoding": round(build - encode, 1),
            "search_ms_p50": round(percentile(search_ms, 50), 1),
            "search_ms_p95": round(percentile(search_ms, 95), 1),
            "queries": len(search_ms),
            **metadata,
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
            "ragbot_rss_mb": round(rss_mb(), 1),
            "ragbot_peak_rss_mb": round(peak_rss_mb(), 1),
            "server_rss_mb": round(rss_mb(server.pid), 1) if server else None,
            "local_disk_mb": round(
                sum(f.stat().st_size for f in settings.data_dir.rglob("*") if f.is_file()) / 2**20, 1
            ),
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
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
