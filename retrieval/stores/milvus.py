"""Milvus as the store (``RAGBOT_STORE=milvus``): vectors and BM25 on a Milvus server or cluster.

What lives where:

- on the server, one collection per index version, ``<prefix>_<stamp>``: a row per passage
  (key = passage id, ``article_id``, ``ordinal``, the text with a BM25 analyzer for the
  articles' language, one vector field per dense role), and a companion collection
  ``<prefix>_<stamp>_sentences`` with the sentence vectors (key = ``<passage id>/<k>``);
- in the data folder (``<data>/milvus/``), the version's metadata: the same checked snapshot
  folder as the FAISS store (manifest with checksums, SQLite passages and articles, sentence
  table, expansion vocabulary) without the vector and BM25 files, its manifest naming the
  collections. Its ``CURRENT`` pointer is the pointer record: switched atomically once the
  server holds the version and it has been counted.

An incremental build (articles added, changed or removed) deletes and inserts those
articles' rows in the live collections, then publishes new metadata; a question in between
is answered from the previous metadata (rows it does not know are skipped). The articles
being written are noted in ``PENDING`` first: after a crash they are re-embedded by the next
build, whatever their hashes say. A full build writes new collections, counts them, then
switches; where the server has aliases (a cluster), the alias ``<prefix>`` is moved to the
new collection too, for other readers; milvus-lite has none, and the pointer record is what
every reader follows anyway.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ..corpus.analysis import Analyzer
from ..errors import IndexCorrupt, StoreUnavailable
from .base import LexicalQuery, SearchBreadth
from .build import copy_reused
from .faiss import FaissStore
from .manifest import MANIFEST, REBUILD
from .snapshot import SNAPSHOTS, TMP_PREFIX, Snapshot

if TYPE_CHECKING:
    from ..config import Settings
    from ..types import Passage
    from .base import StoreVersion
    from .build import Build

log = logging.getLogger(__name__)

BACKEND = "milvus"
PENDING = "PENDING"
SENTENCES_SUFFIX = "_sentences"
KEY_CHARS = 1024
TEXT_BYTES = 65_535
BATCH = 1000  # rows per insert (a few MB per request)
#: bounds on one request, retries included (pymilvus retries some failures until this runs out)
READ_SECONDS = 30.0
WRITE_SECONDS = 300.0
#: the most rows one search returns (Milvus's topk limit)
SEARCH_LIMIT = 16_384
#: BM25 query weights are term counts on the server: a typed word is repeated this many times,
#: an expansion round(this × its similarity) times, and the scores divided back
WEIGHT_STEPS = 4
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}
#: Milvus stop-word lists by Snowball language name (the stemmer takes the same names)
STOP_WORDS = {
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "hungarian",
    "italian",
    "norwegian",
    "portuguese",
    "russian",
    "spanish",
    "swedish",
}
T = TypeVar("T")


def _quietly(method: Callable[..., None]) -> Callable[..., None]:
    """Run ``method`` with pymilvus's loggers silenced: it logs every refused call at ERROR before
    raising, and these methods expect refusals (an index type or aliases the server lacks)."""
    import functools

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        loggers = [logging.getLogger(n) for n in ("pymilvus.decorators", "pymilvus.milvus_client.milvus_client")]
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
        try:
            method(*args, **kwargs)
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)

    return wrapper


def analyzer_params(analyzer: Analyzer) -> dict[str, Any]:
    """The server-side analyzer, in the order of :class:`~retrieval.corpus.analysis.Analyzer`: lowercase,
    stop words (the server's list for the language and ragbot's own), accent folding, stemmer."""
    stop = sorted(analyzer.stop_words())
    if analyzer.language in STOP_WORDS:
        stop.append(f"_{analyzer.language}_")
    filters: list[Any] = [
        "lowercase",
        {"type": "stop", "stop_words": stop},
        "asciifolding",
        {"type": "stemmer", "language": analyzer.language},
    ]
    return {"tokenizer": "standard", "filter": filters}


def server_text(text: str) -> str:
    """Text as the server's analyzer should see it: elisions split (l’accord -> l accord) as
    ragbot's analyzer splits them; the standard tokenizer keeps them whole."""
    return text.replace("’", " ").replace("'", " ")


def public_uri(uri: str) -> str:
    """``uri`` without credentials, for messages."""
    try:
        parts = urllib.parse.urlsplit(uri)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the configured URI"
    return f"{parts.scheme}://{host}{port}"


class MilvusStore:
    """:class:`~retrieval.stores.base.StoreBackend` on a Milvus server; metadata in ``<data>/milvus``."""

    name = BACKEND

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = Path(settings.data_dir) / BACKEND
        self.prefix = settings.milvus_collection_prefix
        self._meta = FaissStore(folder=self.folder)
        self._client: Any = None
        self._lock = threading.Lock()

    # --- connection -----------------------------------------------------------------

    def client(self) -> Any:
        """The pymilvus client, connected on first use; :class:`StoreUnavailable` when it cannot."""
        with self._lock:
            if self._client is None:
                s = self.settings
                self._client = guarded(
                    lambda: _connect(
                        s.milvus_uri,
                        token=s.milvus_token.get_secret_value() if s.milvus_token else "",
                        user=s.milvus_user or "",
                        password=s.milvus_password.get_secret_value() if s.milvus_password else "",
                    ),
                    s.milvus_uri,
                )
            return self._client

    def call(self, fn: Callable[[Any], T]) -> T:
        """``fn(client)``, with server failures turned into :class:`StoreUnavailable`."""
        client = self.client()
        return guarded(lambda: fn(client), self.settings.milvus_uri)

    # --- reading --------------------------------------------------------------------

    def current_version(self) -> str | None:
        return self._meta.current_version()

    def open_current(self, *, verify: bool = True) -> Snapshot:
        snap = self._meta.open_current(verify=verify)
        try:
            store = snap.manifest.store
            if store.get("backend") != BACKEND or not store.get("passages"):
                raise IndexCorrupt(f"snapshot {snap.version} does not name its Milvus collections; {REBUILD}")
            wanted = [store["passages"], *([store["sentences"]] if store.get("sentences") else [])]
            missing = [c for c in wanted if not self.call(lambda c_, n=c: c_.has_collection(n))]
            if missing:
                raise IndexCorrupt(
                    f"collection {missing[0]} is missing on the Milvus server {public_uri(self.settings.milvus_uri)}; "
                    f"{REBUILD}"
                )
            attach(snap, self, store, self.pending())
        except BaseException:
            snap.close()
            raise
        return snap

    def pending(self) -> frozenset[str]:
        """Articles whose rows an interrupted write may have left out of step with the metadata."""
        try:
            return frozenset(json.loads((self.folder / PENDING).read_text(encoding="utf-8")))
        except FileNotFoundError:
            return frozenset()
        except (OSError, ValueError, TypeError):
            return frozenset({"*"})  # unreadable: everything is in doubt

    # --- writing --------------------------------------------------------------------

    def write(self, build: Build, previous: StoreVersion | None) -> str:
        started = time.perf_counter()
        store = previous.manifest.store if previous is not None else {}
        live = previous is not None and store.get("backend") == BACKEND and "*" not in self.pending()
        if live:
            passages, sentences = store["passages"], store.get("sentences") or None
            self._note_pending([*build.changed, *build.removed, *self.pending()])
            gone = sorted({*build.changed, *build.removed, *self.pending()})
            for chunk in _chunks(gone, 200):
                for name in filter(None, (passages, sentences)):
                    self.call(
                        lambda c, n=name, ids=chunk: c.delete(
                            n, filter=in_filter("article_id", ids), timeout=WRITE_SECONDS
                        )
                    )
            changed = set(build.changed)  # the indexer re-embeds pending articles: they are among these
            self._insert(build, passages, sentences, previous, lambda article_id: article_id in changed)
        else:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            passages = f"{self.prefix}_{stamp}"
            sentences = f"{passages}{SENTENCES_SUFFIX}" if "sentences" in build.vectors else None
            self._create(build, passages, sentences)
            self._insert_kept(build, passages, sentences, previous)
            self._insert(build, passages, sentences, previous, lambda _: True)
        self._check(build, passages, sentences)
        on_server = time.perf_counter() - started
        record = {"backend": BACKEND, "passages": passages}
        if sentences:
            record["sentences"] = sentences
        version = self._meta.write(build, previous, store=record)
        log.info(
            "%s: %s on the server in %.2f s, metadata written in %.2f s",
            version,
            "rows of changed articles replaced" if live else "new collections filled",
            on_server,
            time.perf_counter() - started - on_server,
        )
        (self.folder / PENDING).unlink(missing_ok=True)
        if not live:
            self._point_alias(passages)
        self.prune()
        return version

    def _note_pending(self, article_ids: Iterable[str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"{PENDING}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(sorted(set(article_ids)), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / PENDING)

    def _create(self, build: Build, passages: str, sentences: str | None) -> None:
        from pymilvus import DataType, Function, FunctionType

        client = self.client()
        analyzer = Analyzer(build.analyzer.get("language", "french"))
        schema = client.create_schema(auto_id=False)
        schema.add_field("pk", DataType.VARCHAR, max_length=KEY_CHARS, is_primary=True)
        schema.add_field("article_id", DataType.VARCHAR, max_length=KEY_CHARS)
        schema.add_field("ordinal", DataType.INT64)
        schema.add_field(
            "text",
            DataType.VARCHAR,
            max_length=TEXT_BYTES,
            enable_analyzer=True,
            analyzer_params=analyzer_params(analyzer),
        )
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(
                name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]
            )
        )
        dense = [name for name in ("embedding", "multilingual") if name in build.vectors]
        for name in dense:
            schema.add_field(name, DataType.FLOAT_VECTOR, dim=build.vectors[name].dim)
        self.call(lambda c: c.create_collection(passages, schema=schema, consistency_level="Strong"))
        # BM25's k1 and b as ragbot's own index has them (the server's default k1 is 1.2).
        self._index(passages, "sparse", "SPARSE_INVERTED_INDEX", "BM25", len(build.passages), BM25_PARAMS)
        for name in dense:
            self._index(passages, name, None, "IP", len(build.passages))
        self.call(lambda c: c.load_collection(passages))
        if sentences:
            schema = client.create_schema(auto_id=False)
            schema.add_field("pk", DataType.VARCHAR, max_length=KEY_CHARS, is_primary=True)
            schema.add_field("passage_id", DataType.VARCHAR, max_length=KEY_CHARS)
            schema.add_field("article_id", DataType.VARCHAR, max_length=KEY_CHARS)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=build.vectors["sentences"].dim)
            self.call(lambda c: c.create_collection(sentences, schema=schema, consistency_level="Strong"))
            self._index(sentences, "vector", None, "IP", len(build.sentences))
            self.call(lambda c: c.load_collection(sentences))

    @_quietly
    def _index(
        self, collection: str, field: str, kind: str | None, metric: str, rows: int, params: dict | None = None
    ) -> None:
        """Index ``field``: exact (FLAT) below the vector-index threshold, else IVF_SQ8 where the
        server has it (a cluster), IVF_FLAT where it does not (milvus-lite 2.5)."""
        if kind is not None:
            choices = [(kind, params or {})]
        elif self.settings.vector_index == "flat" or (
            self.settings.vector_index == "auto" and rows < self.settings.vector_index_threshold
        ):
            choices = [("FLAT", {})]
        else:
            lists = max(1, min(int(4 * rows**0.5), 65_536))
            choices = [("IVF_SQ8", {"nlist": lists}), ("IVF_FLAT", {"nlist": lists})]
        for i, (index_type, params) in enumerate(choices):
            client = self.client()
            spec = client.prepare_index_params()
            spec.add_index(field_name=field, index_type=index_type, metric_type=metric, params=params)
            try:
                self.call(lambda c, s=spec: c.create_index(collection, s))
                return
            except StoreUnavailable:
                if i == len(choices) - 1:
                    raise
                log.info("%s: %s not available on this server, trying %s", field, index_type, choices[i + 1][0])

    def _insert(
        self,
        build: Build,
        passages: str,
        sentences: str | None,
        previous: StoreVersion | None,
        wanted: Callable[[str], bool],
    ) -> None:
        """Insert the rows of the articles ``wanted`` accepts (their vectors: fresh, or read back from
        ``previous`` when a full build reuses them)."""
        rows = [i for i, p in enumerate(build.passages) if wanted(p.article_id)]
        dense = [name for name in ("embedding", "multilingual") if name in build.vectors]
        fresh = {name: {row: i for i, row in enumerate(column.fresh_rows())} for name, column in build.vectors.items()}
        for chunk in _chunks(rows, BATCH):
            vectors = {name: _column_rows(build, name, chunk, previous, fresh[name]) for name in dense}
            data = [_passage_row(build.passages[i], {n: v[j] for n, v in vectors.items()}) for j, i in enumerate(chunk)]
            self.call(lambda c, d=data: c.insert(passages, d, timeout=WRITE_SECONDS))
        if not sentences:
            return
        first = _first_sentence_of(build)
        srows = [j for j, (p, _, _) in enumerate(build.sentences) if wanted(build.passages[p].article_id)]
        for chunk in _chunks(srows, BATCH):
            vectors = _column_rows(build, "sentences", chunk, previous, fresh["sentences"])
            data = []
            for v, j in zip(vectors, chunk, strict=True):
                p = build.passages[build.sentences[j][0]]
                key = f"{p.id}/{j - first[build.sentences[j][0]]}"
                data.append({"pk": key, "passage_id": p.id, "article_id": p.article_id, "vector": v.tolist()})
            self.call(lambda c, d=data: c.insert(sentences, d, timeout=WRITE_SECONDS))

    def _insert_kept(self, build: Build, passages: str, sentences: str | None, previous: StoreVersion | None) -> None:
        """Copy the rows ``build`` keeps from ``previous`` into new collections (their text from the
        metadata, their vectors read back from the previous collections)."""
        kept = build.kept
        if kept is None or previous is None:
            return
        dense = [name for name in ("embedding", "multilingual") if name in build.vectors]
        for chunk in _chunks(kept.passages.tolist(), BATCH):
            rows = np.asarray(chunk, dtype=np.int64)
            vectors = {name: _read_back(previous, name, rows) for name in dense}
            data = [
                _passage_row(p, {n: v[j] for n, v in vectors.items()})
                for j, (p, _) in enumerate(previous.passages(chunk))
            ]
            self.call(lambda c, d=data: c.insert(passages, d, timeout=WRITE_SECONDS))
        if not sentences:
            return
        spans, first = previous.sentence_spans, previous.sentence_first
        for chunk in _chunks(kept.sentences.tolist(), BATCH):
            rows = np.asarray(chunk, dtype=np.int64)
            vectors = _read_back(previous, "sentences", rows)
            owners = sorted({int(spans[j, 0]) for j in chunk})
            by_row = {r: p for r, (p, _) in zip(owners, previous.passages(owners), strict=True)}
            data = []
            for v, j in zip(vectors, chunk, strict=True):
                owner = int(spans[j, 0])
                p = by_row[owner]
                key = f"{p.id}/{j - int(first[owner])}"
                data.append({"pk": key, "passage_id": p.id, "article_id": p.article_id, "vector": v.tolist()})
            self.call(lambda c, d=data: c.insert(sentences, d, timeout=WRITE_SECONDS))

    def _check(self, build: Build, passages: str, sentences: str | None) -> None:
        """The server holds exactly the version's rows, or nothing is published."""
        for name, expected in ((passages, build.size), (sentences, build.sentence_count)):
            if name is None:
                continue
            self.call(lambda c, n=name: c.flush(n))
            found = self.call(lambda c, n=name: c.query(n, filter="", output_fields=["count(*)"]))
            count = int(found[0]["count(*)"]) if found else 0
            if count != expected:
                raise IndexCorrupt(
                    f"collection {name} holds {count} rows where the new version has {expected}; "
                    "nothing was published: run `ragbot index --rebuild`"
                )

    @_quietly
    def _point_alias(self, collection: str) -> None:
        """Move the alias ``<prefix>`` to ``collection`` where the server has aliases (not milvus-lite)."""
        try:
            client = self.client()
            try:
                client.alter_alias(collection, self.prefix)
            except Exception as err:
                if _unimplemented(err):
                    log.info("this Milvus server has no aliases: readers follow the pointer record only")
                    return
                client.create_alias(collection, self.prefix)
        except Exception as err:
            if not _unimplemented(err):
                log.warning("could not point alias %s at %s (%s)", self.prefix, collection, _one_line(err))

    # --- cleaning -------------------------------------------------------------------

    def remove_unfinished(self) -> list[str]:
        removed = self._meta.remove_unfinished()
        (self.folder / f"{PENDING}.tmp").unlink(missing_ok=True)
        return removed + self._drop_unreferenced()

    def prune(self) -> None:
        self._meta.prune()
        self._drop_unreferenced()

    def _drop_unreferenced(self) -> list[str]:
        """Drop this prefix's collections that no kept metadata version names (a crashed full build's,
        or versions pruned since)."""
        snapshots = self.folder / SNAPSHOTS
        named: set[str] = set()
        if snapshots.is_dir():
            for folder in snapshots.iterdir():
                if folder.name.startswith(TMP_PREFIX):
                    continue
                try:
                    store = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("store", {})
                    named.update(v for k, v in store.items() if k in ("passages", "sentences"))
                except (OSError, ValueError, AttributeError):
                    return []  # a manifest that cannot be read: drop nothing rather than something in use
        ours = re.compile(rf"{re.escape(self.prefix)}_[0-9]{{8}}T[0-9]{{12}}Z(?:{SENTENCES_SUFFIX})?")
        dropped = []
        for name in self.call(lambda c: c.list_collections()):
            if ours.fullmatch(name) and name not in named:
                self.call(lambda c, n=name: c.drop_collection(n))
                dropped.append(f"milvus collection {name}")
        return dropped

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "uri": public_uri(self.settings.milvus_uri), "folder": str(self.folder)}


# --- the version's vector sets and lexical index, served by the server ----------------------


def attach(snap: Snapshot, store: MilvusStore, record: dict[str, str], pending: frozenset[str]) -> None:
    with snap._lock:  # the snapshot's SQLite connection is shared between threads
        ids = [r[0] for r in snap._db.execute("SELECT id FROM passages ORDER BY row")]  # type: ignore[union-attr]
    keys = _Keys(ids, snap.sentence_spans, snap.sentence_first, snap.sentence_last)
    sets: dict[str, Any] = {}
    for name in ("embedding", "multilingual"):
        if name in snap.manifest.encoders:
            sets[name] = MilvusVectorSet(name, snap.manifest.encoders[name]["dim"], store, record["passages"], keys)
    if record.get("sentences") and "multilingual" in snap.manifest.encoders:
        sets["sentences"] = MilvusVectorSet(
            "sentences", snap.manifest.encoders["multilingual"]["dim"], store, record["sentences"], keys
        )
    for vector_set in sets.values():
        vector_set.exact = exact_search(store, vector_set.collection, vector_set.field)
    language = snap.manifest.analyzer.get("language", "french")
    lexical = MilvusLexical(store, record["passages"], keys, Analyzer(language)) if ids else None
    snap.attach(sets, lexical)
    snap.doubtful = pending


class _Keys:
    """Rows of the version <-> keys on the server (passage ids, ``<passage id>/<k>`` for sentences)."""

    def __init__(self, ids: list[str], spans: np.ndarray, first: np.ndarray, last: np.ndarray) -> None:
        self.ids = ids
        self.row = {pid: i for i, pid in enumerate(ids)}
        self.spans, self.first, self.last = spans, first, last

    def passage_keys(self, rows: Iterable[int]) -> list[str]:
        return [self.ids[int(r)] for r in rows]

    def sentence_keys(self, rows: Iterable[int]) -> list[str]:
        out = []
        for r in rows:
            p = int(self.spans[int(r), 0])
            out.append(f"{self.ids[p]}/{int(r) - int(self.first[p])}")
        return out

    def passage_row(self, key: str) -> int | None:
        return self.row.get(key)

    def sentence_row(self, key: str) -> int | None:
        pid, _, k = key.rpartition("/")
        p = self.row.get(pid)
        if p is None or not k.isdigit():
            return None
        row = int(self.first[p]) + int(k)
        return row if row < int(self.last[p]) else None


class MilvusVectorSet:
    """A :class:`~retrieval.stores.base.VectorSet` in a Milvus collection (searched on the server)."""

    searchable = True

    def __init__(self, name: str, dim: int, store: MilvusStore, collection: str, keys: _Keys) -> None:
        self.name = name
        self.dim = int(dim)
        self.store = store
        self.collection = collection
        self.keys = keys
        self.field = "vector" if name == "sentences" else name
        self._sentences = name == "sentences"
        #: search parameters under which a filtered search scores the rows it keeps exactly (see
        #: :func:`exact_search`); None: scores are computed here from the vectors read back
        self.exact: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.keys.spans) if self._sentences else len(self.keys.ids)

    def _to_keys(self, rows: Iterable[int]) -> list[str]:
        return self.keys.sentence_keys(rows) if self._sentences else self.keys.passage_keys(rows)

    def _to_row(self, key: str) -> int | None:
        return self.keys.sentence_row(key) if self._sentences else self.keys.passage_row(key)

    def top(self, query: np.ndarray, k: int, breadth: SearchBreadth) -> np.ndarray:
        k = min(k, len(self), SEARCH_LIMIT)
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        found = self._search(query, k, {"metric_type": "IP", "params": {"nprobe": breadth.ivf_nprobe}})
        rows = [self._to_row(key) for key, _ in found]
        return np.asarray([r for r in rows if r is not None], dtype=np.int64)

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        if not len(rows):
            return out
        keys = self._to_keys(rows)
        got: dict[str, Any] = {}
        for chunk in _chunks(keys, BATCH):
            for entity in self.store.call(
                lambda c, ks=chunk: c.get(self.collection, ids=ks, output_fields=[self.field], timeout=READ_SECONDS)
            ):
                got[entity["pk"]] = entity[self.field]
        for i, key in enumerate(keys):
            if key in got:  # a row being rewritten by an incremental build scores 0 for that moment
                out[i] = got[key]
        return out

    def scores(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Computed on the server where its index keeps exact vectors: one search restricted to the
        rows' keys returns their ids and scores, no vectors (a ``pk in [...]`` filter is served by the
        primary key index: faster than a filter on another field)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.exact is None:
            return self.vectors(rows) @ np.asarray(query[0], dtype=np.float32)
        got: dict[str, float] = {}
        keys = self._to_keys(rows)
        for chunk in _chunks(keys, SEARCH_LIMIT):
            got.update(self._search(query, len(chunk), self.exact, where=in_filter("pk", chunk)))
        # A row being rewritten by an incremental build scores 0 for that moment (as from vectors()).
        return np.asarray([got.get(key, 0.0) for key in keys], dtype=np.float32)

    def _search(
        self, query: np.ndarray, limit: int, params: dict[str, Any], *, where: str = ""
    ) -> list[tuple[str, float]]:
        """(key, inner product) of the ``limit`` best rows (among those ``where`` allows), best first."""
        found = self.store.call(
            lambda c: c.search(
                self.collection,
                data=[np.asarray(query[0], dtype=np.float32).tolist()],
                anns_field=self.field,
                filter=where,
                limit=limit,
                search_params=params,
                timeout=READ_SECONDS,
            )
        )
        return [(hit["id"], float(hit["distance"])) for hit in found[0]]


class MilvusLexical:
    """A :class:`~retrieval.stores.base.LexicalIndex` on the server: BM25 over the collection's text."""

    def __init__(self, store: MilvusStore, collection: str, keys: _Keys, analyzer: Analyzer) -> None:
        self.store = store
        self.collection = collection
        self.keys = keys
        self.analyzer = analyzer

    def document_frequency(self, term: str) -> None:
        """Unknown: the server keeps its BM25 statistics to itself."""
        return None

    def query(self, query: LexicalQuery) -> _MilvusScores:
        return _MilvusScores(self, weighted_text(query, self.analyzer))


def weighted_text(query: LexicalQuery, analyzer: Analyzer) -> str:
    """The query as text for the server's BM25, each word repeated by its weight (see WEIGHT_STEPS).

    Typed words weigh 1; an expansion weighs its similarity, and none is added for a term that
    is typed or already added with a higher weight (as :func:`~retrieval.stores.vocabulary.weighted_query_terms`).
    """
    best: dict[str, float] = dict.fromkeys(analyzer.terms(query.text), 1.0)
    words: list[str] = []
    for candidates in query.expansions.values():
        for word, similarity in candidates:
            terms = analyzer.terms(word)
            weight = min(1.0, similarity)
            if terms and any(weight > best.get(t, 0.0) for t in terms):
                words.extend([word] * max(1, round(WEIGHT_STEPS * weight)))
                for t in terms:
                    best[t] = max(best.get(t, 0.0), weight)
    if not best:
        return ""
    return server_text(" ".join([query.text] * WEIGHT_STEPS + words))


class _MilvusScores:
    def __init__(self, lexical: MilvusLexical, text: str) -> None:
        self.lexical = lexical
        self.text = text

    def _search(self, limit: int, keys: list[str] | None = None) -> list[tuple[str, float]]:
        if not self.text or limit <= 0:
            return []
        extra: dict[str, Any] = {}
        if keys is not None:
            extra = {"filter": in_filter("pk", keys)}
        found = self.lexical.store.call(
            lambda c: c.search(
                self.lexical.collection,
                data=[self.text],
                anns_field="sparse",
                limit=min(limit, SEARCH_LIMIT),
                search_params={"metric_type": "BM25"},
                timeout=READ_SECONDS,
                **extra,
            )
        )
        return [(hit["id"], float(hit["distance"]) / WEIGHT_STEPS) for hit in found[0]]

    def top(self, k: int) -> np.ndarray:
        rows = [self.lexical.keys.passage_row(key) for key, _ in self._search(k)]
        return np.asarray([r for r in rows if r is not None], dtype=np.int64)

    def scores(self, rows: np.ndarray) -> np.ndarray:
        keys = self.lexical.keys.passage_keys(rows)
        got = dict(self._search(len(keys), keys)) if keys else {}
        return np.asarray([got.get(k, 0.0) for k in keys], dtype=np.float32)


# --- helpers ---------------------------------------------------------------------------------


def exact_search(store: MilvusStore, collection: str, field: str) -> dict[str, Any] | None:
    """Search parameters under which a search of ``field`` restricted by a filter scores every row it
    keeps exactly, as the inner product of the stored vectors: a flat index as is, an inverted file of
    raw vectors (IVF_FLAT) probing every list. None for an index of approximate vectors (SQ8, PQ) or a
    graph (HNSW), which may leave rows out or score them approximately."""
    info = store.call(lambda c: c.describe_index(collection, field, timeout=READ_SECONDS)) or {}
    kind = str(info.get("index_type", "")).upper()
    if kind == "FLAT":
        return {"metric_type": "IP", "params": {}}
    if kind == "IVF_FLAT" and str(info.get("nlist", "")).isdigit():
        return {"metric_type": "IP", "params": {"nprobe": int(info["nlist"])}}
    return None


def _connect(uri: str, **credentials: str) -> Any:
    from pymilvus import MilvusClient

    return MilvusClient(uri=uri, timeout=15, **{k: v for k, v in credentials.items() if v})


def guarded(fn: Callable[[], T], uri: str) -> T:
    """``fn()``, with a server failure turned into one line naming the server (never its credentials)."""
    import grpc
    from pymilvus.exceptions import MilvusException

    try:
        return fn()
    except (MilvusException, grpc.RpcError) as err:
        if isinstance(err, MilvusException):
            message = _one_line(err.message or type(err).__name__)
        else:
            details = getattr(err, "details", None)
            message = _one_line((details() if callable(details) else None) or type(err).__name__)
        raise StoreUnavailable(f"the Milvus server at {public_uri(uri)} failed: {message}") from None


def in_filter(field: str, values: Sequence[str]) -> str:
    """A filter expression ``field in [...]`` with the values as escaped string literals."""
    return f"{field} in [{', '.join(json.dumps(v, ensure_ascii=False) for v in values)}]"


def _unimplemented(err: BaseException) -> bool:
    import grpc

    return isinstance(err, grpc.RpcError) and err.code() == grpc.StatusCode.UNIMPLEMENTED


def _one_line(value: object) -> str:
    from ..redaction import redact

    return redact(" ".join(str(value).split()))[:200]


def _chunks(items: Sequence[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _passage_row(passage: Passage, vectors: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """One passage as a row of a version's collection: key, article, ordinal, text, a vector per dense set."""
    row: dict[str, Any] = {
        "pk": passage.id,
        "article_id": passage.article_id,
        "ordinal": passage.ordinal,
        "text": _cut(server_text(passage.text)),
    }
    row.update((name, vector.tolist()) for name, vector in vectors.items())
    return row


def _cut(text: str) -> str:
    """At most TEXT_BYTES of UTF-8 (the field's limit), cut on a character boundary."""
    raw = text.encode("utf-8")
    return text if len(raw) <= TEXT_BYTES else raw[:TEXT_BYTES].decode("utf-8", "ignore")


def _read_back(previous: StoreVersion, name: str, rows: np.ndarray) -> np.ndarray:
    vectors = previous.vector_set(name)
    if vectors is None:
        raise ValueError(f"{name}: rows to keep but no previous vectors")
    return vectors.vectors(rows)


def _first_sentence_of(build: Build) -> dict[int, int]:
    """Passage row -> its first sentence row."""
    first: dict[int, int] = {}
    for j, (p, _, _) in enumerate(build.sentences):
        first.setdefault(p, j)
    return first


def _column_rows(
    build: Build, name: str, rows: list[int], previous: StoreVersion | None, fresh_index: dict[int, int]
) -> np.ndarray:
    """Vectors of set ``name`` at new rows ``rows``: fresh ones as computed (``fresh_index``: row ->
    position among the fresh vectors), reused ones read back from ``previous``."""
    column = build.vectors[name]
    out = np.zeros((len(rows), column.dim), dtype=np.float32)
    reused = [(j, column.sources[r]) for j, r in enumerate(rows) if column.sources[r] is not None]
    for j, r in enumerate(rows):
        if r in fresh_index:
            out[j] = column.fresh[fresh_index[r]]
    copy_reused(out, name, reused, previous)
    return out
