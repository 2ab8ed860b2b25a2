"""Retrieval and answer quality over a collection and a QA file; one JSON object on stdout.

    python -m bench.quality --articles PIAF/articles --qa PIAF/piaf_dev_qa.jsonl   # PIAF: where the data set is
    python -m bench.quality --articles seeds --qa eval/heldout_qa.jsonl --set weight_multilingual=0
    python -m bench.quality --qa-format belebele --qa BELEBELE/belebele_dev_qa.jsonl \
        --articles BELEBELE/articles --articles BELEBELE/distractors --articles PIAF/articles

Every question searches the whole collection. Then, unless ``--no-absent``, half of the
articles that the questions are about (every other one, sorted by id) are left out of a
second index, and their questions are asked again: a good system now refuses them.

Figures: recall@1/5/10 and MRR@10 of the first passage holding the gold text; false
refusals (answerable questions refused); refusals on absent articles; refusals of the
QA file's unanswerable questions; answers carrying the gold text (answer plus quoted
passages, from the gold article); mean answer length; search and answer latency.
``--set name=value`` overrides any setting (repeatable), so variants run side by side.
``--articles`` may be repeated: the folders are copied into one collection.
``--qa-format belebele`` reads Belebele's lines (``{"id", "question", "article_id", ...}``):
its answers are English options, not substrings of the French passages, so a hit counts when
it comes from the question's article.
Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.stats import percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--articles", type=Path, action="append", required=True, help="folder of articles (repeatable: one collection)"
    )
    parser.add_argument("--qa", type=Path, required=True, help="QA file, JSON lines")
    parser.add_argument(
        "--qa-format", choices=("ragbot", "belebele"), default="ragbot", help="the QA file's line format"
    )
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a setting")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions (0: all)")
    parser.add_argument("--no-absent", action="store_true", help="skip the absent-article run")
    parser.add_argument("--models", type=Path, default=None, help="model cache to reuse between runs")
    parser.add_argument("--label", default="", help="a name for this run in the output")
    parser.add_argument(
        "--curve", action="store_true", help="add the abstention curve: refusals at each threshold (to calibrate)"
    )
    args = parser.parse_args()
    for path in (*args.articles, args.qa):
        if not path.exists():
            sys.exit(f"error: {path} does not exist")

    overrides = dict(_parse_override(s) for s in args.set)
    items = _load_items(args.qa, args.qa_format)
    if args.limit:
        items = items[: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        articles = _collection(args.articles, root / "collection")
        confidences: dict[str, list[float]] | None = {} if args.curve else None
        full = _run(articles, root / "full", items, overrides, args.models, confidences)
        named = [str(a) for a in args.articles]
        out = {"label": args.label, "articles_dir": named[0] if len(named) == 1 else named, "qa": str(args.qa)}
        out |= {"overrides": overrides} | full
        if not args.no_absent:
            out |= _absent(articles, root, items, overrides, args.models, confidences)
        if confidences is not None:
            out["curve"] = _curve(confidences)
    print(json.dumps(out, ensure_ascii=False))


def _load_items(path: Path, form: str) -> list:
    """The QA file as QAItems; a Belebele line's gold is its whole article (an empty substring)."""
    from retrieval.evaluation import Gold, QAItem, load_qa

    if form == "ragbot":
        return load_qa(path)
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                d = json.loads(line)
                items.append(QAItem(str(d["id"]), "en", str(d["question"]), True, (Gold(str(d["article_id"]), ""),)))
            except (ValueError, KeyError, TypeError) as err:
                sys.exit(f"error: {path}:{n}: not a Belebele line ({err})")
    return items


def _collection(folders: list[Path], into: Path) -> Path:
    """One folder of articles: the only one given, or a copy of all of them."""
    if len(folders) == 1:
        return folders[0]
    into.mkdir()
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                if (into / path.name).exists():
                    sys.exit(f"error: two collections hold {path.name}")
                shutil.copy2(path, into / path.name)
    return into


def _parse_override(text: str) -> tuple[str, object]:
    name, sep, value = text.partition("=")
    if not sep:
        sys.exit(f"error: --set {text!r}: expected NAME=VALUE")
    try:
        return name.strip(), json.loads(value)
    except ValueError:
        return name.strip(), value


def _engine(articles: Path, data: Path, overrides: dict, models: Path | None):
    from retrieval import Engine, Settings

    values = {"articles_dir": articles, "data_dir": data} | overrides
    if models is not None:
        values.setdefault("model_cache_dir", models)
    return Engine(Settings(_env_file=None, **values))


def _confidence(judge, question: str, hits: list) -> tuple[str, float]:
    """Which threshold judges ``question`` ("same" or "cross" language) and the score it is judged
    on (the best hit's confidence, or a cross-lingual question's token match); ``judge`` is the
    engine's extractive answerer."""
    cross, score = judge.judgement(question, hits)
    return ("cross" if cross else "same"), (float("-inf") if score is None else score)


def _curve(confidences: dict[str, list[float]]) -> dict:
    """For each kind of question, the share refused at each threshold: answerable ones (false
    refusals) against absent-article and unanswerable ones (right refusals)."""
    import numpy as np

    out: dict[str, list] = {}
    for side in ("same", "cross"):
        answerable = np.asarray(confidences.get(f"answerable-{side}", []))
        refusable = {
            k: np.asarray(v) for k, v in confidences.items() if k.endswith(side) and not k.startswith("answerable")
        }
        if not len(answerable):
            continue
        everything = np.concatenate([answerable, *refusable.values()])
        points = []
        for t in np.unique(np.quantile(everything, np.linspace(0.05, 0.95, 19))):
            point = {"threshold": round(float(t), 4), "false_refusals": round(float(np.mean(answerable < t)), 4)}
            point |= {f"{k.rsplit('-', 1)[0]}_refused": round(float(np.mean(v < t)), 4) for k, v in refusable.items()}
            points.append(point)
        out[side] = points
    return out


def _run(
    articles: Path, data: Path, items: list, overrides: dict, models: Path | None, confidences: dict | None
) -> dict:
    from retrieval.evaluation import first_match_rank, fold

    engine = _engine(articles, data, overrides, models)
    t0 = time.perf_counter()
    report = engine.index()
    index_seconds = time.perf_counter() - t0
    engine.search("warm-up", 10)
    ranks, refused, carried, lengths, search_ms, answer_ms, leads = [], [], [], [], [], [], []
    read_ranks: list[int | None] = []  # in the order the answer reads the passages (re-ranked across languages)
    reader = engine.extractive_answerer()  # what an answer would do, asked apart
    unanswerable_refused = []
    for item in items:
        t = time.perf_counter()
        hits = engine.search(item.question, 10)
        search_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        answer = engine.answer_hits(item.question, hits)
        answer_ms.append((time.perf_counter() - t) * 1000)
        if confidences is not None:
            side, confidence = _confidence(reader, item.question, hits)
            kind = "answerable" if item.answerable else "unanswerable"
            confidences.setdefault(f"{kind}-{side}", []).append(confidence)
        if not item.answerable:
            unanswerable_refused.append(answer.abstained)
            continue
        ranks.append(first_match_rank(hits, item.gold))
        read_ranks.append(first_match_rank(reader.reranked_hits(item.question, hits), item.gold))
        refused.append(answer.abstained)
        lengths.append(len(answer.text))
        carried.append(not answer.abstained and _carries(answer, item.gold, fold))
        leads.append(not answer.abstained and _leads(answer, item.gold, fold))
    n = max(len(ranks), 1)
    return {
        "articles": report.articles,
        "passages": report.passages,
        "index_seconds": round(index_seconds, 2),
        "questions": len(items),
        "answerable": len(ranks),
        "recall_at_1": round(sum(r == 1 for r in ranks if r) / n, 4),
        "recall_at_5": round(sum(r <= 5 for r in ranks if r) / n, 4),
        "recall_at_10": round(sum(r <= 10 for r in ranks if r) / n, 4),
        "mrr_at_10": round(sum(1 / r for r in ranks if r) / n, 4),
        # the same in the order the answer reads the passages: a question across languages re-ranked
        # by late interaction (RAGBOT_RERANK_PASSAGES); equal to the above for the others
        "answer_recall_at_1": round(sum(r == 1 for r in read_ranks if r) / n, 4),
        "answer_recall_at_5": round(sum(r <= 5 for r in read_ranks if r) / n, 4),
        "answer_mrr_at_10": round(sum(1 / r for r in read_ranks if r) / n, 4),
        "false_refusals": round(sum(refused) / n, 4),
        "unanswerable_refused": f"{sum(unanswerable_refused)}/{len(unanswerable_refused)}",
        "answers_carry_gold": round(sum(carried) / n, 4),
        # the first quoted sentence holds the gold text, from a gold article
        "lead_holds_gold": round(sum(leads) / n, 4),
        "mean_answer_chars": round(sum(lengths) / n, 1),
        # the same over the answers that were not refusals (a refusal is one short line)
        "mean_answered_chars": round(
            sum(x for x, r in zip(lengths, refused, strict=True) if not r) / max(1, len(refused) - sum(refused)), 1
        ),
        "search_ms_p50": round(percentile(search_ms, 50), 2),
        "search_ms_p95": round(percentile(search_ms, 95), 2),
        "answer_ms_p50": round(percentile(answer_ms, 50), 2),
    }


def _carries(answer, gold: tuple, fold) -> bool:
    """The answer, with the passages it quotes, holds a gold text from a gold article it cites."""
    cited = {c.article.id for c in answer.citations}
    text = fold(" ".join([answer.text, *(c.quote for c in answer.citations)]))
    return any(g.doc in cited and fold(g.contains) in text for g in gold)


def _leads(answer, gold: tuple, fold) -> bool:
    """The answer's first quoted sentence holds a gold text, from a gold article."""
    if not answer.quotes:
        return False
    first = answer.quotes[0]
    return any(g.doc == first.article_id and fold(g.contains) in fold(first.text) for g in gold)


def _absent(
    articles: Path, root: Path, items: list, overrides: dict, models: Path | None, confidences: dict | None
) -> dict:
    docs = sorted({g.doc for item in items if item.answerable for g in item.gold})
    gone = set(docs[::2])
    kept = root / "kept-articles"
    kept.mkdir()
    for path in sorted(articles.iterdir()):
        if path.is_file() and path.stem not in gone:
            shutil.copy2(path, kept / path.name)
    engine = _engine(kept, root / "absent", overrides, models)
    engine.index()
    asked = [item for item in items if item.answerable and {g.doc for g in item.gold} <= gone]
    judge = engine.extractive_answerer()
    refused = []
    for item in asked:
        hits = engine.search(item.question, 10)
        refused.append(engine.answer_hits(item.question, hits).abstained)
        if confidences is not None:
            side, confidence = _confidence(judge, item.question, hits)
            confidences.setdefault(f"absent-{side}", []).append(confidence)
    return {
        "absent_articles": len(gone),
        "absent_questions": len(asked),
        "absent_refused": round(sum(refused) / max(len(refused), 1), 4),
    }


if __name__ == "__main__":
    main()
