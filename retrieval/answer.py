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


@dataclass(frozen=True)
class AbstainPolicy:
    """When the articles do not hold the answer: no hit is confident enough.

    A hit's confidence is its best question-sentence cosine in the multilingual space
    plus ``coverage_weight`` times the share of the question's words it contains. The
    cosine alone misjudges short questions ("What did the treaty include?" scores low
    against a long French sentence that answers it); word coverage alone is fooled by
    off-topic questions that share a common word. Together they separate the dev set's
    answerable and unanswerable questions with a wider margin than either.
    """

    threshold: float = 0.0
    coverage_weight: float = 0.4

    def confidence(self, hit: Hit) -> float | None:
        if hit.evidence is None:
            return None
        return hit.evidence + self.coverage_weight * hit.coverage

    def abstains(self, hits: Sequence[Hit]) -> bool:
        if not hits:
            return True
        scores = [c for c in map(self.confidence, hits) if c is not None]
        return bool(scores) and max(scores) < self.threshold


class PassageAnswerer:
    """The simplest faithful answer: the best passage, quoted, with the runners-up cited."""

    def __init__(self, max_citations: int = 3, *, policy: AbstainPolicy | None = None) -> None:
        self.max_citations = max_citations
        self.policy = policy or AbstainPolicy()

    def answer(self, question: str, hits: Sequence[Hit]) -> Answer:
        if self.policy.abstains(hits):
            return Answer(question=question, text="", citations=(), abstained=True)
        citations = tuple(
            Citation(n=i, article=h.article, passage=h.passage, quote=h.passage.text, score=h.score)
            for i, h in enumerate(hits[: self.max_citations], start=1)
        )
        return Answer(question=question, text=f"{citations[0].quote} [1]", citations=citations, abstained=False)
