"""Dense search over a loaded snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from .articles import ArticleInfo, normalize_text
from .chunking import Passage
from .embedding import Embedder
from .errors import RagbotError
from .snapshot import Snapshot

MAX_QUESTION_CHARS = 2000


class BadQuestion(RagbotError):
    exit_code = 2


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    passage: Passage
    article: ArticleInfo


def clean_question(question: str, *, max_chars: int = MAX_QUESTION_CHARS) -> str:
    text = " ".join(normalize_text(question).split())
    if not text:
        raise BadQuestion("the question is empty")
    if len(text) > max_chars:
        raise BadQuestion(f"the question is too long ({len(text)} characters; the limit is {max_chars})")
    return text


class Searcher:
    """Answers ``search(question, k)`` from one snapshot with one embedder."""

    def __init__(self, snapshot: Snapshot, embedder: Embedder) -> None:
        snapshot.check_model(embedder.name)
        self.snapshot = snapshot
        self.embedder = embedder
        self._dim_checked = False

    def search(self, question: str, k: int = 5) -> list[Hit]:
        text = clean_question(question)
        vector = self.embedder.encode([text])
        if not self._dim_checked:
            self.snapshot.check_dim(int(vector.shape[1]))
            self._dim_checked = True
        k = max(1, min(k, self.snapshot.index.ntotal))
        scores, rows = self.snapshot.index.search(vector, k)
        pairs = [(float(s), int(r)) for s, r in zip(scores[0], rows[0], strict=True) if r >= 0]
        found = self.snapshot.passages([r for _, r in pairs])
        return [
            Hit(rank=i + 1, score=score, passage=passage, article=article)
            for i, ((score, _), (passage, article)) in enumerate(zip(pairs, found, strict=True))
        ]
