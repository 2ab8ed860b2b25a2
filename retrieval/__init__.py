"""ragbot's core: articles in, cited passages out. No front-end code lives here."""

from .answer import AbstainPolicy, Answer, Answerer, Citation, ExtractiveAnswerer
from .articles import Article, ArticleInfo, LoadResult, load_article, load_articles, parse_article
from .chunking import ChunkSettings, Passage, chunk_article
from .config import Settings
from .embedding import Embedder, SentenceTransformerEmbedder, make_embedder
from .engine import Engine, Stats
from .errors import (
    BadArticle,
    IndexCorrupt,
    IndexNotBuilt,
    ModelMismatch,
    ModelUnavailable,
    NoArticles,
    RagbotError,
    StoreUnavailable,
)
from .evaluation import EvalReport, QAItem, evaluate, fold, load_qa
from .indexer import Encoders, IndexReport, build_index
from .ingest import AddReport, Library, UnknownArticle
from .lock import IndexBusy
from .search import BadQuestion, Hit, Searcher
from .snapshot import Manifest, Snapshot, open_current

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
