"""Build a snapshot from the articles folder: load, chunk, embed (each encoder), index words, write.

Incremental: an article whose content hash, and the chunking, analyzer and encoders
of the current snapshot, are unchanged keeps its passages' and sentences' vectors;
only added or changed articles are embedded. Changing the model or the chunk settings
(or ``rebuild=True``) re-embeds everything. When nothing changed at all, nothing is
written: the current snapshot stays current. A current snapshot that fails its checks
is not reused: the build starts afresh. An empty folder gives an empty snapshot (a
valid state: no hits, every question abstains). One build at a time, under the index lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .config import Settings, chunk_settings, index_settings
from .corpus.analysis import Analyzer
from .corpus.articles import load_articles
from .corpus.chunking import chunk_article, paragraph_spans, sentence_spans
from .errors import IndexCorrupt, IndexNotBuilt
from .lock import index_lock
from .options import ChunkSettings
from .stores import Build, StoreBackend, StoreVersion, VectorColumn, make_store
from .stores.vocabulary import TermExpander
from .types import Article, Embedder, Encoders, IndexReport, Passage

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def passage_sentences(passage: Passage) -> list[tuple[int, int]]:
    """Sentence ranges of a passage, as offsets into its article's body."""
    spans = []
    for p_start, p_end in paragraph_spans(passage.text):
        for start, end in sentence_spans(passage.text, p_start, p_end):
            spans.append((passage.char_start + start, passage.char_start + end))
    return spans


@dataclass
class _Plan:
    """Rows of the new snapshot, and where each one's vectors come from (old row or None)."""

    passages: list[Passage] = field(default_factory=list)
    passage_texts: list[str] = field(default_factory=list)  # what the passage encoders read
    passage_source: list[int | None] = field(default_factory=list)
    sentences: list[tuple[int, int, int]] = field(default_factory=list)
    sentence_texts: list[str] = field(default_factory=list)
    sentence_source: list[int | None] = field(default_factory=list)


def build_index(
    settings: Settings,
    encoders: Encoders,
    *,
    progress: Progress | None = None,
    rebuild: bool = False,
    store: StoreBackend | None = None,
) -> IndexReport:
    """Index ``settings.articles_dir`` into a new current version, reusing what has not changed."""
    with index_lock(settings.data_dir):
        return build_locked(settings, encoders, progress=progress, rebuild=rebuild, store=store)


def build_locked(
    settings: Settings,
    encoders: Encoders,
    *,
    progress: Progress | None = None,
    rebuild: bool = False,
    store: StoreBackend | None = None,
) -> IndexReport:
    """:func:`build_index` for a caller that already holds the index lock (``store``: the one the
    settings name, unless given)."""
    started = time.perf_counter()
    store = store or make_store(settings)
    for leftover in store.remove_unfinished():
        log.warning("removed %s, left by an interrupted build", leftover)
    loaded = load_articles(settings.articles_dir, max_bytes=settings.max_article_bytes)
    for err in loaded.errors:
        log.warning("skipped %s", err)
    if not loaded.articles:
        log.warning("no indexable articles in %s: the index will be empty", settings.articles_dir)

    chunking = chunk_settings(settings)
    analyzer = Analyzer(settings.articles_language)
    previous = None if rebuild else _reusable(store, encoders, chunking, analyzer)
    old_articles = previous.manifest.articles if previous else {}
    doubtful = previous.doubtful if previous else frozenset()
    if previous is not None and _nothing_changed(previous, loaded.articles, settings):
        store.prune()  # only ever removes leftovers of crashes
        return IndexReport(
            articles=len(loaded.articles),
            passages=previous.size,
            seconds=time.perf_counter() - started,
            version=previous.version,
            errors=loaded.errors,
            unchanged=tuple(a.id for a in loaded.articles),
            embedded_passages=0,
            full_rebuild=False,
            published=False,
        )

    plan = _Plan()
    added, updated, unchanged = [], [], []
    for article in loaded.articles:
        old = old_articles.get(article.id)
        same = (
            old is not None
            and old["sha256"] == article.content_hash
            and article.id not in doubtful
            and "*" not in doubtful
        )
        reuse = _plan_article(plan, article, chunking, previous if same else None)
        (unchanged if same and reuse else updated if old is not None else added).append(article.id)
    removed = sorted(set(old_articles) - {a.id for a in loaded.articles})

    texts = [p.text for p in plan.passages]
    jobs: list[tuple[str, Embedder, list[str], list[int | None]]] = []
    if encoders.embedding is not None:
        jobs.append(("embedding", encoders.embedding, plan.passage_texts, plan.passage_source))
    if encoders.multilingual is not None:
        jobs.append(("multilingual", encoders.multilingual, plan.passage_texts, plan.passage_source))
        jobs.append(("sentences", encoders.multilingual, plan.sentence_texts, plan.sentence_source))
    total = sum(sum(src is None for src in sources) for *_, sources in jobs)
    done = [0]

    def step(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0], total)

    vectors = {
        name: _vectors(encoder, items, sources, previous, name, settings.embedding_batch_size, step)
        for name, encoder, items, sources in jobs
    }
    expander = None
    if encoders.multilingual is not None:
        expander = TermExpander.build(
            texts,
            analyzer,
            encoders.multilingual,
            max_vocabulary=settings.expansion_vocabulary,
            previous=previous.expander if previous else None,
        )
    build = Build(
        articles=loaded.articles,
        passages=plan.passages,
        sentences=plan.sentences,
        vectors=vectors,
        encoders={role: {"model": name, "dim": vectors[role].dim} for role, name in encoders.names().items()},
        analyzer=analyzer.as_dict(),
        chunking=chunking.as_dict(),
        expander=expander,
        changed=tuple(added + updated),
        removed=tuple(removed),
        index_kind=settings.vector_index,
        threshold=settings.vector_index_threshold,
        index_settings=index_settings(settings),
        started=started,
    )
    version = store.write(build, previous)
    return IndexReport(
        articles=len(loaded.articles),
        passages=len(plan.passages),
        seconds=time.perf_counter() - started,
        version=version,
        errors=loaded.errors,
        added=tuple(added),
        updated=tuple(updated),
        removed=tuple(removed),
        unchanged=tuple(unchanged),
        embedded_passages=sum(src is None for src in plan.passage_source),
        full_rebuild=previous is None,
    )


def _reusable(
    store: StoreBackend, encoders: Encoders, chunking: ChunkSettings, analyzer: Analyzer
) -> StoreVersion | None:
    """The current version if its vectors can be reused as they are, else None (full rebuild)."""
    try:
        snap = store.open_current()
    except (IndexNotBuilt, IndexCorrupt) as err:
        if isinstance(err, IndexCorrupt):
            log.warning("current snapshot unusable (%s): full rebuild", err)
        return None
    m = snap.manifest
    built_with = {role: e["model"] for role, e in m.encoders.items()}
    if built_with != encoders.names():
        log.info("encoders changed: full rebuild")
        return None
    if m.chunking != chunking.as_dict() or m.analyzer != analyzer.as_dict():
        log.info("chunking or analysis changed: full rebuild")
        return None
    return snap


def _nothing_changed(previous: StoreVersion, articles: Sequence[Article], settings: Settings) -> bool:
    """Whether a build would write what ``previous`` already holds: same articles, same files, same settings."""
    old = previous.manifest.articles
    return (
        not previous.doubtful
        and previous.manifest.index_settings == index_settings(settings)
        and len(old) == len(articles)
        and all(a.id in old and old[a.id]["sha256"] == a.content_hash and old[a.id]["path"] == a.path for a in articles)
    )


def _plan_article(plan: _Plan, article: Article, chunking: ChunkSettings, previous: StoreVersion | None) -> bool:
    """Add an article's passages and sentences to the plan; True when old vectors are reused."""
    passages = chunk_article(article, chunking)
    sentences = [(i, span) for i, p in enumerate(passages) for span in passage_sentences(p)]
    old_rows = previous.article_rows(article.id) if previous else []
    old_sentences = previous.sentence_rows(old_rows) if previous else []
    reuse = bool(old_rows) and len(old_rows) == len(passages) and len(old_sentences) == len(sentences)
    first = len(plan.passages)
    plan.passages.extend(passages)
    plan.passage_texts.extend(chunking.embedding_text(p, article.info.title) for p in passages)
    plan.passage_source.extend(old_rows if reuse else [None] * len(passages))
    for (i, (start, end)), old in zip(sentences, old_sentences if reuse else [None] * len(sentences), strict=True):
        plan.sentences.append((first + i, start, end))
        plan.sentence_texts.append(article.body[start:end])
        plan.sentence_source.append(old)
    return reuse


def _vectors(
    encoder: Embedder,
    items: Sequence[str],
    sources: Sequence[int | None],
    previous: StoreVersion | None,
    name: str,
    batch: int,
    step: Callable[[int], None],
) -> VectorColumn:
    """Vectors for ``items``: encoded where ``sources`` says None; the others stay in the previous
    version, for the store to copy or keep."""
    import numpy as np

    # When every vector is reused the model need not even load: take the width from the old set.
    old = previous.vector_set(name) if previous is not None else None
    dim = old.dim if old is not None else encoder.dim
    fresh = [i for i, s in enumerate(sources) if s is None]
    out = np.zeros((len(fresh), dim), dtype=np.float32)
    for start in range(0, len(fresh), batch):
        chunk = fresh[start : start + batch]
        out[start : start + len(chunk)] = encoder.encode([items[i] for i in chunk])
        step(len(chunk))
    return VectorColumn(dim=dim, sources=list(sources), fresh=out)
