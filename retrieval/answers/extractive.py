"""Turn search hits into a short :class:`Answer` whose every statement cites its passage.

The default answerer is extractive and offline: it quotes the 1–3 sentences of the top
passages that best answer the question, verbatim, each followed by ``[n]``, and says
honestly when the articles do not hold the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..corpus.analysis import detect_language, words
from ..options import AbstainPolicy
from ..types import Answer, Citation, Hit, ScoredSentence
from .authorship import asks_who_wrote, credit_line, credited_hits
from .safety import is_instruction_like


class Answerer(Protocol):
    def answer(self, question: str, hits: Sequence[Hit], *, language: str | None = None) -> Answer:
        """``language`` ("en", "fr") to answer in; None: the question's own."""
        ...


NOT_FOUND = {
    "en": "I could not find this in the articles.",
    "fr": "Je n’ai pas trouvé cela dans les articles.",
}
# One line saying where the quotes come from; the articles' language matters to an English reader.
FRAMING = {
    ("en", "fr"): "The articles are in French; here is what they say:",
    ("en", "en"): "Here is what the articles say:",
    ("fr", "fr"): "Voici ce que disent les articles :",
    ("fr", "en"): "Les articles sont en anglais ; voici ce qu’ils disent :",
}
CORPUS_LANGUAGE = {"french": "fr", "english": "en"}


def abstention(question: str, language: str) -> Answer:
    return Answer(question=question, text=NOT_FOUND[language], citations=(), abstained=True, language=language)


@dataclass(frozen=True)
class _Pick:
    hit: Hit
    sentence: ScoredSentence
    score: float


class ExtractiveAnswerer:
    """Quote the best sentences of the top passages, verbatim, each with its citation.

    The sentence that answers best comes first. Another sentence follows only when it is
    nearly as good and close to the question in meaning, not merely sharing its words.
    A question about who wrote or published an article is answered from the article's
    byline and source.
    """

    def __init__(
        self,
        policy: AbstainPolicy | None = None,
        *,
        max_sentences: int = 3,
        from_hits: int = 3,
        keep_ratio: float = 0.75,
        rank_weight: float = 0.6,
        pick_coverage_weight: float = 0.4,
        min_relevance: float = 0.7,
        corpus_language: str = "french",
    ) -> None:
        self.policy = policy or AbstainPolicy()
        self.max_sentences = max_sentences
        self.from_hits = from_hits
        self.keep_ratio = keep_ratio
        self.rank_weight = rank_weight
        self.pick_coverage_weight = pick_coverage_weight
        self.min_relevance = min_relevance
        self.corpus_language = CORPUS_LANGUAGE.get(corpus_language, "fr")

    def answer(self, question: str, hits: Sequence[Hit], *, language: str | None = None) -> Answer:
        """``language`` is the one to answer in (a follow-up's own); by default the question's.
        Whether the question crosses languages is read from the question itself."""
        asked_in = detect_language(question)
        language = language or asked_in
        if self.policy.abstains(hits, cross_lingual=self.cross_lingual(asked_in)):
            return abstention(question, language)
        if asks_who_wrote(question):
            return credit(question, credited_hits(hits, self.from_hits), language)
        picks = self._pick(hits[: self.from_hits])
        numbers: dict[int, int] = {}
        for p in picks:
            numbers.setdefault(p.hit.rank, len(numbers) + 1)
        lines = [FRAMING[(language, self.corpus_language)]]
        lines += [f"{p.sentence.text} [{numbers[p.hit.rank]}]" for p in picks]
        by_rank = {h.rank: h for h in hits}
        citations = tuple(_citation(n, by_rank[rank]) for rank, n in numbers.items())
        return Answer(question=question, text="\n".join(lines), citations=citations, abstained=False, language=language)

    def cross_lingual(self, question_language: str) -> bool:
        """Whether a question in ``question_language`` is asked across languages of these articles."""
        return question_language != self.corpus_language

    def _pick(self, hits: Sequence[Hit]) -> list[_Pick]:
        """The answering sentence, then up to ``max_sentences - 1`` others, best first.

        A sentence scores like the abstention confidence (cosine plus word coverage) plus
        its passage's fused score: the hybrid passage ranking is the stronger relevance
        signal, the sentence scores choose within it. Another sentence is kept when it
        scores within ``keep_ratio`` of the first and its cosine reaches ``min_relevance``
        of the way from the weakest candidate's to the best's: word overlap alone does
        not make a sentence an answer."""
        top = max((h.score for h in hits), default=1.0) or 1.0
        candidates = [
            _Pick(h, s, s.similarity + self.pick_coverage_weight * s.coverage + self.rank_weight * h.score / top)
            for h in hits
            for s in (h.sentences or (_whole_passage(h),))
            if len(s.text) >= 8 and not is_instruction_like(s.text)
        ]
        if not candidates:
            return []
        candidates.sort(key=lambda p: -p.score)
        sims = [c.sentence.similarity for c in candidates]
        low, high = min(sims), max(sims)
        chosen = [candidates[0]]
        for cand in candidates[1:]:
            if len(chosen) == self.max_sentences or cand.score < self.keep_ratio * chosen[0].score:
                break
            # A heading or byline (no closing punctuation) may be the answer, never padding.
            if not _is_statement(cand.sentence.text):
                continue
            if high > low and (cand.sentence.similarity - low) / (high - low) < self.min_relevance:
                continue
            if any(_near_duplicate(cand.sentence.text, c.sentence.text) for c in chosen):
                continue
            chosen.append(cand)
        return chosen


def credit(question: str, hits: Sequence[Hit], language: str) -> Answer:
    """Who wrote or published each hit's article, from its byline and source, each cited."""
    lines = [f"{credit_line(h.article, language)} [{n}]" for n, h in enumerate(hits, start=1)]
    citations = tuple(_citation(n, h) for n, h in enumerate(hits, start=1))
    return Answer(question=question, text="\n".join(lines), citations=citations, abstained=False, language=language)


def _citation(n: int, hit: Hit) -> Citation:
    return Citation(n=n, article=hit.article, passage=hit.passage, quote=hit.passage.text, score=hit.score)


def _whole_passage(hit: Hit) -> ScoredSentence:
    """Without sentence scores (no multilingual encoder) the passage itself is the quote."""
    p = hit.passage
    return ScoredSentence(p.char_start, p.char_end, p.text, similarity=hit.score, coverage=hit.coverage)


def _is_statement(text: str) -> bool:
    return text.rstrip().endswith((".", "!", "?", "…", "»", '"', "”"))


def _near_duplicate(a: str, b: str, threshold: float = 0.6) -> bool:
    wa, wb = set(words(a)), set(words(b))
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= threshold
