"""ragbot's core: articles in, cited passages out. No front-end code lives here."""

from .answers.extractive import Answerer, ExtractiveAnswerer
from .config import Settings
from .corpus.articles import LoadResult, load_article, load_articles, parse_article
from .corpus.chunking import chunk_article
from .corpus.ingest import AddReport, Library, UnknownArticle
from .encoders.embedding import SentenceTransformerEmbedder, make_embedder
from .engine import Engine, Stats
from .errors import (
    BadArticle,
    BadQuestion,
    IndexCorrupt,
    IndexNotBuilt,
    ModelMismatch,
    ModelUnavailable,
    NoArticles,
    RagbotError,
    StoreUnavailable,
)
from .evaluation import EvalReport, QAItem, evaluate, fold, load_qa
from .indexer import build_index
from .lock import IndexBusy
from .options import AbstainPolicy, ChunkSettings
from .search.hybrid import Searcher
from .stores.manifest import Manifest
from .stores.snapshot import Snapshot, open_current
from .types import Answer, Article, ArticleInfo, Citation, Embedder, Encoders, Hit, IndexReport, Passage, Quote

__all__ = [
    "AbstainPolicy",
    "AddReport",
    "Answer",
    "Answerer",
    "Article",
    "ArticleInfo",
    "BadArticle",
    "BadQuestion",
    "ChunkSettings",
    "Citation",
    "Embedder",
    "Encoders",
    "Engine",
    "EvalReport",
    "ExtractiveAnswerer",
    "Hit",
    "IndexBusy",
    "IndexCorrupt",
    "IndexNotBuilt",
    "IndexReport",
    "Library",
    "LoadResult",
    "Manifest",
    "ModelMismatch",
    "ModelUnavailable",
    "NoArticles",
    "Passage",
    "QAItem",
    "Quote",
    "RagbotError",
    "Searcher",
    "SentenceTransformerEmbedder",
    "Settings",
    "Snapshot",
    "Stats",
    "StoreUnavailable",
    "UnknownArticle",
    "build_index",
    "chunk_article",
    "evaluate",
    "fold",
    "load_article",
    "load_articles",
    "load_qa",
    "make_embedder",
    "open_current",
    "parse_article",
]
