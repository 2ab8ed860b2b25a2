"""Article files made ready to index: read, cleaned, chunked, their sentences and encoder texts cut,
in the building process or over a pool of worker processes (a full build of a large folder).

A worker gets a batch of file paths and hands back, per file, the stat it took before reading it
and its :class:`Prepared` article or why it was refused (plain tuples and frozen dataclasses,
through multiprocessing's pipes; nothing is written anywhere). The building process takes the
batches back in file order and decides what only it can decide in that order (a second file of
the same article id is refused), so the articles, their order, the errors and the stats are the
same whether a pool ran or not: only the time differs.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadArticle
from ..options import ChunkSettings
from ..types import Article, Passage
from .analysis import tidy
from .articles import id_taken, load_article
from .chunking import chunk_with_sentences
from .ingest import body_fingerprint

#: a folder with fewer files is read in the building process: starting workers (each imports
#: ragbot, ~0.5 s) would cost more than they save (~1 ms per article)
PARALLEL_FROM = 2_000
#: files per task handed to a worker, at most (a smaller folder: about four tasks per worker)
TASK_FILES = 64
#: how much less CPU a worker asks for than the building process (``nice``): the building process
#: encodes and writes every batch, the one step that cannot run beside itself, so on a busy machine
#: it goes first and the workers take what is left (a worker still gets a third of what a process
#: of normal priority gets)
WORKER_NICENESS = 5
#: tasks submitted ahead of the one the building process waits for, per worker: enough for the
#: workers to go on while the building process encodes and writes a batch (8192 passages: about
#: 900 articles); what is held beyond the build's batch (about 2 000 articles at most, ~40 MB)
AHEAD_PER_WORKER = 16


@dataclass(frozen=True)
class Prepared:
    """An article and what indexing it needs: its passages, their quotable sentences ((passage
    ordinal, char_start, char_end) in its body), what the passage encoders read of each passage
    (``passage_texts``, see :meth:`ChunkSettings.embedding_text`) and of each sentence, and its
    body's fingerprint (``ragbot add``'s duplicate check)."""

    article: Article
    passages: tuple[Passage, ...]
    sentences: tuple[tuple[int, int, int], ...]
    passage_texts: tuple[str, ...]
    sentence_texts: tuple[str, ...]
    fingerprint: str


def prepare(article: Article, chunking: ChunkSettings) -> Prepared:
    """``article`` chunked, its sentences found and its encoder texts cut."""
    passages, sentences = chunk_with_sentences(article, chunking)
    title = article.info.title
    return Prepared(
        article=article,
        passages=tuple(passages),
        sentences=tuple(sentences),
        passage_texts=tuple(chunking.embedding_text(p, title) for p in passages),
        sentence_texts=tuple(tidy(article.body[start:end]) for _, start, end in sentences),
        fingerprint=body_fingerprint(article),
    )


#: what a worker hands back per file: the file's stat before it was read (None: it could not be
#: taken), then its prepared article or (reason) why it was refused
_FileResult = tuple[os.stat_result | None, Prepared | str]


def _prepare_files(paths: Sequence[str], max_bytes: int, chunking: ChunkSettings) -> list[_FileResult]:
    """A worker's task (also run in the building process when there is no pool)."""
    out: list[_FileResult] = []
    for name in paths:
        path = Path(name)
        try:
            st: os.stat_result | None = os.lstat(path)
        except OSError:
            st = None
        try:
            out.append((st, prepare(load_article(path, max_bytes=max_bytes), chunking)))
        except BadArticle as err:
            out.append((st, err.reason))
    return out


def _worker_started() -> None:
    """A worker's first step: a lower priority than the building process (:data:`WORKER_NICENESS`)."""
    os.nice(WORKER_NICENESS)


def pool_size(workers: int, files: int) -> int:
    """How many worker processes read ``files`` files: ``workers`` when set (1: none), else one per
    core this process may use when there are at least :data:`PARALLEL_FROM` files."""
    if workers:
        return workers
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores if files >= PARALLEL_FROM and cores > 1 else 1


def prepared_files(
    paths: Sequence[Path],
    *,
    max_bytes: int,
    chunking: ChunkSettings,
    workers: int = 1,
    seen: Callable[[Path, os.stat_result | None], None] | None = None,
) -> Iterator[Prepared | BadArticle]:
    """Each file's prepared article, or why it was refused, in the order of ``paths``; ``workers``
    processes read them (1: this process, one file at a time). ``seen(path, stat)`` is told, in
    that order, the stat taken before each file was read (not for a second file of an id)."""
    ids: dict[str, str] = {}
    for results, names in _results(paths, max_bytes, chunking, workers):
        for (st, result), name in zip(results, names, strict=True):
            path = Path(name)
            if (taken := id_taken(path, ids)) is not None:
                yield taken
                continue
            if seen is not None:
                seen(path, st)
            if isinstance(result, str):
                yield BadArticle(path, result)
                continue
            ids[path.stem] = path.name
            yield result


def _results(
    paths: Sequence[Path], max_bytes: int, chunking: ChunkSettings, workers: int
) -> Iterator[tuple[list[_FileResult], list[str]]]:
    """Each task's results with its files' names, in order."""
    names = [str(p) for p in paths]
    if workers <= 1:
        for name in names:
            yield _prepare_files([name], max_bytes, chunking), [name]
        return
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    size = max(1, min(TASK_FILES, len(names) // (4 * workers)))
    tasks = [names[k : k + size] for k in range(0, len(names), size)]
    # spawn, not fork: the building process may hold threads (a bot serving, a model loading)
    # whose locks a forked child would inherit held
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_started)
    pending: deque[tuple[Future[list[_FileResult]], list[str]]] = deque()
    try:
        for task in tasks:
            pending.append((pool.submit(_prepare_files, task, max_bytes, chunking), task))
            if len(pending) > workers * AHEAD_PER_WORKER:
                future, done = pending.popleft()
                yield future.result(), done
        while pending:
            future, done = pending.popleft()
            yield future.result(), done
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
