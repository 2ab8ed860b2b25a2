"""The "not prose" check on real folders and on hostile text at the size cap. Prints one JSON object.

python -m bench.prose seeds PIAF/articles

For each folder: how many articles pass, the refused ones with their reason, and the extreme
value of each measure (with the article holding it), to set against the thresholds in
``retrieval/corpus/prose.py``. Then the time the whole check takes on hostile bodies of
``--size`` bytes (default 5 MB, RAGBOT_MAX_ARTICLE_BYTES's default).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from retrieval.corpus.articles import iter_article_files, parse_article
from retrieval.corpus.prose import check_prose, measure
from retrieval.errors import BadArticle

MEASURES = {  # name: True when a low value is the suspicious side
    "word_share": True,
    "long_word_share": False,
    "longest": False,
    "top_share": False,
    "window_variety": True,
    "guiraud": True,
}


def folder_report(folder: Path) -> dict[str, object]:
    rows: list[tuple[str, dict[str, float]]] = []
    refused: dict[str, str] = {}
    for path in iter_article_files(folder):
        try:
            article = parse_article(path.read_bytes(), path)
        except BadArticle as err:
            refused[path.name] = err.reason
            continue
        m = measure(article.body)
        values = {
            "word_share": m.words / max(m.tokens, 1),
            "long_word_share": m.long_word_share,
            "longest": m.longest,
            "top_share": m.top_share,
            "window_variety": m.window_variety,
            "guiraud": m.guiraud,
        }
        rows.append((path.stem, values))
    extremes = {}
    for name, low_is_bad in MEASURES.items():
        pick = min if low_is_bad else max
        article, values = pick(rows, key=lambda r, name=name: r[1][name])
        extremes[name] = {"value": round(values[name], 3), "article": article}
    return {"folder": str(folder), "passed": len(rows), "refused": refused, "extremes": extremes}


def hostile(size: int) -> dict[str, str]:
    rng = random.Random(21)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(5000)]
    bodies = {
        "one letter": "a" * size,
        "one word repeated": ("Poutine " * (size // 8))[:size],
        "a paragraph repeated": (
            "Le président russe a rencontré le dirigeant nord-coréen à Pyongyang pour signer un traité. " * size
        )[:size],
        "long runs of letters": ("".join(rng.choice("abcdefghij") for _ in range(500)) + " ") * (size // 501),
        "random word-sized letters": " ".join(rng.choice(words) for _ in range(size // 6))[:size],
        "cyrillic repeated": ("Путин встретился с Ким Чен Ыном " * size)[:size],
    }
    timings = {}
    for name, body in bodies.items():
        start = time.perf_counter()
        try:
            check_prose(body, Path(name))
            verdict = "passed"
        except BadArticle as err:
            verdict = err.reason
        timings[name] = {"seconds": round(time.perf_counter() - start, 3), "verdict": verdict}
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[Path("seeds")])
    parser.add_argument("--size", type=int, default=5_000_000, help="bytes of each hostile body")
    args = parser.parse_args()
    for folder in args.folders:
        if not folder.is_dir():
            print(f"error: articles folder {folder} does not exist or is not a folder", file=sys.stderr)
            sys.exit(1)
    report = {"folders": [folder_report(f) for f in args.folders], "hostile": hostile(args.size)}
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
