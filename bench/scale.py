"""Index build, search latency, memory and disk at scale, on a synthetic corpus (bench/synth.py).

    python -m bench.scale --passages 10000            # quick size (make bench)
    python -m bench.scale --passages 100000 --sample 3000

Embedding 100k+ real passages takes hours on two cores, so a real sample of ``--sample``
texts per encoder is embedded (its throughput is measured, torch fp32 baseline included)
and the other vectors are derived from it (perturbed copies). The output says so. Search,
memory and disk figures are measured on the real pipeline and the full-size index.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.stats import percentile
from bench.synth import write
from retrieval import Engine, Settings
from retrieval.engine import default_encoders
from retrieval.evaluation import load_qa
from retrieval.indexer import Encoders

ROOT = Path(__file__).resolve().parent.parent
PASSAGES_PER_ARTICLE = 9.5  # measured on the generator's output


class SampledEncoder:
    """Real vectors for the first ``sample`` texts it sees, perturbed copies of them afterwards."""

    def __init__(self, real: object, sample: int, seed: int = 0) -> None:
        self.real = real
        self.sample = sample
        self.seen: list[np.ndarray] = []
        self.encode_seconds = 0.0
        self.real_texts = 0
        self.rng = np.random.default_rng(seed)

    @property
    def name(self) -> str:
        return self.real.name  # type: ignore[attr-defined]

    @property
    def dim(self) -> int:
        return self.real.dim  # type: ignore[attr-defined]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        start = time.perf_counter()
        texts = list(texts)
        room = max(0, self.sample - self.real_texts)
        real = self.real.encode(texts[:room]) if room else np.zeros((0, self.dim), np.float32)  # type: ignore[attr-defined]
        self.real_texts += len(real)
        self.seen += list(real)
        rest = len(texts) - len(real)
        if rest:
            base = np.stack([self.seen[i] for i in self.rng.integers(0, len(self.seen), rest)])
            noisy = base + self.rng.normal(0, 0.02, base.shape).astype(np.float32)
            real = np.vstack([real, noisy / np.linalg.norm(noisy, axis=1, keepdims=True)])
        self.encode_seconds += time.perf_counter() - start
        return real.astype(np.float32)


def throughput(encoder: object, texts: list[str]) -> float:
    encoder.encode(texts[:4])  # type: ignore[attr-defined]
    start = time.perf_counter()
    encoder.encode(texts)  # type: ignore[attr-defined]
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=1000, help="texts per encoder embedded for real")
    parser.add_argument("--throughput-texts", type=int, default=256)
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        articles, data = Path(tmp) / "articles", Path(tmp) / "data"
        write(articles, max(1, round(args.passages / PASSAGES_PER_ARTICLE)))
        settings = Settings(_env_file=None, articles_dir=articles, data_dir=data)

        # Encoder throughput on real passages: torch fp32 baseline vs the configured backends.
        sample_texts = [
            p.read_text(encoding="utf-8")[:550] for p in sorted(articles.iterdir())[: args.throughput_texts]
        ]
        rates = {}
        for backend in ("torch", "onnx", "onnx-int8"):
            enc = default_encoders(settings.with_changes(embedding_backend=backend)).embedding
            rates[f"minilm_{backend}_texts_per_s"] = round(throughput(enc, sample_texts), 1)
        rates["use_texts_per_s"] = round(throughput(default_encoders(settings).multilingual, sample_texts), 1)

        real = default_encoders(settings)
        sampled = Encoders(SampledEncoder(real.embedding, args.sample), SampledEncoder(real.multilingual, args.sample))
        engine = Engine(settings, encoders=lambda _s: sampled)
        start = time.perf_counter()
        report = engine.index()
        build = time.perf_counter() - start
        encode = sampled.embedding.encode_seconds + sampled.multilingual.encode_seconds  # type: ignore[union-attr]

        questions = [q.question for q in load_qa(ROOT.parent / "shared" / "eval" / "dev_qa.jsonl")]
        questions = (questions * (args.queries // len(questions) + 1))[: args.queries]
        engine.search(questions[0], 5)
        lat = []
        for q in questions:
            t = time.perf_counter()
            engine.search(q, 5)
            lat.append((time.perf_counter() - t) * 1000)
        snap = engine.snapshot()
        recall = hnsw_recall(snap)
        disk = sum(f.stat().st_size for f in snap.path.iterdir())

        probe = (
            "import time; t=time.perf_counter(); from retrieval import Engine, Settings; "
            f"e=Engine(Settings(_env_file=None, data_dir={str(data)!r})); e.search('What did the treaty include?', 5); "
            "[e.search(q, 5) for q in ['sanctions', 'missiles balistiques', 'Kim Jong-un']]; "
            "rss = int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]) / 1024; "
            "print(rss, time.perf_counter() - t)"
        )
        rss_mb, load_s = map(
            float,
            subprocess.run(
                [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=os.environ
            ).stdout.split(),
        )
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot", "ask", "What did the treaty include?"],
            capture_output=True,
            check=True,
            env=os.environ | {"RAGBOT_DATA_DIR": str(data)},
        )
        cold = time.perf_counter() - t

    print(
        json.dumps(
            {
                "passages": report.passages,
                "articles": report.articles,
                "sentences": snap.manifest.counts.get("sentences"),
                "index_types": snap.manifest.index_types,
                "vectors": f"{args.sample} real texts per encoder, the rest derived (perturbed copies)",
                **rates,
                "minilm_int8_speedup_vs_torch_fp32": round(
                    rates["minilm_onnx-int8_texts_per_s"] / rates["minilm_torch_texts_per_s"], 2
                ),
                "build_seconds": round(build, 1),
                "build_encode_seconds": round(encode, 1),
                "build_index_seconds": round(build - encode, 1),
                "build_passages_per_s_excluding_encode": round(report.passages / max(build - encode, 1e-9)),
                "search_ms_p50": round(percentile(lat, 50), 1),
                "search_ms_p95": round(percentile(lat, 95), 1),
                "hnsw_recall_at_10_vs_exact": recall,
                "resident_mb_loaded_and_searching": round(rss_mb),
                "load_and_4_searches_s": round(load_s, 2),
                "cold_start_ask_s": round(cold, 2),
                "disk_mb": round(disk / 1e6, 1),
            }
        )
    )


def hnsw_recall(snap: object, queries: int = 50, k: int = 10) -> dict[str, float]:
    """For each HNSW index: recall@k of its search against exact search over the same vectors."""
    import faiss

    out = {}
    for name, index in snap.dense.items():  # type: ignore[attr-defined]
        if not hasattr(index, "hnsw"):
            continue
        vectors = index.reconstruct_n(0, index.ntotal)
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(vectors)
        rng = np.random.default_rng(1)
        q = vectors[rng.integers(0, len(vectors), queries)] + rng.normal(0, 0.05, (queries, vectors.shape[1]))
        q = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
        _, approx = index.search(q, k)
        _, truth = exact.search(q, k)
        out[name] = round(float(np.mean([len(set(a) & set(t)) / k for a, t in zip(approx, truth, strict=True)])), 4)
    return out


if __name__ == "__main__":
    main()
