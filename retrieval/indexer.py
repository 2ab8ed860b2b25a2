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
import os
import stat
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings, chunk_settings, index_settings
from .corpus.analysis import Analyzer, tidy
from .corpus.articles import article_names, articles_folder, content_hash, load_articles, read_regular_file
from .corpus.ingest import STAT_FIELDS, file_stat
from .corpus.prepare import Prepared, pool_size, prepare, prepared_files
from .errors import BadArticle, IndexCorrupt, IndexNotBuilt
from .lock import index_lock
from .options import ChunkSettings
from .stores import Build, StoreBackend, StoreVersion, VectorColumn, make_store
from .stores.backend import StreamingBackend
from .stores.build import Kept
from .stores.vocabulary import TermExpander
from .types import Article, Embedder, Encoders, IndexReport, Passage

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


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
    store = store or make_store(settings)
    with index_lock(settings.data_dir, store):
        return build_locked(settings, encoders, progress=progress, rebuild=rebuild, store=store)


def build_locked(
    settings: Settings,
    encoders: Encoders,
    *,
    progress: Progress | None = None,
    rebuild: bool = False,
    store: StoreBackend | None = None,
    current: StoreVersion | None = None,
    removing: Collection[str] | None = None,
    files: Sequence[Path] | None = None,
) -> IndexReport:
    """:func:`build_index` for a caller that already holds the index lock (``store``: the one the
    settings name, unless given; ``current``: its current version, when the caller opened it
    under this lock, so that it is not opened twice).

    ``removing``: None indexes the folder as it is (an article whose file is gone is removed);
    otherwise only the articles named are removed, and an indexed article whose file is not in
    this folder is kept as it is: adding one article on a machine whose folder lacks the others
    (another replica's, a fresh volume) never removes them.

    ``files`` (with ``removing``): only these article files are read, and every other article of
    the current version is kept as it is, without listing the folder (`ragbot add`, removing an
    article: their cost follows the change, not the collection; a hand edit of another file waits
    for the next ``ragbot index``). Without a usable current version the whole folder is read."""
    started = time.perf_counter()
    clock = _Phases(started)
    store = store or make_store(settings)
    for leftover in store.remove_unfinished():
        log.warning("removed %s, left by an interrupted build", leftover)
    chunking = chunk_settings(settings)
    analyzer = Analyzer(settings.articles_language)
    if current is None and not rebuild:
        current = open_current(store)
    previous = None if rebuild else _reusable(current, encoders, chunking, analyzer)
    clock.mark("open_previous")
    if previous is None and isinstance(store, StreamingBackend):
        return _stream_full_build(settings, encoders, store, progress, clock, started, chunking, analyzer)
    old_articles = previous.manifest.articles if previous else {}
    # Files the previous version holds as they are are not read again (see _UnchangedFiles); without
    # a previous version each one is read, cleaned and chunked (the scan still records their stat
    # for the next build).
    scan = _UnchangedFiles(old_articles, settings.max_article_bytes, time.time_ns())
    narrow = files is not None and removing is not None and previous is not None
    loaded = load_articles(
        settings.articles_dir, max_bytes=settings.max_article_bytes, skip=scan, paths=files if narrow else None
    )
    for err in loaded.errors:
        log.warning("skipped %s", err)
    kept_ids = list(loaded.kept)
    if removing is not None:
        absent = set(old_articles) - {a.id for a in loaded.articles} - set(loaded.kept) - set(removing)
        if absent and not narrow:  # a narrow build does not look at the folder: every other one is kept
            log.warning(
                "%d indexed articles have no file in %s: kept as they are (`ragbot index` removes them)",
                len(absent),
                settings.articles_dir,
            )
        kept_ids += sorted(absent)
    if not loaded.articles and not kept_ids:
        log.warning("no indexable articles in %s: the index will be empty", settings.articles_dir)
    n_articles = len(loaded.articles) + len(kept_ids)
    clock.mark("read_articles")
    if previous is not None and _nothing_changed(previous, loaded.articles, kept_ids, settings):
        store.prune()  # only ever removes leftovers of crashes
        return IndexReport(
            articles=n_articles,
            passages=previous.size,
            seconds=time.perf_counter() - started,
            version=previous.version,
            errors=loaded.errors,
            unchanged=tuple(sorted(kept_ids)),
            embedded_passages=0,
            full_rebuild=False,
            published=False,
            phases=clock.phases,
        )

    kept = None
    if previous is not None and kept_ids:
        rows, sentence_rows = previous.rows_of(kept_ids)
        kept = Kept(rows, sentence_rows, {a: scan.entry(a) for a in kept_ids})
    plan = _Plan()
    added, updated, unchanged = [], [], list(kept_ids)
    fingerprints = {}
    for article in loaded.articles:
        old = old_articles.get(article.id)
        same = old is not None and old["sha256"] == article.content_hash
        prepared = prepare(article, chunking)
        fingerprints[article.id] = prepared.fingerprint
        reuse = _plan_article(plan, prepared, previous if same else None)
        (unchanged if same and reuse else updated if old is not None else added).append(article.id)
    removed = sorted(set(old_articles) - {a.id for a in loaded.articles} - set(kept_ids))
    clock.mark("chunk")

    jobs, late = _jobs(encoders, chunking, plan)
    work = _EncodingWork.plan(jobs)
    total = work.texts + (plan.passage_source.count(None) if late is not None else 0)
    done = [0]

    def step(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0], total)

    if total and progress:
        for encoder in [job[1] for job in jobs] + ([late] if late is not None else []):
            encoder.dim  # noqa: B018 - loads the model (a first run exports it, saying so) before 0% is reported
        progress(0, total)
    vectors = work.run(previous, _chunk_size(settings.embedding_batch_size, total), step)
    if late is not None:
        vectors |= _late_vectors(late, plan, previous, settings.embedding_batch_size, step)
    clock.mark("embed")
    expander = None
    if encoders.multilingual is not None:
        texts: list[str] = []
        if settings.expansion_vocabulary > 0:  # no vocabulary wanted: no word to count
            texts = previous.passage_texts(kept.passages) if previous is not None and kept is not None else []
            texts += [p.text for p in plan.passages]
        expander = TermExpander.build(
            texts,
            analyzer,
            encoders.multilingual,
            max_vocabulary=settings.expansion_vocabulary,
            previous=previous.expander if previous else None,
        )
    clock.mark("expansion_vocabulary")
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
        kept=kept,
        # each article's body fingerprint is recorded: `ragbot add`'s duplicate check reads it back
        file_stats={a.id: {**scan.stats.get(a.id, {}), "fingerprint": fingerprints[a.id]} for a in loaded.articles},
    )
    version = store.write(build, previous)
    clock.mark("write")
    return IndexReport(
        articles=n_articles,
        passages=build.size,
        seconds=time.perf_counter() - started,
        version=version,
        errors=loaded.errors,
        added=tuple(added),
        updated=tuple(updated),
        removed=tuple(removed),
        unchanged=tuple(sorted(unchanged)),
        embedded_passages=sum(src is None for src in plan.passage_source),
        full_rebuild=previous is None,
        phases=clock.phases,
    )


@dataclass
class _Phases:
    last: float
    phases: dict[str, float] = field(default_factory=dict)

    def mark(self, name: str) -> None:
        """The time since the last mark goes to phase ``name`` (added up when marked again)."""
        now = time.perf_counter()
        self.phases[name] = round(self.phases.get(name, 0.0) + now - self.last, 4)
        self.last = now


#: a file changed less than this before the scan may change again within its clock tick unseen:
#: its stat is not recorded, so the next build reads it and compares hashes (git's "racy clean")
RACY_NS = 100_000_000  # file times move in clock ticks of at most 10 ms


@dataclass
class _UnchangedFiles:
    """Which files the previous version already holds as they are: the ``skip`` of load_articles.

    The content hash is the truth; the file's size, mtime, ctime and inode, recorded in the
    manifest when it was indexed, are the shortcut (as git's index): when they all match, the
    file is not even read. Otherwise its bytes are hashed and compared, and only a changed
    file is cleaned and chunked again.
    """

    old: Mapping[str, Mapping[str, Any]]
    max_bytes: int
    started_ns: int
    #: the stat of each file seen (taken before it is read), for the new manifest, by article id
    stats: dict[str, dict[str, int]] = field(default_factory=dict)

    #: the ids of the files this scan looked at
    looked: set[str] = field(default_factory=set)

    def __call__(self, path: Path) -> bool:
        try:
            st: os.stat_result | None = os.lstat(path)
        except OSError:
            st = None
        self.record(path, st)
        if st is None or not stat.S_ISREG(st.st_mode):
            return False  # the loader refuses it, with its reason
        seen = file_stat(st)
        entry = self.old.get(path.stem)
        if entry is None or entry.get("path") != path.name:
            return False
        if "fingerprint" not in entry:
            return False  # indexed before fingerprints were recorded: parsed once more to record it
        if all(entry.get(k) == seen[k] for k in STAT_FIELDS):
            return True
        try:
            raw = read_regular_file(path, max_bytes=self.max_bytes)
        except BadArticle:
            return False
        return content_hash(raw) == entry.get("sha256")

    def record(self, path: Path, st: os.stat_result | None) -> None:
        """This scan looked at ``path``, whose stat (None: none could be taken) was taken before it
        was read: recorded for the new manifest, unless the file may still change unseen."""
        self.looked.add(path.stem)
        if st is None or not stat.S_ISREG(st.st_mode):
            return
        if max(st.st_mtime_ns, st.st_ctime_ns) < self.started_ns - RACY_NS:
            self.stats[path.stem] = file_stat(st)

    def entry(self, article_id: str) -> dict[str, Any]:
        """The new manifest's entry for a kept article: the old one, with the file's stat as now seen
        (as it is when this scan did not look at its file)."""
        if article_id not in self.looked:
            return dict(self.old[article_id])
        old = {k: v for k, v in self.old[article_id].items() if k not in STAT_FIELDS}
        return {**old, **self.stats.get(article_id, {})}


def open_current(store: StoreBackend) -> StoreVersion | None:
    """The current version, or None when there is none or it fails its checks (a build then starts afresh)."""
    try:
        return store.open_current()
    except (IndexNotBuilt, IndexCorrupt) as err:
        if isinstance(err, IndexCorrupt):
            log.warning("current snapshot unusable (%s): full rebuild", err)
        return None


def _reusable(
    snap: StoreVersion | None, encoders: Encoders, chunking: ChunkSettings, analyzer: Analyzer
) -> StoreVersion | None:
    """The current version if its vectors can be reused as they are, else None (full rebuild)."""
    if snap is None:
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


def _nothing_changed(
    previous: StoreVersion, articles: Sequence[Article], kept: Sequence[str], settings: Settings
) -> bool:
    """Whether a build would write what ``previous`` already holds: same articles, same files, same settings."""
    old = previous.manifest.articles
    return (
        previous.manifest.index_settings == index_settings(settings)
        and len(old) == len(articles) + len(kept)
        and all(a in old for a in kept)
        and all(_same_entry(old.get(a.id), a) for a in articles)
    )


def _same_entry(entry: Mapping[str, Any] | None, article: Article) -> bool:
    """Whether a manifest entry records ``article`` as it is (with its fingerprint: one indexed
    before fingerprints were recorded is written again, to record it)."""
    return (
        entry is not None
        and entry["sha256"] == article.content_hash
        and entry["path"] == article.path
        and "fingerprint" in entry
    )


def _plan_article(plan: _Plan, prepared: Prepared, previous: StoreVersion | None) -> bool:
    """Add an article's passages and sentences to the plan; True when old vectors are reused."""
    article, passages, sentences = prepared.article, prepared.passages, prepared.sentences
    old_rows = previous.article_rows(article.id) if previous else []
    old_sentences = previous.sentence_rows(old_rows) if previous else []
    reuse = bool(old_rows) and len(old_rows) == len(passages) and len(old_sentences) == len(sentences)
    first = len(plan.passages)
    plan.passages.extend(passages)
    plan.passage_texts.extend(prepared.passage_texts)
    plan.passage_source.extend(old_rows if reuse else [None] * len(passages))
    plan.sentences.extend((first + i, start, end) for i, start, end in sentences)
    plan.sentence_texts.extend(prepared.sentence_texts)
    plan.sentence_source.extend(old_sentences if reuse else [None] * len(sentences))
    return reuse


def _jobs(
    encoders: Encoders, chunking: ChunkSettings, plan: _Plan
) -> tuple[list[tuple[str, Embedder, list[str], list[int | None]]], Any]:
    """What each vector set reads of the plan, and the encoder that pools the sentences from their
    passage's pass (None: sentences are encoded alone)."""
    jobs: list[tuple[str, Embedder, list[str], list[int | None]]] = []
    if encoders.embedding is not None:
        jobs.append(("embedding", encoders.embedding, plan.passage_texts, plan.passage_source))
    if encoders.multilingual is not None:
        jobs.append(("multilingual", encoders.multilingual, plan.passage_texts, plan.passage_source))
        jobs.append(("sentences", encoders.multilingual, plan.sentence_texts, plan.sentence_source))
    late = encoders.multilingual if chunking.late_sentences else None
    if late is not None and not hasattr(late, "encode_with_spans"):
        late = None  # this encoder cannot: sentences are encoded alone
    if late is not None:
        # sentences pooled from their passage's own pass: one pass per passage, no second encoding
        jobs = [job for job in jobs if job[0] not in ("multilingual", "sentences")]
    return jobs, late


def _stream_full_build(
    settings: Settings,
    encoders: Encoders,
    store: StreamingBackend,
    progress: Progress | None,
    clock: _Phases,
    started: float,
    chunking: ChunkSettings,
    analyzer: Analyzer,
) -> IndexReport:
    """A build from scratch, batch by batch: read, clean and chunk articles until the next one would
    take the batch past ``settings.index_batch_passages`` passages, encode the batch, hand it to the
    store, forget it. The store holds the version's rows on disk as they come and makes it current
    only once complete; nothing here holds more than a batch (the expansion vocabulary's word counts
    and the vectors of the texts most recently encoded aside, see :class:`_RecentVectors`)."""
    from collections import Counter

    scan = _UnchangedFiles({}, settings.max_article_bytes, time.time_ns())
    folder = articles_folder(settings.articles_dir)  # refused in one line before anything is listed
    paths = [folder / name for name in article_names(folder)]
    workers = pool_size(settings.index_workers, len(paths))
    items = prepared_files(
        paths, max_bytes=settings.max_article_bytes, chunking=chunking, workers=workers, seen=scan.record
    )
    stream = store.stream(analyzer, index_kind=settings.vector_index, threshold=settings.vector_index_threshold)
    words: Counter[str] | None = Counter() if settings.expansion_vocabulary > 0 else None
    errors: list[BadArticle] = []
    added: list[str] = []
    batch: list[Article] = []
    fingerprints: dict[str, str] = {}
    plan = _Plan()
    counted = {"files": 0, "texts": 0, "done": 0, "passages": 0, "sentences": 0}
    dims: dict[str, int] = {}
    recent = _RecentVectors()

    def step(n: int) -> None:
        counted["done"] += n
        if progress:  # the total is estimated from the files read so far, until they all are
            seen = max(counted["files"], 1)
            total = counted["texts"] * max(len(paths), seen) // seen
            progress(counted["done"], max(total, counted["done"]))

    def flush(last: bool) -> None:
        nonlocal plan
        if not batch and not last:
            return
        jobs, late = _jobs(encoders, chunking, plan)
        work = _EncodingWork.plan(jobs, recent)
        texts = work.texts + (len(plan.passages) if late is not None else 0)
        counted["texts"] += texts
        if progress and not counted["passages"] and texts:
            for encoder in [job[1] for job in jobs] + ([late] if late is not None else []):
                encoder.dim  # noqa: B018 - loads the model before 0% is reported
            progress(0, texts)
        vectors = work.run(None, _chunk_size(settings.embedding_batch_size, texts), step)
        if late is not None:
            vectors |= _late_vectors(late, plan, None, settings.embedding_batch_size, step)
        dims.update({name: column.dim for name, column in vectors.items()})
        clock.mark("embed")
        stats = {a.id: {**scan.stats.get(a.id, {}), "fingerprint": fingerprints[a.id]} for a in batch}
        stream.add(batch, plan.passages, plan.sentences, {n: c.fresh for n, c in vectors.items()}, stats)
        if words is not None:
            for p in plan.passages:
                words.update(analyzer.content_words(p.text))
        counted["passages"] += len(plan.passages)
        counted["sentences"] += len(plan.sentences)
        added.extend(a.id for a in batch)
        batch.clear()
        fingerprints.clear()
        plan = _Plan()
        clock.mark("write")

    try:
        for item in items:
            counted["files"] += 1
            clock.mark("read_articles")
            if isinstance(item, BadArticle):
                log.warning("skipped %s", item)
                errors.append(item)
                continue
            if batch and len(plan.passages) + len(item.passages) > settings.index_batch_passages:
                flush(last=False)
            batch.append(item.article)
            fingerprints[item.article.id] = item.fingerprint
            _plan_article(plan, item, None)
            clock.mark("chunk")
        flush(last=True)
        if not added:
            log.warning("no indexable articles in %s: the index will be empty", settings.articles_dir)
        expander = None
        if encoders.multilingual is not None:
            expander = TermExpander.from_counts(
                words or Counter(), encoders.multilingual, max_vocabulary=settings.expansion_vocabulary
            )
        clock.mark("expansion_vocabulary")
        version = stream.finish(
            encoders={role: {"model": name, "dim": dims[role]} for role, name in encoders.names().items()},
            analyzer=analyzer.as_dict(),
            chunking=chunking.as_dict(),
            expander=expander,
            index_settings=index_settings(settings),
            build_seconds=time.perf_counter() - started,
        )
    except BaseException:
        stream.abort()
        raise
    finally:
        items.close()  # a build that failed stops the pool's workers
    clock.mark("index")
    clock.phases.update(stream.phases)
    return IndexReport(
        articles=len(added),
        passages=counted["passages"],
        seconds=time.perf_counter() - started,
        version=version,
        errors=tuple(errors),
        added=tuple(added),
        embedded_passages=counted["passages"],
        full_rebuild=True,
        phases=clock.phases,
        workers=workers if workers > 1 else 0,
    )


#: Texts handed to an encoder at once, at most (and the progress steps): about 1/40 of the job.
#: Larger calls keep an encoder's streams busy to the end of each call (measured: 3% less CPU
#: than calls of 32 texts on OpenVINO int8, two streams); ``embedding_batch_size`` is the least.
PROGRESS_STEPS = 40


def _chunk_size(batch: int, total: int) -> int:
    return max(batch, -(-total // PROGRESS_STEPS))


#: texts whose vectors a streaming build keeps from one batch to the next, per encoder, the most
#: recently met first (about 100 MB at 384 dimensions)
RECENT_TEXTS = 65_536


@dataclass
class _RecentVectors:
    """The vectors of the texts earlier batches of a streaming build encoded, the :data:`RECENT_TEXTS`
    most recently met per encoder: a text met again in a later batch (a credit line, a recurring
    sentence) takes the vector it had, unencoded."""

    limit: int = RECENT_TEXTS
    by_encoder: dict[int, OrderedDict[str, np.ndarray]] = field(default_factory=dict)

    def of(self, encoder: Embedder) -> OrderedDict[str, np.ndarray]:
        return self.by_encoder.setdefault(id(encoder), OrderedDict())

    def keep(self, encoder: Embedder, texts: Sequence[str], vectors: np.ndarray) -> None:
        known = self.of(encoder)
        for text, vector in zip(texts, vectors, strict=True):
            known[text] = vector.copy()  # a copy: the batch's array is let go
            if len(known) > self.limit:
                known.popitem(last=False)


@dataclass(frozen=True)
class _EncodingWork:
    """What each encoder reads for a build: every distinct fresh text of its jobs, once.

    A text met twice (a sentence repeated in a collection, a passage equal to another) is encoded
    once and its vector given to each row that holds it: an encoder gives one text one vector.
    A streaming build also passes the vectors its earlier batches gave (``recent``).
    """

    jobs: tuple[tuple[str, Embedder, Sequence[str], Sequence[int | None]], ...]
    texts_of: tuple[tuple[Embedder, dict[str, int]], ...]  # per encoder: its distinct texts -> their row
    recent: _RecentVectors | None = None

    @classmethod
    def plan(
        cls,
        jobs: Sequence[tuple[str, Embedder, Sequence[str], Sequence[int | None]]],
        recent: _RecentVectors | None = None,
    ) -> _EncodingWork:
        texts_of: dict[int, tuple[Embedder, dict[str, int]]] = {}
        for _, encoder, items, sources in jobs:
            _, distinct = texts_of.setdefault(id(encoder), (encoder, {}))
            known = recent.of(encoder) if recent is not None else {}
            for item, source in zip(items, sources, strict=True):
                if source is None:
                    if item in known:
                        known.move_to_end(item)  # type: ignore[attr-defined]
                    else:
                        distinct.setdefault(item, len(distinct))
        return cls(tuple(jobs), tuple(texts_of.values()), recent)

    @property
    def texts(self) -> int:
        return sum(len(distinct) for _, distinct in self.texts_of)

    def run(self, previous: StoreVersion | None, chunk: int, step: Callable[[int], None]) -> dict[str, VectorColumn]:
        """Each job's vectors: encoded where its sources say None; the others stay in the previous
        version, for the store to copy or keep."""
        import numpy as np

        encoded = {id(encoder): _encode(encoder, list(distinct), chunk, step) for encoder, distinct in self.texts_of}
        rows_of = {id(encoder): distinct for encoder, distinct in self.texts_of}
        out = {}
        for name, encoder, items, sources in self.jobs:
            # When every vector is reused the model need not even load: take the width from the old set.
            old = previous.vector_set(name) if previous is not None else None
            dim = old.dim if old is not None else encoder.dim
            distinct = rows_of[id(encoder)]
            fresh_items = [item for item, source in zip(items, sources, strict=True) if source is None]
            rows = [distinct.get(item, -1) for item in fresh_items]
            vectors = encoded[id(encoder)]
            if not rows:
                fresh = np.zeros((0, dim), dtype=np.float32)
            elif rows == list(range(rows[0], rows[0] + len(rows))) and rows[0] >= 0:
                fresh = vectors[rows[0] : rows[0] + len(rows)]  # no repeat: a view, not a second copy
            elif min(rows) >= 0:
                fresh = vectors[rows]
            else:  # some met in an earlier batch
                assert self.recent is not None
                known = self.recent.of(encoder)
                fresh = np.zeros((len(rows), dim), dtype=np.float32)
                for k, (item, row) in enumerate(zip(fresh_items, rows, strict=True)):
                    fresh[k] = vectors[row] if row >= 0 else known[item]
            out[name] = VectorColumn(dim=dim, sources=list(sources), fresh=fresh)
        if self.recent is not None:
            for encoder, distinct in self.texts_of:
                if distinct:
                    self.recent.keep(encoder, list(distinct), encoded[id(encoder)])
        return out


def _encode(encoder: Embedder, texts: Sequence[str], chunk: int, step: Callable[[int], None]) -> np.ndarray:
    """``texts`` encoded ``chunk`` at a time, longest first across the whole job: each batch an
    encoder forms holds texts of one length, so little of it is padding."""
    import numpy as np

    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda k: -len(texts[k]))
    out = None
    for start in range(0, len(order), chunk):
        rows = order[start : start + chunk]
        vectors = encoder.encode([texts[k] for k in rows])
        if out is None:
            out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        out[rows] = vectors
        step(len(rows))
    return out


def _late_vectors(
    encoder: Any, plan: _Plan, previous: StoreVersion | None, batch: int, step: Callable[[int], None]
) -> dict[str, VectorColumn]:
    """The passage vectors and the sentence vectors of the fresh passages from one pass each
    (``encoder.encode_with_spans``: the sentences' token states pooled); a sentence the pass did not
    reach (past the model's length) is encoded alone."""
    import numpy as np

    old_passages = previous.vector_set("multilingual") if previous is not None else None
    dim = old_passages.dim if old_passages is not None else encoder.dim
    fresh = [i for i, s in enumerate(plan.passage_source) if s is None]
    row_of = {p: k for k, p in enumerate(fresh)}
    spans: list[list[tuple[int, int]]] = [[] for _ in fresh]
    slots: list[list[int]] = [[] for _ in fresh]  # each span's row among the fresh sentences
    fresh_sentences = [j for j, s in enumerate(plan.sentence_source) if s is None]
    cursor: dict[int, int] = {}  # where each passage's next sentence is looked for in its encoded text
    for n, j in enumerate(fresh_sentences):
        p = plan.sentences[j][0]
        text, sentence = plan.passage_texts[p], plan.sentence_texts[j]
        # the encoded text is "title\n\n" + the tidied passage, the sentence tidied alike
        at = cursor.get(p, len(text) - len(tidy(plan.passages[p].text)))
        found = text.find(sentence, at)
        if found >= 0:
            cursor[p] = found + len(sentence)
        spans[row_of[p]].append((found, found + len(sentence)) if found >= 0 else (0, 0))  # (0, 0): encoded alone
        slots[row_of[p]].append(n)
    passages = np.zeros((len(fresh), dim), dtype=np.float32)
    sentences = np.zeros((len(fresh_sentences), dim), dtype=np.float32)
    order = sorted(range(len(fresh)), key=lambda k: -len(plan.passage_texts[fresh[k]]))
    for start in range(0, len(order), batch):
        chunk = order[start : start + batch]
        texts = [plan.passage_texts[fresh[k]] for k in chunk]
        vectors, pooled = encoder.encode_with_spans(texts, [spans[k] for k in chunk])
        passages[chunk] = vectors
        for k, rows in zip(chunk, pooled, strict=True):
            sentences[slots[k]] = rows
        step(len(chunk))
    unread = [n for n in range(len(fresh_sentences)) if not sentences[n].any()]
    if unread:
        sentences[unread] = encoder.encode([plan.sentence_texts[fresh_sentences[n]] for n in unread])
    return {
        "multilingual": VectorColumn(dim=dim, sources=list(plan.passage_source), fresh=passages),
        "sentences": VectorColumn(dim=dim, sources=list(plan.sentence_source), fresh=sentences),
    }
