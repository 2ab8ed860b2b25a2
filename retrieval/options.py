"""The small settings objects each part of ragbot reads: frozen, with working defaults.

:mod:`retrieval.config` builds every one of them out of the one ``Settings`` (the
``*_settings`` functions there); a part never reads ``Settings`` itself, so it can be used,
and tested, with its own small object alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .corpus.analysis import tidy

if TYPE_CHECKING:
    from .types import Hit, Passage


@dataclass(frozen=True)
class ChunkSettings:
    min_chars: int = 250
    max_chars: int = 550
    #: Passage vectors are computed from "title\n\npassage": a passage that never names its
    #: subject ("il a été fondé en 1821") still lands near questions about the article's subject.
    #: The quoted passage and the words indexed for BM25 stay the passage alone.
    title_context: bool = True
    #: Sentence vectors pooled from the passage's own forward pass (an encoder that can), not
    #: encoded alone.
    late_sentences: bool = False

    def as_dict(self) -> dict[str, int | str | bool]:
        out: dict[str, int | str | bool] = {
            "strategy": "sentence-pack/v2",
            "min_chars": self.min_chars,
            "max_chars": self.max_chars,
        }
        if self.title_context:
            out["title_context"] = True
        if self.late_sentences:
            out["sentence_vectors"] = "late"
        return out

    def embedding_text(self, passage: Passage, title: str) -> str:
        """What the passage-level encoders read for ``passage`` of an article titled ``title``."""
        title, text = title.strip(), tidy(passage.text)
        return f"{title}\n\n{text}" if self.title_context and title else text


@dataclass(frozen=True)
class ExpansionSettings:
    top_n: int = 3
    min_similarity: float = 0.45


@dataclass(frozen=True)
class FusionWeights:
    """Defaults as in :class:`~retrieval.config.Settings` (``weight_*``), chosen on PIAF dev."""

    bm25: float = 0.5
    multilingual: float = 1.0
    sentences: float = 0.5
    embedding: float = 0.5


@dataclass(frozen=True)
class SearchSettings:
    weights: FusionWeights = field(default_factory=FusionWeights)
    #: for a question in another language than the articles' (None: ``weights``)
    cross_lingual_weights: FusionWeights | None = None
    candidates: int = 100
    expansion: ExpansionSettings = field(default_factory=ExpansionSettings)
    duplicate_jaccard: float = 0.6
    hnsw_ef_search: int = 400
    ivf_nprobe: int = 64


@dataclass(frozen=True)
class AbstainPolicy:
    """When the articles do not hold the answer: no hit is confident enough.

    A hit's confidence is its best question-sentence cosine plus ``passage_weight`` times
    the question-passage cosine (both in the multilingual space). When the question is in
    the articles' language, words count too: plus ``coverage_weight`` times the share of
    the question's words the passage holds, each weighted by its rarity (IDF), minus
    ``unseen_weight`` times the share of the question's words found nowhere in the
    collection. A question in another language matches few words by design, so it is
    judged on the cosines alone, against its own threshold (cross-lingual cosines run lower),
    or, when the encoder gives token states, on its *token match*: the best MaxSim of its
    tokens with those of the first ``token_passages`` passages (late interaction), which tells
    an absent subject from a present one about half again as often (Belebele en→fr dev).

    Calibrated on PIAF dev (every question asked of the whole collection, and of a
    collection without its article) and the dev set's English questions; see
    ``bench/quality.py --curve``. The cosine scale is the encoder's: another encoder
    needs its own thresholds.
    """

    threshold: float = 0.0
    cross_lingual_threshold: float | None = None  # None: the same as ``threshold``
    passage_weight: float = 1.0
    coverage_weight: float = 0.15
    unseen_weight: float = 0.05
    cross_lingual_token_threshold: float | None = None  # None: cross-lingual questions on cosines
    token_passages: int = 3
    unseen_names: bool = True  # refuse a question (in the articles' language) naming what no article holds

    def confidence(self, hit: Hit, *, cross_lingual: bool = False) -> float | None:
        if hit.evidence is None:
            return None
        score = hit.evidence + self.passage_weight * (hit.similarity or 0.0)
        if not cross_lingual:
            score += self.coverage_weight * hit.rare_coverage - self.unseen_weight * hit.unseen
        return score

    def best(self, hits: Sequence[Hit], *, cross_lingual: bool = False) -> float | None:
        """The highest confidence among ``hits`` (None when no hit has one)."""
        scores = [c for c in (self.confidence(h, cross_lingual=cross_lingual) for h in hits) if c is not None]
        return max(scores) if scores else None

    def limit(self, *, cross_lingual: bool = False) -> float:
        if cross_lingual and self.cross_lingual_threshold is not None:
            return self.cross_lingual_threshold
        return self.threshold

    def judges_tokens(self, *, cross_lingual: bool) -> bool:
        """Whether a question is judged on its token match (then ``abstains`` wants it)."""
        return cross_lingual and self.cross_lingual_token_threshold is not None

    def score(
        self, hits: Sequence[Hit], *, cross_lingual: bool = False, token_match: float | None = None
    ) -> float | None:
        """What a question is judged on: its token match where it is given and used, else the
        highest confidence among ``hits`` (None when there is neither)."""
        return self._judged(hits, cross_lingual, token_match)[0]

    def abstains(self, hits: Sequence[Hit], *, cross_lingual: bool = False, token_match: float | None = None) -> bool:
        if not hits:
            return True
        score, limit = self._judged(hits, cross_lingual, token_match)
        return score is not None and score < limit

    def _judged(
        self, hits: Sequence[Hit], cross_lingual: bool, token_match: float | None
    ) -> tuple[float | None, float]:
        """The score a question is judged on and the threshold it must reach: none (-inf) for a
        question about someone or something no article names."""
        if self.unseen_names and not cross_lingual and hits and hits[0].unseen_name is not None:
            return float("-inf"), self.limit(cross_lingual=cross_lingual)
        if token_match is not None and self.cross_lingual_token_threshold is not None and cross_lingual:
            return token_match, self.cross_lingual_token_threshold
        return self.best(hits, cross_lingual=cross_lingual), self.limit(cross_lingual=cross_lingual)


@dataclass(frozen=True)
class FetchSettings:
    max_bytes: int
    timeout: float = 20.0  # seconds for the whole download, redirects included
    allow_private: bool = False
    max_redirects: int = 5
    allowed_hosts: frozenset[str] = frozenset()  # host names whose addresses are not checked


@dataclass(frozen=True)
class LLMSettings:
    url: str  # base URL of the API, e.g. http://localhost:11434/v1
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    max_passages: int = 5
    max_tokens: int = 400
    min_grounding: float = 0.2
