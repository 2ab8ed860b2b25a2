"""Train the lead-sentence scorer (``retrieval/answers/lead_weights.json``) on a QA set's dev half.

For each answerable question, the search runs as in ``ragbot ask`` and every candidate sentence
of the answerer's passages is described by :data:`retrieval.answers.lead.FEATURES`; the
sentences that hold the gold text (in the gold article) are the positives. A softmax over
each question's candidates is fitted to put its mass on the positives (L2-regularised
gradient descent, numpy only), and judged by 5-fold cross-validation on the same questions
(questions whose passages hold no gold sentence are retrieval misses and left out). The
weights are written as JSON: plain numbers, read by :class:`~retrieval.answers.lead.LeadScorer`.

    python -m bench.train_lead --articles PIAF/articles --qa PIAF/piaf_dev_qa.jsonl \\
        --data /tmp/piaf-data --out retrieval/answers/lead_weights.json

Prints one JSON line of figures on stdout: lead accuracy (the top candidate holds the gold)
for the bundled weights, the trained ones (cross-validated) and the old rule (cosine alone).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from retrieval import Engine, Settings
from retrieval.answers.extractive import ExtractiveAnswerer
from retrieval.answers.late import LateInteraction
from retrieval.answers.lead import FEATURES, LeadScorer
from retrieval.evaluation import fold, load_qa


def collect(engine: Engine, qa: Path, k: int) -> tuple[list[np.ndarray], list[np.ndarray], dict[str, int]]:
    """Per answerable question: its candidates' features and which of them hold the gold text."""
    # Its candidate pool and features, late interaction included; the weights play no part here.
    answerer = ExtractiveAnswerer(
        late=LateInteraction(lambda: engine.encoders.multilingual, language=engine.settings.articles_language)
    )
    groups, labels, counts = [], [], {"questions": 0, "no_gold_candidate": 0, "kept": 0}
    for item in load_qa(qa):
        if not item.answerable:
            continue
        counts["questions"] += 1
        hits = engine.search(item.question, k)
        ranked = answerer.rank(hits, item.question)
        gold = [(g.doc, fold(g.contains)) for g in item.gold]
        y = np.array(
            [any(c.hit.article.id == doc and text in fold(c.sentence.text) for doc, text in gold) for c, _ in ranked]
        )
        if not y.any() or y.all():
            counts["no_gold_candidate"] += int(not y.any())
            continue
        groups.append(np.array([c.features for c, _ in ranked], dtype=np.float64))
        labels.append(y)
        counts["kept"] += 1
    return groups, labels, counts


def _padded(groups: list[np.ndarray], labels: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Questions as one array (question x candidate x feature), with a mask of real candidates."""
    width = max(len(x) for x in groups)
    x = np.zeros((len(groups), width, groups[0].shape[1]))
    y = np.zeros((len(groups), width))
    mask = np.zeros((len(groups), width), dtype=bool)
    for i, (g, lab) in enumerate(zip(groups, labels, strict=True)):
        x[i, : len(g)], y[i, : len(g)], mask[i, : len(g)] = g, lab, True
    return x, y, mask


def fit(groups: list[np.ndarray], labels: list[np.ndarray], *, l2: float = 1e-3, steps: int = 2000) -> np.ndarray:
    """Weights maximising the mean log of each question's softmax mass on its positives (Adam)."""
    x, y, mask = _padded(groups, labels)
    w = np.zeros(x.shape[2])
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    lr, b1, b2 = 0.05, 0.9, 0.999
    for t in range(1, steps + 1):
        s = np.where(mask, x @ w, -np.inf)
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        q = p * y
        q /= q.sum(axis=1, keepdims=True)
        grad = l2 * w - np.einsum("qc,qcf->f", q - p, x) / len(groups)
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad**2
        w -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + 1e-8)
    return w


def accuracy(w: np.ndarray, groups: list[np.ndarray], labels: list[np.ndarray]) -> float:
    return float(np.mean([y[int(np.argmax(x @ w))] for x, y in zip(groups, labels, strict=True)]))


def cross_validated(groups: list[np.ndarray], labels: list[np.ndarray], folds: int = 5) -> float:
    hits = 0
    for f in range(folds):
        train = [i for i in range(len(groups)) if i % folds != f]
        test = [i for i in range(len(groups)) if i % folds == f]
        w = fit([groups[i] for i in train], [labels[i] for i in train])
        hits += sum(labels[i][int(np.argmax(groups[i] @ w))] for i in test)
    return hits / len(groups)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=Path, required=True)
    ap.add_argument("--qa", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True, help="data folder for the index (built if missing)")
    ap.add_argument("--model-cache", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None, help="where to write the weights (JSON)")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--cache", type=Path, default=None, help="features collected once, reused (.npz)")
    args = ap.parse_args()

    settings = Settings(
        _env_file=None, articles_dir=args.articles, data_dir=args.data, model_cache_dir=args.model_cache
    )
    if args.cache and args.cache.exists():
        cached = np.load(args.cache, allow_pickle=False)
        if tuple(cached["features"]) != FEATURES:
            sys.exit(f"{args.cache} holds other features; delete it")
        ends = np.cumsum(cached["sizes"])[:-1]
        groups, labels = np.split(cached["x"], ends), np.split(cached["y"], ends)
        counts = json.loads(str(cached["counts"]))
    else:
        engine = Engine(settings)
        engine.index()
        groups, labels, counts = collect(engine, args.qa, args.k)
        if args.cache:
            np.savez(
                args.cache,
                x=np.concatenate(groups),
                y=np.concatenate(labels),
                sizes=np.array([len(g) for g in groups]),
                features=np.array(FEATURES),
                counts=json.dumps(counts),
            )
    print(f"{counts['kept']} questions with a gold candidate among others", file=sys.stderr)
    w = fit(groups, labels)
    baseline = np.zeros(len(FEATURES))
    baseline[FEATURES.index("similarity_gap")] = 1.0
    figures = {
        **counts,
        "lead_cosine_alone": round(accuracy(baseline, groups, labels), 4),
        "lead_bundled_weights": round(accuracy(np.array(LeadScorer.bundled().weights), groups, labels), 4),
        "lead_trained_5fold": round(cross_validated(groups, labels), 4),
        "lead_trained_on_all": round(accuracy(w, groups, labels), 4),
        "weights": {name: round(float(x), 4) for name, x in zip(FEATURES, w, strict=True)},
    }
    print(json.dumps(figures))
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "features": list(FEATURES),
                    "weights": [round(float(x), 6) for x in w],
                    "bias": 0.0,
                    "trained": f"bench/train_lead.py on {args.qa.name}: {counts['kept']} questions, "
                    f"lead {figures['lead_trained_5fold']} (5-fold)",
                },
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
