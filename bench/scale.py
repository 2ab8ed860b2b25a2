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
from statistics import median

import numpy as np

from bench.stats import DEV_QA, existing_file, percentile
from bench.synth import write
from retrieval import Engine, Settings
from retrieval.encoders.registry import BACKENDS
from retrieval.engine import default_encoders
from retrieval.evaluation import load_qa
from retrieval.types import Encoders

ROOT = Path(__file__).resolve().parent.parent
PASSAGES_PER_ARTICLE = 9.5  # measured on the generator's output


class SampledEncoder:
    """Real vectors for the first ``sample`` texts it sees, derived vectors afterwards.

    A derived vector mixes two real ones (70-100% of the first) and adds noise of norm ~0.35,
    then is normalised: it sits near real text in the space without being a near-copy of one
    vector, so the approximate indexes face neighbourhoods like real ones rather than tight
    clusters of duplicates (which made recall@10 against exact search meaningless).
    """

    def __init__(self, real: object, sample: int, seed: int = 0) -> None:
        self.real = real
        self.sample = sample
        self.seen: list[np.ndarray] = []  # the real vectors so far (joined only to derive: no copy per call)
        self.encode_seconds = 0.0
        self.real_texts = 0
        self.derived_texts = 0
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
        if len(real):
            self.seen.append(np.asarray(real, dtype=np.float32))
        rest = len(texts) - len(real)
        self.derived_texts += rest
        if rest:
            if len(self.seen) > 1:
                self.seen = [np.vstack(self.seen)]
            seen = self.seen[0]
            first = seen[self.rng.integers(0, len(seen), rest)]
            second = seen[self.rng.integers(0, len(seen), rest)]
            share = self.rng.uniform(0.7, 1.0, (rest, 1)).astype(np.float32)
            noise = self.rng.normal(0, 0.35 / np.sqrt(self.dim), first.shape).astype(np.float32)
            mixed = share * first + (1 - share) * second + noise
            real = np.vstack([real, mixed / np.linalg.norm(mixed, axis=1, keepdims=True)])
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
    parser.add_argument("--rounds", type=int, default=3, help="interleaved throughput rounds (medians)")
    parser.add_argument("--qa", type=Path, default=DEV_QA, help="questions to time (default: eval/dev_qa.jsonl)")
    parser.add_argument("--keep", help="build in this folder and keep it (default: a temporary one)")
    parser.add_argument("--models", type=Path, default=None, help="model cache to reuse (default: a fresh one)")
    parser.add_argument(
        "--backends", default="torch,configured", help="backends whose throughput to compare (comma-separated)"
    )
    args = parser.parse_args()
    existing_file(args.qa, "QA file")

    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(args.keep) if args.keep else Path(scratch)
        articles, data = tmp / "articles", tmp / "data"
        write(articles, max(1, round(args.passages / PASSAGES_PER_ARTICLE)))
        settings = Settings(_env_file=None, articles_dir=articles, data_dir=data, model_cache_dir=args.models)

        # Throughput of the passage encoder (the embedding role's, else the multilingual one's) on
        # real passages, per backend, interleaved over rounds (medians): two cores make single runs noisy.
        sample_texts = [
            p.read_text(encoding="utf-8")[:550] for p in sorted(articles.iterdir())[: args.throughput_texts]
        ]
        names = [settings.embedding_backend if b == "configured" else b for b in args.backends.split(",")]
        backends = {}
        for b in dict.fromkeys(names):
            if b not in BACKENDS:
                sys.exit(f"error: unknown backend {b!r}; one of {', '.join(BACKENDS)}")
            made = default_encoders(settings.with_changes(embedding_backend=b))
            backends[b] = made.embedding or made.multilingual
        runs: dict[str, list[float]] = {b: [] for b in backends}
        for _ in range(args.rounds):
            for b, enc in backends.items():
                runs[b].append(throughput(enc, sample_texts))
        rates = {f"encoder_{b}_texts_per_s": round(median(r), 1) for b, r in runs.items()}

        real = default_encoders(settings)
        sampled = Encoders(
            SampledEncoder(real.embedding, args.sample) if real.embedding else None,
            SampledEncoder(real.multilingual, args.sample) if real.multilingual else None,
        )
        used = [e for e in (sampled.embedding, sampled.multilingual) if e is not None]
        builder = Engine(settings, encoders=lambda _s: sampled)
        start = time.perf_counter()
        report = builder.index()
        build = time.perf_counter() - start
        encode = sum(e.encode_seconds for e in used)  # type: ignore[attr-defined]
        real_texts = sum(e.real_texts for e in used)  # type: ignore[attr-defined]
        derived_texts = sum(e.derived_texts for e in used)  # type: ignore[attr-defined]

        # Queries go through the real encoders (the snapshot records the same model names).
        engine = Engine(settings, encoders=lambda _s: real)
        questions = [q.question for q in load_qa(args.qa)]
        questions = (questions * (args.queries // len(questions) + 1))[: args.queries]
        engine.search(questions[0], 5)
        engine.ask(questions[0])
        search_ms, ask_ms = [], []
        for q in questions:
            t = time.perf_counter()
            engine.search(q, 5)
            search_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            engine.ask(q)
            ask_ms.append((time.perf_counter() - t) * 1000)
        snap = engine.snapshot()
        # every text the encoders read: each dense role's passages, and the multilingual role's sentences
        sentences = snap.manifest.counts.get("sentences") or 0
        all_texts = report.passages * len(used) + (sentences if real.multilingual is not None else 0)
        recall = approximate_recall(snap, real, list(dict.fromkeys(questions)))  # each question once
        disk = sum(f.stat().st_size for f in snap.path.iterdir())

        cache = settings.model_cache_dir or data / "models"
        probe = (
            "import time; t=time.perf_counter(); from retrieval import Engine, Settings; "
            f"e=Engine(Settings(_env_file=None, data_dir={str(data)!r}, model_cache_dir={str(cache)!r})); "
            "e.search('What did the treaty include?', 5); "
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
            env=os.environ
            | {
                "RAGBOT_DATA_DIR": str(data),
                "RAGBOT_MODEL_CACHE_DIR": str(settings.model_cache_dir or data / "models"),
            },
        )
        cold = time.perf_counter() - t

    print(
        json.dumps(
            {
                "passages": report.passages,
                "articles": report.articles,
                "sentences": snap.manifest.counts.get("sentences"),
                "index_types": snap.manifest.index_types,
                "encoders": {"embedding": settings.embedding_model, "multilingual": settings.multilingual_model},
                "vectors": (
                    "all real"
                    if not derived_texts  # a text met twice is encoded once: fewer than all_texts
                    else f"{args.sample} real texts per encoder, the rest derived (mixes of real vectors + noise)"
                ),
                **rates,
                "throughput_rounds": args.rounds,
                **{
                    f"encoder_{b}_speedup_vs_torch_fp32": round(
                        rates[f"encoder_{b}_texts_per_s"] / rates["encoder_torch_texts_per_s"], 2
                    )
                    for b in backends
                    if b != "torch" and "torch" in backends
                },
                "build_seconds": round(build, 1),
                "build_passages_per_s": round(report.passages / max(build, 1e-9), 1),
                "build_phases_seconds": {k: round(v, 1) for k, v in report.phases.items()},
                "build_encode_seconds_real_sample": round(encode, 1),
                "build_real_texts_encoded": real_texts,
                "build_index_seconds": round(build - encode, 1),
                "build_passages_per_s_excluding_encode": round(report.passages / max(build - encode, 1e-9)),
                # what encoding every passage and sentence for real takes, at the configured backend's rate
                "projected_encode_seconds_all_real": round(
                    all_texts / rates[f"encoder_{settings.embedding_backend}_texts_per_s"]
                )
                if f"encoder_{settings.embedding_backend}_texts_per_s" in rates
                else None,
                "search_ms_p50": round(percentile(search_ms, 50), 1),
                "search_ms_p95": round(percentile(search_ms, 95), 1),
                "ask_ms_p50": round(percentile(ask_ms, 50), 1),
                "ask_ms_p95": round(percentile(ask_ms, 95), 1),
                "approximate_recall_at_10_vs_exact": recall,
                "resident_mb_loaded_and_searching": round(rss_mb),
                "load_and_4_searches_s": round(load_s, 2),
                "cold_start_ask_s": round(cold, 2),
                "disk_mb": round(disk / 1e6, 1),
            }
        )
    )


def approximate_recall(
    snap: object,
    encoders: Encoders,
    questions: Sequence[str],
    k: int = 10,
    efs: Sequence[int] = (100, 200, 400),
    nprobes: Sequence[int] = (16, 32, 64, 128),
) -> dict[str, dict[str, float]]:
    """For each approximate index: recall@k of its search against exact search, with real questions,
    and the time of that search alone, for several search breadths (HNSW efSearch, IVF nprobe).

    The exact side searches the vectors the index stores (decoded, for quantised ones), so this
    isolates the approximation of the search; the quantisation itself is checked by the dev-set
    recall@5 before and after (see the README).
    """
    import faiss

    role = {"embedding": encoders.embedding, "multilingual": encoders.multilingual}
    out = {}
    for name, index in snap.dense.items():  # type: ignore[attr-defined]
        if role.get(name) is None or not (hasattr(index, "hnsw") or hasattr(index, "nprobe")):
            continue
        q = np.ascontiguousarray(role[name].encode(list(questions)), dtype=np.float32)  # type: ignore[union-attr]
        exact = faiss.IndexFlatIP(index.d)
        for start in range(0, index.ntotal, 200_000):  # decoded in slices: bounded extra memory
            exact.add(index.reconstruct_n(start, min(200_000, index.ntotal - start)))
        _, truth = exact.search(q, k)
        del exact
        if hasattr(index, "hnsw"):
            knob, values, obj, label = "efSearch", efs, index.hnsw, "ef"
        else:
            knob, values, obj, label = "nprobe", nprobes, index, "nprobe"
        before = getattr(obj, knob)
        for value in values:
            setattr(obj, knob, value)
            t = time.perf_counter()
            approx = [index.search(q[i : i + 1], 100)[1][0][:k] for i in range(len(q))]  # as search asks: 100
            ms = (time.perf_counter() - t) * 1000 / len(q)
            hit = np.mean([len(set(a) & set(b)) / k for a, b in zip(approx, truth, strict=True)])
            out[f"{name}@{label}{value}"] = {"recall": round(float(hit), 4), "ms_per_query": round(ms, 2)}
        setattr(obj, knob, before)
    return out


if __name__ == "__main__":
    main()
