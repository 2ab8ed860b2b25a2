"""Turn search hits into an :class:`Answer` with numbered citations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .articles import ArticleInfo
from .chunking import Passage
from .search import Hit


@dataclass(frozen=True)
class Citation:
    n: int
    article: ArticleInfo
    passage: Passage
    quote: str
    score: float


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    abstained: bool


class Answerer(Protocol):
    def answer(self, question: str, hits: Sequence[Hit]) -> Answer: ...


class PassageAnswerer:
    """The simplest faithful answer: the best passage, quoted, with the runners-up cited."""

    def __init__(self, max_citations: int = 3) -> None:
        self.max_citations = max_citations

    def answer(self, question: str, hits: Sequence[Hit]) -> Answer:
        if not hits:
            return Answer(question=question, text="", citations=(), abstained=True)
        citations = tuple(
            Citation(n=i, article=h.article, passage=h.passage, quote=h.passage.text, score=h.score)
            for i, h in enumerate(hits[: self.max_citations], start=1)
        )
        return Answer(question=question, text=f"{citations[0].quote} [1]", citations=citations, abstained=False)
