"""The shared types: what the articles, passages, hits, answers and reports are.

Frozen dataclasses and one Protocol, imported by every layer; this module imports nothing of
ragbot's own but the errors, so the question path (search, answers) never pulls in the build
path (ingest, chunking, indexer) to name what it hands around.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from .errors import BadArticle


@dataclass(frozen=True)
class ArticleInfo:
    """What a citation needs to name an article."""

    id: str
    title: str
    date: str | None = None
    source: str | None = None
    byline: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Article:
    info: ArticleInfo
    body: str
    path: str
    content_hash: str
    warnings: tuple[str, ...] = ()
    #: (start, end) of body text that is never quoted: bylines, datelines, credits
    unquotable: tuple[tuple[int, int], ...] = ()

    @property
    def id(self) -> str:
        return self.info.id


@dataclass(frozen=True)
class Passage:
    id: str
    article_id: str
    ordinal: int
    text: str
    char_start: int
    char_end: int


@dataclass(frozen=True)
class ScoredSentence:
    """One sentence of a hit's passage, scored against the question."""

    char_start: int  # in the article body
    char_end: int
    text: str
    similarity: float  # multilingual cosine with the question
    coverage: float  # share of the question's words found in the sentence (see Hit.coverage)
    rare_coverage: float = 0.0  # the same, each typed word weighted by its rarity (see Hit.rare_coverage)
    #: cosine with the question as typed, when what was searched is more (a follow-up read with the
    #: question before it); None otherwise
    focus_similarity: float | None = None
    #: the sentence before, when this one points back to it (« Ils ont assisté … »): what it is
    #: about is named there (see retrieval.corpus.reference); else ""
    context: str = ""


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    passage: Passage
    article: ArticleInfo
    #: best cosine between the question and one sentence of the passage (multilingual
    #: space); what the abstention decision reads. None without a multilingual encoder.
    evidence: float | None = None
    #: the best-matching sentence as (char_start, char_end) in the article body
    sentence: tuple[int, int] | None = None
    #: share of the question's content words found in the passage (0..1), a word counting
    #: fully when typed as is and by its similarity when only a cross-lingual neighbour matches;
    #: read in the sentences an answer could quote when the passage has a sentence table (a
    #: credit line or a byline is searchable, not evidence)
    coverage: float = 0.0
    #: the passage's sentences scored against the question (empty without a multilingual encoder)
    sentences: tuple[ScoredSentence, ...] = ()
    #: cosine of the question and the whole passage in the multilingual space (None without one)
    similarity: float | None = None
    #: like ``coverage``, each word weighted by its rarity in the collection (IDF), typed words only:
    #: finding "Toumen" says more than finding "année"
    rare_coverage: float = 0.0
    #: share of the question's content words that appear nowhere in the collection (the same for
    #: every hit of a search): a question about something the articles never mention
    unseen: float = 0.0
    #: a name in the question (in the articles' language) that no article holds, nor a close spelling
    #: of it ("Que pense Macron de la visite ?"); the same for every hit of a search
    unseen_name: str | None = None


@dataclass(frozen=True)
class Citation:
    n: int
    article: ArticleInfo
    passage: Passage
    quote: str  # the cited passage's text, as a reader sees it
    score: float


@dataclass(frozen=True)
class Quote:
    """One sentence an answer quotes, verbatim from its article's file (whitespace aside)."""

    n: int  # the citation it belongs to
    article_id: str
    text: str
    char_start: int  # in the article's file, as every offset
    char_end: int
    #: where each sentence it quotes starts: one, or two when a sentence is quoted with the one its
    #: pronoun points back to (« Ils soupçonnent … ») or that goes on from it; () means (char_start,)
    starts: tuple[int, ...] = ()


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    language: str = "en"  # of the question: the front end speaks it too
    #: the quoted sentences, in the order the answer gives them (the first one answers)
    quotes: tuple[Quote, ...] = ()


@dataclass(frozen=True)
class Encoders:
    """The dense encoders of a deployment; either may be off (None)."""

    embedding: Embedder | None
    multilingual: Embedder | None

    def names(self) -> dict[str, str]:
        return {
            role: enc.name
            for role, enc in (("embedding", self.embedding), ("multilingual", self.multilingual))
            if enc is not None
        }


@dataclass(frozen=True)
class IndexReport:
    articles: int
    passages: int
    seconds: float
    version: str
    errors: tuple[BadArticle, ...] = ()
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    embedded_passages: int = 0  # passages whose vectors were computed (not reused)
    full_rebuild: bool = True
    published: bool = True  # False: nothing had changed, ``version`` is the snapshot that stays current
    #: seconds spent in each step of the build, in order (for benchmarks)
    phases: Mapping[str, float] = field(default_factory=dict)
    #: processes that read, cleaned and chunked the articles beside the building one (0: it did)
    workers: int = 0


@dataclass(frozen=True)
class ArticleSummary:
    info: ArticleInfo
    passages: int
    path: str


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension.

    ``encode`` embeds what is stored (passages, sentences, article words). A model trained
    with separate query and passage prompts (e5) also has ``encode_queries`` for questions;
    :func:`encode_queries` falls back to ``encode`` for symmetric models.
    """

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...
