"""Build a snapshot from the articles folder: load, chunk, embed (each encoder), index words, write."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .analysis import Analyzer
from .articles import load_articles
from .chunking import ChunkSettings, Passage, chunk_article, paragraph_spans, sentence_spans
from .config import Settings
from .crosslingual import TermExpander
from .embedding import Embedder
from .errors import BadArticle, NoArticles
from .lexical import LexicalIndex
from .snapshot import SnapshotContent, write_snapshot

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Encoders:
    """The dense encoders of a deployment; either may be off (None)."""

    embedding: Embedder | None
    multilingual: Embedder | None

    def describe(self) -> dict[str, dict[str, object]]:
        return {
            role: {"model": enc.name, "dim": enc.dim}
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


def chunk_settings(settings: Settings) -> ChunkSettings:
    return ChunkSettings(min_chars=settings.chunk_min_chars, max_chars=settings.chunk_max_chars)


def passage_sentences(passage: Passage) -> list[tuple[int, int]]:
    """Sentence ranges of a passage, as offsets into its article's body."""
    spans = []
    for p_start, p_end in paragraph_spans(passage.text):
        for start, end in sentence_spans(passage.text, p_start, p_end):
            spans.append((passage.char_start + start, passage.char_start + end))
    return spans


def build_index(settings: Settings, encoders: Encoders, *, progress: Progress | None = None) -> IndexReport:
    """Index every article of ``settings.articles_dir`` into a new current snapshot."""
    started = time.perf_counter()
    loaded = load_articles(settings.articles_dir, max_bytes=settings.max_article_bytes)
    for err in loaded.errors:
        log.warning("skipped %s", err)
    if not loaded.articles:
        raise NoArticles(f"no indexable articles in {settings.articles_dir} (supported: .txt, .md)")

    chunking = chunk_settings(settings)
    analyzer = Analyzer(settings.articles_language)
    passages: list[Passage] = []
    sentences: list[tuple[int, int, int]] = []
    sentence_texts: list[str] = []
    for article in loaded.articles:
        for passage in chunk_article(article, chunking):
            row = len(passages)
            passages.append(passage)
            for start, end in passage_sentences(passage):
                sentences.append((row, start, end))
                sentence_texts.append(article.body[start:end])
    texts = [p.text for p in passages]

    jobs: list[tuple[str, Embedder, list[str]]] = []
    if encoders.embedding is not None:
        jobs.append(("embedding", encoders.embedding, texts))
    if encoders.multilingual is not None:
        jobs += [("multilingual", encoders.multilingual, texts), ("sentences", encoders.multilingual, sentence_texts)]
    total = sum(len(t) for _, _, t in jobs)
    done = 0
    dense = {}
    for name, encoder, items in jobs:

        def step(n: int, _total: int, offset: int = done) -> None:
            if progress:
                progress(offset + n, total)

        dense[name] = encode_batched(encoder, items, settings.embedding_batch_size, step)
        done += len(items)

    extras: list[object] = [LexicalIndex.build([analyzer.terms(t) for t in texts])]
    if encoders.multilingual is not None:
        extras.append(
            TermExpander.build(texts, analyzer, encoders.multilingual, max_vocabulary=settings.expansion_vocabulary)
        )
    content = SnapshotContent(
        articles=loaded.articles,
        passages=passages,
        sentences=sentences,
        dense=dense,
        encoders=encoders.describe(),
        analyzer=analyzer.as_dict(),
        chunking=chunking.as_dict(),
        extras=extras,  # type: ignore[arg-type]
    )
    version = write_snapshot(settings.data_dir, content, build_seconds=time.perf_counter() - started)
    return IndexReport(
        articles=len(loaded.articles),
        passages=len(passages),
        seconds=time.perf_counter() - started,
        version=version,
        errors=loaded.errors,
    )


def encode_batched(encoder: Embedder, texts: Sequence[str], batch: int, progress: Progress | None = None):  # noqa: ANN201
    """``encoder.encode`` in batches, reporting progress; an (n, dim) float32 array."""
    import numpy as np

    parts = []
    for start in range(0, len(texts), batch):
        parts.append(encoder.encode(texts[start : start + batch]))
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
    if not parts:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    return np.vstack(parts)
