"""Retrieval and abstention metrics over a QA file (JSON lines).

Each line: ``{"id", "lang", "question", "answerable", "gold": [{"doc", "contains"}]}``.
A hit matches a gold item when its article is ``doc`` and its text contains
``contains`` after :func:`fold` on both sides.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import RagbotError
from .types import Answer, Hit

_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "´": "'", "“": '"', "”": '"', "«": '"', "»": '"'})


def fold(text: str) -> str:
    """NFKC, straight quotes, collapsed whitespace, casefolded: the matching rule for gold text."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip().casefold()


@dataclass(frozen=True)
class Gold:
    doc: str
    contains: str


@dataclass(frozen=True)
class QAItem:
    id: str
    lang: str
    question: str
    answerable: bool
    gold: tuple[Gold, ...]


def load_qa(path: Path) -> list[QAItem]:
    items = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            items.append(
                QAItem(
                    id=str(d["id"]),
                    lang=str(d.get("lang", "?")),
                    question=str(d["question"]),
                    answerable=bool(d.get("answerable", True)),
                    gold=tuple(Gold(str(g["doc"]), str(g["contains"])) for g in d.get("gold", [])),
                )
            )
        except (ValueError, KeyError, TypeError) as err:
            raise RagbotError(f"{path}:{n}: not a QA item ({err})") from None
    return items


def first_match_rank(hits: Sequence[Hit], gold: Iterable[Gold]) -> int | None:
    """1-based rank of the first hit that holds a gold answer, or None."""
    wanted = [(g.doc, fold(g.contains)) for g in gold]
    for hit in hits:
        text = fold(hit.passage.text)
        if any(hit.article.id == doc and needle in text for doc, needle in wanted):
            return hit.rank
    return None


def answer_quotes_gold(answer: Answer, gold: Iterable[Gold]) -> bool:
    """The answer's text holds a gold substring, from a passage of the gold article it cites."""
    text = fold(answer.text)
    cited = {c.article.id for c in answer.citations}
    return any(g.doc in cited and fold(g.contains) in text for g in gold)


@dataclass(frozen=True)
class Row:
    """Metrics for one slice of the QA set (a language, or all)."""

    name: str
    answerable: int
    recall_at_1: float
    recall_at_5: float
    mrr: float
    unanswerable: int
    abstained_correctly: int
    false_abstentions: int
    answer_quotes_gold: float

    @property
    def abstention_accuracy(self) -> float | None:
        return self.abstained_correctly / self.unanswerable if self.unanswerable else None


@dataclass(frozen=True)
class ItemResult:
    item: QAItem
    rank: int | None
    abstained: bool
    quoted: bool


@dataclass(frozen=True)
class EvalReport:
    rows: tuple[Row, ...]
    items: tuple[ItemResult, ...]
    k: int


def evaluate(
    items: Sequence[QAItem],
    search: Callable[[str, int], Sequence[Hit]],
    answer: Callable[[str, Sequence[Hit]], Answer],
    *,
    k: int = 10,
) -> EvalReport:
    """Run every question through ``search`` then ``answer`` and score it."""
    results = []
    for item in items:
        hits = search(item.question, k)
        reply = answer(item.question, hits)
        results.append(
            ItemResult(item, first_match_rank(hits, item.gold), reply.abstained, answer_quotes_gold(reply, item.gold))
        )
    langs = sorted({r.item.lang for r in results})
    rows = [_row(lang, [r for r in results if r.item.lang == lang]) for lang in langs]
    rows.append(_row("all", results))
    return EvalReport(rows=tuple(rows), items=tuple(results), k=k)


def _row(name: str, results: Sequence[ItemResult]) -> Row:
    ans = [r for r in results if r.item.answerable]
    una = [r for r in results if not r.item.answerable]
    n = len(ans) or 1
    return Row(
        name=name,
        answerable=len(ans),
        recall_at_1=sum(r.rank == 1 for r in ans) / n,
        recall_at_5=sum(r.rank is not None and r.rank <= 5 for r in ans) / n,
        mrr=sum(1 / r.rank for r in ans if r.rank) / n,
        unanswerable=len(una),
        abstained_correctly=sum(r.abstained for r in una),
        false_abstentions=sum(r.abstained for r in ans),
        answer_quotes_gold=sum(r.quoted for r in ans) / n,
    )
