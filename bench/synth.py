"""Synthetic French news-like articles at any size, deterministic by seed.

Real sentences of the seed articles are recombined and perturbed: people, places,
numbers and dates are swapped for others (including invented names), so the corpus has
the seeds' style and vocabulary but many distinct facts.

    python -m bench.synth OUT_DIR --articles 1000 --seed 7
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Iterator
from pathlib import Path

from retrieval.corpus.articles import load_articles
from retrieval.corpus.chunking import paragraph_spans, sentence_spans

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = ["Poutine", "Kim", "Lavrov", "Choïgou", "Kirby", "Miller", "Stoltenberg", "Ouchakov", "Choe", "Belousov"]
PLACES = ["Pyongyang", "Moscou", "Séoul", "Washington", "Vladivostok", "Pékin", "Kiev", "Tokyo", "Hanoï", "Téhéran"]
MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
SYLLABLES = ["ka", "lo", "mi", "ra", "sen", "tov", "vi", "dra", "nor", "pek", "an", "su", "zel", "gor", "ich"]


def _seed_sentences() -> list[str]:
    out = []
    for article in load_articles(ROOT / "seeds").articles:
        for start, end in paragraph_spans(article.body):
            out += [article.body[s:e] for s, e in sentence_spans(article.body, start, end) if e - s > 40]
    return out


def _invented(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _perturb(sentence: str, rng: random.Random, people: list[str], places: list[str]) -> str:
    for name in PEOPLE:
        if name in sentence and rng.random() < 0.6:
            sentence = sentence.replace(name, rng.choice(people))
    for place in PLACES:
        if place in sentence and rng.random() < 0.6:
            sentence = sentence.replace(place, rng.choice(places))
    sentence = re.sub(r"\b\d{4}\b", lambda m: str(rng.randint(1990, 2030)), sentence)
    sentence = re.sub(r"\b\d{1,3}\b", lambda m: str(rng.randint(1, 99)), sentence)
    return re.sub("|".join(MONTHS), lambda m: rng.choice(MONTHS), sentence)


def generate(n_articles: int, seed: int = 7) -> Iterator[tuple[str, str]]:
    """(file name, text) of ``n_articles`` articles."""
    rng = random.Random(seed)
    pool = _seed_sentences()
    people = PEOPLE + [_invented(rng) for _ in range(200)]
    places = PLACES + [_invented(rng) + "grad" for _ in range(100)]
    for i in range(n_articles):
        paragraphs = []
        for _ in range(rng.randint(5, 12)):
            sentences = [_perturb(rng.choice(pool), rng, people, places) for _ in range(rng.randint(1, 4))]
            paragraphs.append(" ".join(sentences))
        title = " ".join(_perturb(rng.choice(pool), rng, people, places).split()[:9]).rstrip(",;:")
        day, month, year = rng.randint(1, 28), rng.choice(MONTHS), rng.randint(2019, 2025)
        yield f"synth_{seed}_{i:07d}.txt", f"{title}\n\n{day} {month} {year}\n\n" + "\n\n".join(paragraphs) + "\n"


def write(out: Path, n_articles: int, seed: int = 7) -> int:
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, text in generate(n_articles, seed):
        (out / name).write_text(text, encoding="utf-8")
        count += 1
    return count


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(write(args.out, args.articles, args.seed))
