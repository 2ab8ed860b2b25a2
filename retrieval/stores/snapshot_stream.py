"""A fresh FAISS snapshot written batch by batch: a full build whose memory is bounded by its batch.

The indexer hands each batch of articles, their passages, sentences and vectors to
:meth:`SnapshotStream.add`, which appends them at once to the snapshot being written (under a
temporary name, as :mod:`.snapshot_write` writes one): their rows to its SQLite, their term counts
to the BM25 counts, their sentence spans to the sentence table, their vectors to one raw file per
vector set. :meth:`SnapshotStream.finish` then trains each vector set's index on its sample read
back from that file (the very rows and ranges a build holding every vector would train on), adds
the rows in bounded chunks, writes each index while hashing it, drops the raw files, weighs BM25
and publishes: manifest, fsync, rename, the ``CURRENT`` switch. A build that fails or is
interrupted leaves only the temporary folder (:meth:`abort` removes it; so does the next build):
the current version never stops serving.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .bm25 import LexicalIndex, TermCounts, analysed, lexical_texts
from .faiss_index import IndexChoice, new_index
from .manifest import DB_FILE, SPANS_FILE, Manifest
from .pointer import SNAPSHOTS, TMP_PREFIX, utc_stamp
from .segments import segment_file
from .snapshot_db import SCHEMA, insert_rows
from .snapshot_write import manifest_entry, publish

if TYPE_CHECKING:
    from ..corpus.analysis import Analyzer
    from ..types import Article, Passage
    from .base import Expander

#: rows added to an index (and read back from its raw file) at a time
ADD_ROWS = 65_536
#: the raw vectors of a set while the build runs (removed before the manifest is written)
SPILL_SUFFIX = ".f32.tmp"


class HashingWriter:
    """A file written once, front to back, hashed as it is written (no second read for its checksum)."""

    def __init__(self, path: Path) -> None:
        self.file: IO[bytes] = open(path, "xb")  # noqa: SIM115 - closed by close(); a new file, never an old one
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes | memoryview) -> int:
        self.sha256.update(data)
        return self.file.write(data)

    def close(self) -> str:
        self.file.close()
        return self.sha256.hexdigest()


@dataclass
class _Spill:
    """A vector set's rows as they arrive, float32 end to end in a raw file; the least and greatest
    value of each dimension kept as they go (a scalar quantiser's ranges)."""

    path: Path
    dim: int
    rows: int = 0
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    file: IO[bytes] | None = None

    def append(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if self.file is None:
            self.file = open(self.path, "xb")  # noqa: SIM115 - closed by close()
        self.file.write(vectors.tobytes())
        self.rows += len(vectors)
        if len(vectors):
            low, high = vectors.min(axis=0), vectors.max(axis=0)
            self.low = low if self.low is None else np.minimum(self.low, low)
            self.high = high if self.high is None else np.maximum(self.high, high)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, self.dim

    def chunks(self, size: int = ADD_ROWS) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, its vectors) ``size`` rows at a time, read (not mapped: the rows read do not
        stay resident)."""
        if not self.rows:
            return
        row_bytes = 4 * self.dim
        with open(self.path, "rb") as fh:
            for start in range(0, self.rows, size):
                n = min(size, self.rows - start)
                raw = fh.read(n * row_bytes)
                yield start, np.frombuffer(raw, dtype=np.float32).reshape(n, self.dim)

    def take(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        for start, chunk in self.chunks():
            lo, hi = np.searchsorted(rows, [start, start + len(chunk)])
            out[lo:hi] = chunk[rows[lo:hi] - start]
        return out

    def extremes(self) -> np.ndarray:
        if self.low is None or self.high is None:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.low, self.high])


@dataclass
class SnapshotStream:
    """A fresh snapshot being written, batch by batch (see the module). One writer: the caller
    holds the index lock."""

    data_dir: Path
    analyzer: Analyzer
    index_kind: str = "auto"
    threshold: int = 50_000
    keep: int = 3
    stamp: str = field(default_factory=utc_stamp)
    passages: int = 0
    sentences: int = 0
    #: the manifest's entries of the articles written so far
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)
    _tmp: Path | None = None
    _db: sqlite3.Connection | None = None
    _spills: dict[str, _Spill] = field(default_factory=dict)
    _counts: list[TermCounts] = field(default_factory=list)
    _memo: dict[str, list[str]] = field(default_factory=dict)
    _spans: list[np.ndarray] = field(default_factory=list)
    #: seconds per step of :meth:`finish` (training and filling each index, BM25, publishing)
    phases: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        snapshots = Path(self.data_dir) / SNAPSHOTS
        snapshots.mkdir(parents=True, exist_ok=True)
        self._tmp = snapshots / f"{TMP_PREFIX}{self.stamp}"
        self._tmp.mkdir()
        self._db = sqlite3.connect(self._tmp / DB_FILE)
        # A crash leaves only the temporary folder, removed by the next build; the whole file is
        # fsynced before it is published. Journal and syncs would only slow the writes down.
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.executescript(SCHEMA)

    @property
    def folder(self) -> Path:
        """The temporary folder being written (renamed to its version by :meth:`finish`)."""
        assert self._tmp is not None
        return self._tmp

    def add(
        self,
        articles: Sequence[Article],
        passages: Sequence[Passage],
        sentences: Sequence[tuple[int, int, int]],
        vectors: Mapping[str, np.ndarray],
        file_stats: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """Append a batch: ``articles`` with all their passages, ``passages`` the rows after the
        ones added so far, ``sentences`` counting their passage rows from the first of ``passages``,
        ``vectors`` each vector set's rows of this batch (passages', or sentences' for "sentences")."""
        assert self._db is not None
        for name, rows in vectors.items():
            expected = len(sentences) if name == "sentences" else len(passages)
            if len(rows) != expected:
                raise ValueError(f"{name}: {len(rows)} vectors for {expected} rows")
            spill = self._spills.get(name)
            if spill is None:
                spill = self._spills[name] = _Spill(self.folder / f"{name}{SPILL_SUFFIX}", int(rows.shape[1]))
            spill.append(rows)
        insert_rows(self._db, articles, passages, sentences, self.passages, self.sentences)
        counts: dict[str, int] = {}
        for p in passages:
            counts[p.article_id] = counts.get(p.article_id, 0) + 1
        for a in articles:
            self.articles[a.id] = manifest_entry(a, counts.get(a.id, 0), file_stats)
        if passages:
            texts = lexical_texts(articles, passages)
            self._counts.append(TermCounts.of(analysed(texts, self.analyzer, self._memo)))
        spans = np.asarray(sentences, dtype=np.int64).reshape(-1, 3)
        spans[:, 0] += self.passages
        self._spans.append(spans)
        self.passages += len(passages)
        self.sentences += len(sentences)

    def finish(
        self,
        *,
        encoders: dict[str, dict[str, Any]],
        analyzer: dict[str, Any],
        chunking: dict[str, Any],
        expander: Expander | None,
        index_settings: Mapping[str, Any],
        build_seconds: float,
    ) -> str:
        """Index the vectors, write what remains, publish; returns the new version. The vector sets
        are indexed in a thread of their own (FAISS lets go of the GIL) while this one weighs and
        writes BM25 and the sentence table; :attr:`phases` says how long each took."""
        from concurrent.futures import ThreadPoolExecutor

        assert self._db is not None
        self._db.commit()
        self._db.close()
        self._db = None
        started = time.perf_counter()
        with ThreadPoolExecutor(1, thread_name_prefix="ragbot-index") as pool:
            vectors = pool.submit(self._index_vectors)
            try:
                if self.passages:  # no passage, no lexical index (BM25 needs a document): the loader knows
                    counts = TermCounts.concat(self._counts)
                    self._counts = []
                    LexicalIndex.from_counts(counts).save(self.folder)
                    del counts
                spans = np.concatenate(self._spans) if self._spans else np.zeros((0, 3), dtype=np.int64)
                self._spans = []
                writer = HashingWriter(self.folder / SPANS_FILE)
                np.save(writer, spans, allow_pickle=False)  # type: ignore[arg-type]
                hashed = {SPANS_FILE: writer.close()}
                if expander is not None:
                    expander.save(self.folder)
                self.phases["index_lexical"] = round(time.perf_counter() - started, 4)
            finally:
                index_types, vector_files = vectors.result()  # waited for even when this thread failed
        hashed |= vector_files
        self.phases["index_wait_vectors"] = round(time.perf_counter() - started - self.phases["index_lexical"], 4)
        published = time.perf_counter()
        manifest = Manifest(
            encoders=encoders,
            analyzer=analyzer,
            chunking=dict(chunking),
            articles=self.articles,
            index_types=index_types,
            counts={"articles": len(self.articles), "passages": self.passages, "sentences": self.sentences},
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            build_seconds=round(build_seconds, 3),
            index_settings=dict(index_settings),
        )
        version = publish(Path(self.data_dir), self.folder, self.stamp, manifest, hashed=hashed, keep=self.keep)
        self._tmp = None
        self.phases["publish"] = round(time.perf_counter() - published, 4)
        return version

    def _index_vectors(self) -> tuple[dict[str, str], dict[str, str]]:
        """Each vector set's index, trained, filled from its raw file and written (hashed as it is
        written), the raw file then removed: the index types and the files' checksums."""
        import faiss

        choice = IndexChoice(self.index_kind, self.threshold, self.passages)
        index_types: dict[str, str] = {}
        hashed: dict[str, str] = {}
        for name, spill in self._spills.items():
            started = time.perf_counter()
            spill.close()
            index, index_types[name] = new_index(name, spill, choice)
            trained = time.perf_counter()
            for _, chunk in spill.chunks():
                index.add(chunk)
            file = segment_file(name, 0)
            writer = HashingWriter(self.folder / file)
            faiss.write_index(index, faiss.PyCallbackIOWriter(writer.write))
            hashed[file] = writer.close()
            del index
            spill.path.unlink()
            self.phases[f"index_{name}_train"] = round(trained - started, 4)
            self.phases[f"index_{name}_add_write"] = round(time.perf_counter() - trained, 4)
        return index_types, hashed

    def abort(self) -> None:
        """Drop what was written (the current version was never touched)."""
        for spill in self._spills.values():
            spill.close()
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
