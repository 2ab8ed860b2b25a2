"""Quick benchmark on the seeds: build time, warm search latency, cold start, recall@5.

Prints one JSON object. Not a test: numbers depend on the machine.
    python -m bench.run --quick [--qa eval/heldout_qa.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.stats import DEV_QA, existing_file, percentile

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="seeds only (the default today)")
    parser.add_argument("--qa", type=Path, default=DEV_QA, help="QA file, JSON lines (default: eval/dev_qa.jsonl)")
    parser.add_argument("--repeat", type=int, default=3, help="cold-start runs")
    parser.add_argument("--models", type=Path, default=None, help="model cache to reuse (default: a fresh one)")
    args = parser.parse_args()
    existing_file(args.qa, "QA file")

    from retrieval import Engine, Settings
    from retrieval.evaluation import evaluate, load_qa

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None, articles_dir=ROOT / "seeds", data_dir=Path(tmp) / "data", model_cache_dir=args.models
        )
        engine = Engine(settings)
        t0 = time.perf_counter()
        report = engine.index()
        build = time.perf_counter() - t0

        qa = load_qa(args.qa)
        engine.search("warm-up", 5)
        latencies, answering = [], []
        for item in qa:
            t = time.perf_counter()
            hits = engine.search(item.question, 5)
            latencies.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            engine.answer_hits(item.question, hits)
            answering.append((time.perf_counter() - t) * 1000)
        ev = evaluate(qa, engine.search, engine.answer_hits, k=10)
        overall = {r.name: r for r in ev.rows}

        env = os.environ | {
            "RAGBOT_DATA_DIR": str(settings.data_dir),
            "RAGBOT_ARTICLES_DIR": str(settings.articles_dir),
        }
        if args.models is not None:
            env["RAGBOT_MODEL_CACHE_DIR"] = str(args.models)
        cold = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "bot", "ask", "What did the treaty include?"],
                env=env,
                capture_output=True,
                check=True,
            )
            cold.append(time.perf_counter() - t)

    print(
        json.dumps(
            {
                "corpus": "seeds",
                "articles": report.articles,
                "passages": report.passages,
                "encoders": {"embedding": settings.embedding_model, "multilingual": settings.multilingual_model},
                "index_build_seconds": round(build, 3),
                "search_ms_p50": round(percentile(latencies, 50), 2),
                "search_ms_p95": round(percentile(latencies, 95), 2),
                "answer_ms_on_top_of_search_p50": round(percentile(answering, 50), 3),
                "answer_ms_on_top_of_search_p95": round(percentile(answering, 95), 3),
                "cold_start_ask_seconds_median": round(percentile(cold, 50), 3),
                "recall_at_5": {name: round(r.recall_at_5, 3) for name, r in overall.items()},
                "mrr": {name: round(r.mrr, 3) for name, r in overall.items()},
                "answer_quotes_gold": {name: round(r.answer_quotes_gold, 3) for name, r in overall.items()},
                "abstained": {name: f"{r.abstained_correctly}/{r.unanswerable}" for name, r in overall.items()},
                "false_abstentions": {name: r.false_abstentions for name, r in overall.items()},
                "questions": len(qa),
            }
        )
    )


if __name__ == "__main__":
    main()
