"""Build a snapshot from the articles folder: load, chunk, embed, write."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from .articles import Article, load_articles
from .chunking import ChunkSettings, Passage, chunk_article
from .config import Settings
from .embedding import Embedder
from .errors import BadArticle, NoArticles
from .snapshot import write_snapshot

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class IndexReport:
    articles: int
    passages: int
    seconds: float
    version: str
    errors: tuple[BadArticle, ...] = ()


def chunk_settings(settings: Settings) -> ChunkSettings:
    return ChunkSettings(min_chars=settings.chunk_min_chars, max_chars=settings.chunk_max_chars)


def passage_document(article: Article, passage: Passage) -> str:
    """The text embedded for a passage.

    Just the passage: with MiniLM, prefixing the article title measured no better on the
    dev set (passages of 250-550 characters already fill much of its 256-token window).
    """
    del article
    return passage.text


def build_index(settings: Settings, embedder: Embedder, *, progress: Progress | None = None) -> IndexReport:
    """Index every article of ``settings.articles_dir`` into a new current snapshot."""
    started = time.perf_counter()
    loaded = load_articles(settings.articles_dir, max_bytes=settings.max_article_bytes)
    for err in loaded.errors:
        log.warning("skipped %s", err)
    if not loaded.articles:
        raise NoArticles(f"no indexable articles in {settings.articles_dir} (supported: .txt, .md)")

    chunking = chunk_settings(settings)
    articles = loaded.articles
    passages: list[Passage] = []
    documents: list[str] = []
    for article in articles:
        for passage in chunk_article(article, chunking):
            passages.append(passage)
            documents.append(passage_document(article, passage))

    vectors = _encode_batched(embedder, documents, settings.embedding_batch_size, progress)
    version = write_snapshot(
        settings.data_dir,
        articles,
        passages,
        vectors,
        model=embedder.name,
        chunking=chunking.as_dict(),
        build_seconds=time.perf_counter() - started,
    )
    return IndexReport(
        articles=len(articles),
        passages=len(passages),
        seconds=time.perf_counter() - started,
        version=version,
        errors=loaded.errors,
    )


def _encode_batched(embedder: Embedder, texts: list[str], batch: int, progress: Progress | None):  # noqa: ANN202
    import numpy as np

    parts = []
    for start in range(0, len(texts), batch):
        parts.append(embedder.encode(texts[start : start + batch]))
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
    if not parts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.vstack(parts)
