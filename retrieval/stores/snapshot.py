"""A loaded FAISS snapshot: the store's :class:`~retrieval.stores.base.StoreVersion`.

A snapshot folder (written by :mod:`retrieval.stores.snapshot_write`) holds::

    manifest.json             encoders, chunking, analyzer, per-article hashes, counts, file checksums
    passages.sqlite           articles, passages, sentences (no pickle anywhere); passages.<k>.sqlite
                              the rows later writes added (see :mod:`.segments`)
    sentence_spans.npy        (passage_row, char_start, char_end) per sentence
    dense.embedding.faiss     sentence-transformers vectors, row i = passage row i
    dense.multilingual.faiss  multilingual vectors of passages
    dense.sentences.faiss     multilingual vectors of sentences, row j = sentence row j
    dense.<set>.<k>.faiss     a vector set's later segments (see :mod:`.segments`)
    tombstones.*.npy          the physical rows removals left dead (see :mod:`.segments`)
    bm25_*.npy, bm25_vocab.json      the lexical index (numpy arrays, JSON); bm25_*.<k>.*: its later
                              segments (see :mod:`.bm25`)
    xling_vocab.json/.faiss   article words in the multilingual space (query expansion)

Nothing is trusted on the way in: the manifest must hash to the digest in its folder's
name, must be well formed, and must list exactly the files in the folder, every one the
loader opens among them; each file must match its checksum before it is parsed (a file this
data folder already checked and that is unchanged since is not hashed again: :mod:`.seals`). Any
failure is :class:`IndexCorrupt` (exit 4), and the next ``ragbot index`` builds afresh.
Format-2 snapshots (no digest in the name) still load, with every check but the digest.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus.analysis import Analyzer
from ..encoders.embedding import file_sha256
from ..errors import IndexCorrupt, IndexNotBuilt
from ..types import ArticleInfo, ArticleSummary, Passage
from .base import LexicalIndex as LexicalSearch
from .base import VectorSet, sentence_rows
from .bm25 import COUNT_FILES, LEXICAL_FILES, SEGMENT_STEMS, LexicalIndex, SegmentedLexical, TermCounts
from .bm25 import segment_files as lexical_segment_files
from .local import AnalyzedLexical, FaissVectorSet
from .manifest import (
    MANIFEST,
    REBUILD,
    SPANS_FILE,
    VOCAB_FILES,
    Manifest,
    check_encoder,
    one_line,
)
from .pointer import DIGEST_CHARS, POINTER, SNAPSHOTS, VERSION_NAME, current_version
from .seals import Seals
from .segments import (
    TOMBSTONES,
    SegmentedVectorSet,
    database_files,
    live_rows,
    numbered_files,
    segment_files,
    tombstone_set,
    valid_tombstones,
)
from .vocabulary import TermExpander


def mmap_flags(kind: str) -> int:
    """How FAISS opens a segment of index kind ``kind``: memory-mapped, read only (inverted lists
    through FAISS's on-disk lists, flat and scalar-quantised codes in place)."""
    import faiss

    way = "IO_FLAG_MMAP" if kind.startswith("ivf") else "IO_FLAG_MMAP_IFC"
    return getattr(faiss, way, 0) | getattr(faiss, "IO_FLAG_READ_ONLY", 0)


class Snapshot:
    """A loaded snapshot: the FAISS indexes memory-mapped, passages read from SQLite on demand."""

    remote = False  # searched in this process

    def __init__(self, path: Path, *, verify: bool = True) -> None:
        self.path = Path(path)
        self.version = self.path.name
        self._db: sqlite3.Connection | None = None
        self._bm25: LexicalIndex | None = None  # the loaded BM25 arrays (the FAISS store only)
        self._lock = threading.Lock()
        try:
            self._load(verify)
        except Exception as err:
            if self._db is not None:
                self._db.close()
            label = self.version if VERSION_NAME.fullmatch(self.version) else one_line(repr(self.version))
            if isinstance(err, IndexCorrupt):
                raise IndexCorrupt(f"snapshot {label}: {err}") from None
            if isinstance(err, (OSError, ValueError, RuntimeError, KeyError, TypeError, IndexError, sqlite3.Error)):
                # faiss, numpy, SQLite or the file system refusing what passed the checks above
                raise IndexCorrupt(
                    f"snapshot {label} cannot be read ({type(err).__name__}: {one_line(err)}); {REBUILD}"
                ) from None
            raise

    def _load(self, verify: bool) -> None:
        import faiss

        name = VERSION_NAME.fullmatch(self.version)
        if name is None:
            raise IndexCorrupt(f"its folder name is not a snapshot version; {REBUILD}")
        if (self.path / MANIFEST).is_symlink():
            raise IndexCorrupt(f"its manifest is a link; {REBUILD}")
        try:
            raw = (self.path / MANIFEST).read_bytes()
        except FileNotFoundError:
            raise IndexCorrupt(f"it has no manifest; {REBUILD}") from None
        digest = name["digest"]
        if digest is not None and hashlib.sha256(raw).hexdigest()[:DIGEST_CHARS] != digest:
            raise IndexCorrupt(f"its manifest does not match the digest in its name; {REBUILD}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise IndexCorrupt(f"its manifest is not UTF-8 text; {REBUILD}") from None
        self.manifest = m = Manifest.from_json(text)
        if digest is None and m.format != 2:
            raise IndexCorrupt(f"a format-{m.format} manifest must be named by its digest; {REBUILD}")
        self._check_file_list()
        if verify:
            self._verify_files()
        n_passages, n_sentences = m.counts["passages"], m.counts["sentences"]
        #: the FAISS indexes by name, their first segment (the FAISS store only)
        self.dense: dict[str, Any] = {}
        #: each vector set's segment files and their rows, in row order (see :mod:`.segments`)
        self.segments: dict[str, list[tuple[str, int]]] = {}
        #: the dead physical rows of the passage sets and of the sentence set (see :mod:`.segments`)
        self.tombstones = {key: self._tombstones(file) for key, file in TOMBSTONES.items()}
        self._vector_sets: dict[str, VectorSet] = {}
        for vectors in m.dense_names():
            # Memory-mapped where FAISS can (inverted lists, flat and scalar-quantised codes): the
            # pages are read as searches touch them, and shared by every process serving this version.
            files = segment_files(m.files, vectors)
            kind = m.index_types.get(vectors, "flat")
            indexes = [faiss.read_index(str(self.path / f), mmap_flags(kind)) for f in files]
            role = "multilingual" if vectors == "sentences" else vectors
            rows = n_sentences if vectors == "sentences" else n_passages
            dead = self.tombstones[tombstone_set(vectors)]
            total = sum(int(ix.ntotal) for ix in indexes)
            if not valid_tombstones(dead, total) or total - len(dead) != rows:
                raise IndexCorrupt(f"its {vectors} vectors do not match the manifest; {REBUILD}")
            if any(ix.d != m.encoders[role]["dim"] for ix in indexes):
                raise IndexCorrupt(f"its {vectors} vectors do not match the manifest; {REBUILD}")
            self.dense[vectors] = indexes[0]
            self.segments[vectors] = [(f, int(ix.ntotal)) for f, ix in zip(files, indexes, strict=True)]
            searchable = kind.startswith(("flat", "ivf", "hnsw"))
            self._vector_sets[vectors] = (
                FaissVectorSet(vectors, indexes[0], searchable=searchable)
                if len(indexes) == 1 and not len(dead)
                else SegmentedVectorSet(vectors, indexes, dead, searchable=searchable)
            )
        self._open_databases(n_passages)
        self._bm25 = lexical = self._lexical_index(n_passages)
        self.lexical: LexicalSearch | None = (
            AnalyzedLexical(lexical, Analyzer(m.analyzer.get("language", "french")))
            if lexical is not None and n_passages
            else None
        )
        self.expander = TermExpander.load(self.path) if VOCAB_FILES[0] in m.files else None
        self.sentence_spans = self._sentence_table()
        owners = self.sentence_spans[:, 0]
        if len(owners) and (owners[0] < 0 or owners[-1] >= n_passages or np.any(owners[1:] < owners[:-1])):
            raise IndexCorrupt(f"its sentences point outside its passages; {REBUILD}")
        passages = np.arange(self.size)
        #: sentences of passage p are rows sentence_first[p] to sentence_last[p] (exclusive)
        self.sentence_first = np.searchsorted(owners, passages, side="left")
        self.sentence_last = np.searchsorted(owners, passages, side="right")

    def _lexical_index(self, n_passages: int) -> LexicalIndex | SegmentedLexical | None:
        """The BM25 index: the weights a fresh build or a merge stored for exactly its rows, or the
        lexical segments over the physical rows, weighed when asked (see :mod:`.bm25`)."""
        files = self.manifest.files
        vocabularies = numbered_files(files, *SEGMENT_STEMS[0])
        #: the lexical index's rows are the physical rows (a later write may add a segment after them)
        self.lexical_physical = False
        if not vocabularies:
            return None
        dead = self.tombstones["passages"]
        if LEXICAL_FILES[0] in files:  # weights of exactly the live rows
            lexical = LexicalIndex.load(self.path)
            if len(vocabularies) != 1 or lexical.n_docs != n_passages:
                raise IndexCorrupt(f"its lexical index does not match the manifest; {REBUILD}")
            self.lexical_physical = not len(dead)
            return lexical
        segments = [TermCounts.load_segment(self.path, k) for k in range(len(vocabularies))]
        total = sum(len(seg.doc_len) for seg in segments)
        if not valid_tombstones(dead, total) or total - len(dead) != n_passages:
            raise IndexCorrupt(f"its lexical index does not match the manifest; {REBUILD}")
        self.lexical_physical = True
        return SegmentedLexical(segments, dead)

    def lexical_segments(self) -> list[list[str]] | None:
        """The files of each lexical segment, in order, that a later write may link as they are and
        add its own after (their rows the physical rows, their counts stored); None when that write
        must write the lexical index whole."""
        if self._bm25 is None:
            return [] if not self.physical_rows("passages") else None
        if not self.lexical_physical or not all(name in self.manifest.files for name in COUNT_FILES):
            return None
        return [lexical_segment_files(k) for k in range(len(numbered_files(self.manifest.files, *SEGMENT_STEMS[0])))]

    def lexical_rows(self, rows: np.ndarray) -> np.ndarray:
        """The rows of :meth:`term_counts` holding passage rows ``rows``."""
        if not isinstance(self._bm25, SegmentedLexical):
            return rows
        physical = live_rows(sum(len(s.doc_len) for s in self._bm25.segments), self.tombstones["passages"])
        return rows if physical is None else physical[rows]

    def _open_databases(self, n_passages: int) -> None:
        """Open the databases (the first, then each later write's, attached as ``d1``, ``d2``, …) and
        check them against the manifest. With one database and no tombstone, a removal may have
        left gaps in its keys (the reader maps rows to keys); otherwise the keys of each database
        continue the one before's without a gap, and are the physical rows (see :mod:`.segments`)."""
        m = self.manifest
        files = database_files(m.files)
        self._db = sqlite3.connect(f"file:{self.path / files[0]}?mode=ro", uri=True, check_same_thread=False)
        #: the schema of each database, in order
        self._schemas = ["main"] + [f"d{k}" for k in range(1, len(files))]
        dead = self.tombstones["passages"]
        with self._lock:
            for schema, file in zip(self._schemas[1:], files[1:], strict=True):
                self._db.execute(f"ATTACH DATABASE ? AS {schema}", (f"file:{self.path / file}?mode=ro",))
            stats = [
                self._db.execute(
                    f"SELECT COUNT(*), COALESCE(MIN(row), 0), COALESCE(MAX(row), -1) FROM {s}.passages"
                ).fetchone()
                for s in self._schemas
            ]
        #: the first key of each database, and the database holding each live article's current
        #: row (None: one database, every row of it current)
        self._db_starts: np.ndarray | None = None
        self._article_db: dict[str, int] | None = None
        if len(files) == 1 and not len(dead):
            with self._lock:
                n_articles = self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            if [n_articles, stats[0][0]] != [m.counts["articles"], n_passages]:
                raise IndexCorrupt(f"its database does not match the manifest; {REBUILD}")
            if tuple(stats[0]) == (n_passages, 0, n_passages - 1) or not n_passages:
                self._keys = None  # distinct keys 0 to n - 1: every row is its key (1M keys not read)
                return
            with self._lock:
                found = self._db.execute("SELECT row FROM passages ORDER BY row")
                keys = np.fromiter((r[0] for r in found), dtype=np.int64, count=n_passages)
            #: the database key of each row, where a removal left gaps (else None: row = key)
            self._keys: np.ndarray | None = None if not len(keys) or keys[-1] == len(keys) - 1 else keys
            return
        starts, total = [], 0
        for count, lo, hi in stats:
            if count and (lo != total or hi != total + count - 1):
                raise IndexCorrupt(f"its databases' keys do not follow each other; {REBUILD}")
            starts.append(total)
            total += count
        if not valid_tombstones(dead, total) or total - len(dead) != n_passages:
            raise IndexCorrupt(f"its database does not match the manifest; {REBUILD}")
        self._db_starts = np.asarray(starts, dtype=np.int64)
        self._keys = live_rows(total, dead)
        where: dict[str, int] = {}
        with self._lock:
            for k, schema in enumerate(self._schemas):
                where.update((a, k) for (a,) in self._db.execute(f"SELECT id FROM {schema}.articles"))
        if not all(a in where for a in m.articles):
            raise IndexCorrupt(f"its database does not match the manifest; {REBUILD}")
        self._article_db = {a: where[a] for a in m.articles}

    def _schema_of(self, article_id: str) -> str | None:
        """The schema of the database holding the article's current row (None: not in this version)."""
        if self._article_db is None:
            return "main"
        k = self._article_db.get(article_id)
        return None if k is None else self._schemas[k]

    def _by_schema(self, keys: Sequence[int]) -> list[tuple[str, list[int]]]:
        """``keys`` grouped by the database holding them."""
        if self._db_starts is None:
            return [("main", list(keys))] if len(keys) else []
        which = np.searchsorted(self._db_starts, np.asarray(keys, dtype=np.int64), side="right") - 1
        return [
            (self._schemas[k], [int(x) for x, w in zip(keys, which, strict=True) if w == k])
            for k in sorted(set(which.tolist()))
        ]

    def database_of(self, article_id: str) -> int:
        """Which database (0: the first) holds the article's current row."""
        return 0 if self._article_db is None else self._article_db[article_id]

    @property
    def sentence_count(self) -> int:
        return int(self.manifest.counts["sentences"])

    def database_keys(self, table: str) -> np.ndarray:
        """The keys of ``table`` (``passages`` or ``sentences``) in row order, live rows only (what a
        merge renumbers)."""
        found: list[int] = []
        with self._lock:
            for schema in self._schemas:
                found.extend(r for (r,) in self._db.execute(f"SELECT row FROM {schema}.{table} ORDER BY row"))  # type: ignore[union-attr]
        keys = np.asarray(found, dtype=np.int64)
        dead = self.tombstones[table]
        return np.delete(keys, dead) if len(dead) else keys

    def physical_rows(self, table: str) -> int | None:
        """How many rows ``table`` (``passages`` or ``sentences``) holds in all the databases, dead
        ones included, when its keys are exactly 0 to that number (a later write may then continue
        them); else None."""
        with self._lock:
            stats = [
                self._db.execute(f"SELECT COUNT(*), COALESCE(MAX(row), -1) FROM {s}.{table}").fetchone()  # type: ignore[union-attr]
                for s in self._schemas
            ]
        total = sum(count for count, _ in stats)
        # distinct keys from 0 whose largest is their number less one: exactly 0 to that number
        return total if max((top for _, top in stats), default=-1) == total - 1 else None

    @property
    def size(self) -> int:
        """Number of passages."""
        return int(self.manifest.counts["passages"])

    def _sentence_table(self) -> np.ndarray:
        """Rows of (passage_row, char_start, char_end), one per sentence, in sentence-row order."""
        if SPANS_FILE in self.manifest.files:
            spans = np.load(self.path / SPANS_FILE, allow_pickle=False, mmap_mode="r")
        else:
            with self._lock:  # format-2 snapshots written before the numpy copy existed
                rows = self._db.execute(  # type: ignore[union-attr]
                    "SELECT passage_row, char_start, char_end FROM sentences ORDER BY row"
                ).fetchall()
            spans = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
        if spans.dtype != np.int64 or spans.shape != (self.manifest.counts["sentences"], 3):
            raise IndexCorrupt(f"its sentence table does not match the manifest; {REBUILD}")
        return spans

    def _tombstones(self, name: str) -> np.ndarray:
        """Dead physical rows (see :mod:`.segments`); none when the manifest lists no such file."""
        if name not in self.manifest.files:
            return np.zeros(0, dtype=np.int64)
        dead = np.load(self.path / name, allow_pickle=False)
        if dead.dtype != np.int64 or dead.ndim != 1:
            raise IndexCorrupt(f"its {name} is not a list of rows; {REBUILD}")
        return dead

    def _check_file_list(self) -> None:
        """The manifest lists every file the loader opens, and the folder holds nothing else."""
        need, may = self.manifest.file_names()
        listed = set(self.manifest.files)
        if missing := sorted(need - listed):
            raise IndexCorrupt(f"its manifest does not list {missing[0]}; {REBUILD}")
        if unknown := sorted(listed - may):
            raise IndexCorrupt(f"its manifest lists an unknown file {unknown[0]}; {REBUILD}")
        present = {p.name for p in self.path.iterdir()} - {MANIFEST}
        if extra := sorted(present - listed):
            raise IndexCorrupt(f"it holds a file its manifest does not list ({one_line(repr(extra[0]))}); {REBUILD}")

    def _verify_files(self) -> None:
        """Every file against its manifest checksum, before anything is parsed. A file this data
        folder already checked and that is unchanged since (:mod:`.seals`) is not hashed again;
        the others are, on two threads (hashlib releases the GIL)."""
        from concurrent.futures import ThreadPoolExecutor

        seals = Seals(self.path.parent.parent)

        def size(name: str) -> int:
            return (self.path / name).stat().st_size if (self.path / name).is_file() else 0

        def intact(item: tuple[str, str]) -> bool:
            target = self.path / item[0]
            return target.is_file() and not target.is_symlink() and file_sha256(target) == item[1]

        items = [(n, d) for n, d in self.manifest.files.items() if not seals.vouches(self.path / n, d)]
        items.sort(key=lambda kv: -size(kv[0]))  # largest first: even split
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(intact, items))
        for (name, _), ok in zip(items, results, strict=True):
            if not ok:
                raise IndexCorrupt(f"{name} is missing or fails its checksum; {REBUILD}")
        for name, digest in items:
            seals.add(self.path / name, digest)
        seals.save()

    def check_encoder(self, role: str, model: str | None, dim: int | None = None) -> None:
        """Refuse to search with an encoder other than the one that built this snapshot."""
        check_encoder(self.manifest, role, model, dim)

    def _key(self, row: int) -> int:
        """The database key of passage row ``row``."""
        return int(self._keys[row]) if self._keys is not None else int(row)

    def _row(self, key: int) -> int:
        """The passage row of database key ``key``."""
        return int(np.searchsorted(self._keys, key)) if self._keys is not None else int(key)

    def passages(self, rows: Sequence[int]) -> list[tuple[Passage, ArticleInfo]]:
        """Passages at rows ``rows`` (FAISS row = passage row) with their article, in the order asked."""
        keys = [self._key(r) for r in rows if 0 <= int(r) < self.size]
        if not keys:
            return []
        found = []
        with self._lock:
            for schema, some in self._by_schema(keys):
                marks = ",".join("?" * len(some))
                found += self._db.execute(  # type: ignore[union-attr]
                    "SELECT p.row, p.id, p.article_id, p.ordinal, p.text, p.char_start, p.char_end,"
                    " a.title, a.date, a.source, a.byline, a.url"
                    f" FROM {schema}.passages p JOIN {schema}.articles a ON a.id = p.article_id"
                    f" WHERE p.row IN ({marks})",
                    some,
                ).fetchall()
        found = [(self._row(r[0]), *r[1:]) for r in found]
        by_row = {
            r[0]: (
                Passage(id=r[1], article_id=r[2], ordinal=r[3], text=r[4], char_start=r[5], char_end=r[6]),
                ArticleInfo(id=r[2], title=r[7], date=r[8], source=r[9], byline=r[10], url=r[11]),
            )
            for r in found
        }
        return [by_row[int(r)] for r in rows if int(r) in by_row]

    def articles(self) -> list[ArticleSummary]:
        rows = []
        with self._lock:
            for k, schema in enumerate(self._schemas):
                found = self._db.execute(  # type: ignore[union-attr]
                    f"SELECT id, title, date, source, byline, url, n_passages, path FROM {schema}.articles ORDER BY id"
                ).fetchall()
                rows += found if self._article_db is None else [r for r in found if self._article_db.get(r[0]) == k]
        rows.sort(key=lambda r: r[0])
        return [
            ArticleSummary(ArticleInfo(id=r[0], title=r[1], date=r[2], source=r[3], byline=r[4], url=r[5]), r[6], r[7])
            for r in rows
        ]

    def article_rows(self, article_id: str) -> list[int]:
        """Passage rows of one article, in reading order."""
        schema = self._schema_of(article_id)
        if schema is None:
            return []
        with self._lock:
            rows = self._db.execute(  # type: ignore[union-attr]
                f"SELECT row FROM {schema}.passages WHERE article_id = ? ORDER BY ordinal", (article_id,)
            ).fetchall()
        return [self._row(r[0]) for r in rows]

    def sentence_rows(self, passage_rows: Sequence[int]) -> list[int]:
        return sentence_rows(self.sentence_first, self.sentence_last, passage_rows)

    def rows_of(self, article_ids: Collection[str]) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows, sentence rows) of these articles, ascending: one scan, not a query each."""
        wanted = set(article_ids)
        if wanted.issuperset(self.manifest.articles):  # every article (an addition): every row
            return np.arange(self.size, dtype=np.int64), np.arange(len(self.sentence_spans), dtype=np.int64)
        missing = [a for a in self.manifest.articles if a not in wanted]
        if len(missing) <= max(1, len(wanted) // 100):  # all but a few (a removal): theirs left out, no scan
            passages = np.ones(self.size, dtype=bool)
            passages[[r for a in missing for r in self.article_rows(a)]] = False
            sentences = np.ones(len(self.sentence_spans), dtype=bool)
            sentences[self.sentence_rows(np.flatnonzero(~passages).tolist())] = False
            return np.flatnonzero(passages).astype(np.int64), np.flatnonzero(sentences).astype(np.int64)
        found: list[tuple[str]] = []
        with self._lock:
            for schema in self._schemas:
                found += self._db.execute(f"SELECT article_id FROM {schema}.passages ORDER BY row").fetchall()  # type: ignore[union-attr]
        dead = self.tombstones["passages"]  # physical rows: positions in ``found`` (see _open_databases)
        live = np.ones(len(found), dtype=bool)
        live[dead] = False
        row_of = np.cumsum(live) - 1
        rows = np.fromiter((row_of[i] for i, (a,) in enumerate(found) if a in wanted and live[i]), dtype=np.int64)
        sentences = np.flatnonzero(np.isin(self.sentence_spans[:, 0], rows)).astype(np.int64)
        return rows, sentences

    def passage_texts(self, rows: np.ndarray) -> list[str]:
        """The text of the passages at ``rows`` (ascending), in that order."""
        if not len(rows):
            return []
        lo, hi = self._key(int(rows[0])), self._key(int(rows[-1]))
        found = {}
        with self._lock:
            for schema in self._schemas:
                found.update(
                    self._db.execute(  # type: ignore[union-attr]
                        f"SELECT row, text FROM {schema}.passages WHERE row BETWEEN ? AND ?", (lo, hi)
                    ).fetchall()
                )
        return [found[self._key(int(r))] for r in rows]

    def term_counts(self) -> TermCounts | None:
        """The BM25 index's term counts, for the next build to extend (None: it must analyse every
        passage); their rows are :meth:`lexical_rows`'s."""
        if isinstance(self._bm25, SegmentedLexical):
            return TermCounts.concat(self._bm25.segments)
        if self._bm25 is None or not all(name in self.manifest.files for name in COUNT_FILES):
            return None
        return self._bm25.load_counts(self.path)

    def vector_set(self, name: str) -> VectorSet | None:
        """The vector set ``name`` ("embedding", "multilingual", "sentences"), None when not built."""
        return self._vector_sets.get(name)

    def searchable(self, name: str) -> bool:
        """Whether vector set ``name`` is meant to be searched (flat, inverted file or graph), not only read back."""
        found = self.vector_set(name)
        return found is not None and found.searchable

    def article_body(self, article_id: str) -> str | None:
        schema = self._schema_of(article_id)
        if schema is None:
            return None
        with self._lock:
            row = self._db.execute(f"SELECT body FROM {schema}.articles WHERE id = ?", (article_id,)).fetchone()  # type: ignore[union-attr]
        return row[0] if row else None

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()


def open_current(data_dir: Path, *, verify: bool = True) -> Snapshot:
    """The current snapshot of ``data_dir``; :class:`IndexNotBuilt` when there is none."""
    version = current_version(data_dir)
    if version is None:
        raise IndexNotBuilt(Path(data_dir))
    path = Path(data_dir) / SNAPSHOTS / version
    if not path.is_dir():
        raise IndexCorrupt(f"{POINTER} names snapshot {version}, which is missing; {REBUILD}")
    return Snapshot(path, verify=verify)
