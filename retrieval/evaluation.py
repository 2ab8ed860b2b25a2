"""Retrieval and abstention metrics over a QA file (JSON lines).

Each line: ``{"id", "lang", "question", "answerable", "gold": [{"doc", "contains"}]}``.
A hit matches a gold item when its article is ``doc`` and its text contains
``contains`` after :func:`fold` on both sides.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .errors import RagbotError
from .types import Answer, Hit

T = TypeVar("T")

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
    return list(_json_lines(path, "a QA item", _qa_item))


def _qa_item(d: dict, n: int) -> QAItem:
    return QAItem(
        id=str(d["id"]),
        lang=str(d.get("lang", "?")),
        question=str(d["question"]),
        answerable=bool(d.get("answerable", True)),
        gold=tuple(Gold(str(g["doc"]), str(g["contains"])) for g in d.get("gold", [])),
    )


def _json_lines(path: Path, what: str, make: Callable[[dict, int], T]) -> Iterator[T]:
    """``make(object, line number)`` for each JSON object of a JSON-lines file; a line that is not one
    stops it with ``RagbotError("<path>:<line>: not <what> (<why>)")``."""
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield make(json.loads(line), n)
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise RagbotError(f"{path}:{n}: not {what} ({err})") from None


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


# --- conversations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    question: str
    gold: tuple[str, ...] = ()  # texts, one of which the answer must quote
    refuse: bool = False  # the articles do not hold the answer: it must be refused


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: tuple[Turn, ...]


def load_conversations(path: Path) -> list[Conversation]:
    """A conversations file: one ``{"id", "turns": [{"q", "gold": [...]} | {"q", "refuse": true}]}`` per line."""
    return list(_json_lines(path, "a conversation", _conversation))


def _conversation(d: dict, n: int) -> Conversation:
    turns = tuple(
        Turn(str(t["q"]), tuple(str(g) for g in t.get("gold", [])), bool(t.get("refuse", False))) for t in d["turns"]
    )
    if not turns or any(not t.refuse and not t.gold for t in turns):
        raise ValueError('every turn needs a gold text or "refuse": true')
    return Conversation(str(d.get("id", n)), turns)


def is_conversations_file(path: Path) -> bool:
    """Whether ``path`` holds conversations (its first object has ``turns``) rather than QA items."""
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                try:
                    return "turns" in json.loads(line)
                except (ValueError, TypeError):
                    return False
    return False


@dataclass(frozen=True)
class TurnResult:
    conversation: str
    turn: Turn
    answer: Answer

    @property
    def lead(self) -> bool:
        """A gold text is in the answer's first quoted sentence."""
        return bool(self.answer.quotes) and _holds(self.answer.quotes[0].text, self.turn.gold)

    @property
    def anywhere(self) -> bool:
        return not self.answer.abstained and _holds(" ".join(q.text for q in self.answer.quotes), self.turn.gold)


@dataclass(frozen=True)
class ConversationReport:
    turns: tuple[TurnResult, ...]

    def _answerable(self) -> list[TurnResult]:
        return [t for t in self.turns if not t.turn.refuse]

    @property
    def answerable(self) -> int:
        return len(self._answerable())

    @property
    def lead(self) -> int:
        return sum(t.lead for t in self._answerable())

    @property
    def anywhere(self) -> int:
        return sum(t.anywhere for t in self._answerable())

    @property
    def false_refusals(self) -> int:
        return sum(t.answer.abstained for t in self._answerable())

    @property
    def must_refuse(self) -> int:
        return sum(t.turn.refuse for t in self.turns)

    @property
    def refused(self) -> int:
        return sum(t.turn.refuse and t.answer.abstained for t in self.turns)

    @property
    def mean_answer_chars(self) -> float:
        """Mean length of the answers given to answerable turns (the quoted text and its [n] marks)."""
        given = [len(t.answer.text) for t in self._answerable() if not t.answer.abstained]
        return sum(given) / len(given) if given else 0.0


def evaluate_conversations(
    conversations: Sequence[Conversation],
    ask: Callable[[str, str], Answer],
    forget: Callable[[str], None],
) -> ConversationReport:
    """Ask every turn with ``ask(question, chat)``, each conversation in a chat of its own."""
    results = []
    for conv in conversations:
        chat = f"eval:{conv.id}"
        forget(chat)
        for turn in conv.turns:
            results.append(TurnResult(conv.id, turn, ask(turn.question, chat)))
        forget(chat)
    return ConversationReport(tuple(results))


def _holds(text: str, gold: Iterable[str]) -> bool:
    folded = fold(text)
    return any(fold(g) in folded for g in gold)
