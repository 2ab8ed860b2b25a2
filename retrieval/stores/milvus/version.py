"""One published version on the Milvus server, as search and the indexer read it.

A version is a number ``n`` in a generation: its rows are those with ``born <= n < died``, and
every request it makes is restricted to them, so a version reads the same rows however the
generation is edited afterwards (edits insert rows born later and mark rows dead; nothing a
kept version can see is changed). Rows are the version's passages in key order; a passage row
carries its sentences' spans and the key of its first sentence (the others follow it), so the
version's row map is one read of the passages' keys, and following the next version of the same
generation reads only the rows born or dead in between.

Everything an answer shows comes from the server: the passage's text and offsets and its
article's title, date, source, author and URL (one read per question), the articles' list and
manifest entries, and the document frequencies abstention weighs words by.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ...corpus.analysis import Analyzer
from ...errors import IndexCorrupt
from ...types import ArticleInfo, ArticleSummary, Passage
from ..base import LexicalQuery, SearchBreadth, sentence_rows
from ..manifest import REBUILD, Manifest, check_encoder
from .client import in_filter
from .schema import term_key

if TYPE_CHECKING:
    from ...options import ExpansionSettings
    from .client import Connection
    from .record import Record

#: the most rows one search returns (Milvus's topk limit)
SEARCH_LIMIT = 16_384
#: keys per ``pk in [...]`` request
KEYS_PER_REQUEST = 4_096
#: BM25 query weights are term counts on the server: a typed word is repeated this many times,
#: an expansion round(this × its similarity) times, and the scores divided back
WEIGHT_STEPS = 4
ROW_FIELDS = ["article_id", "first_sentence", "sentences"]


def visible(number: int) -> str:
    """The filter of version ``number``'s rows."""
    return f"born <= {int(number)} and died > {int(number)}"


@dataclass(frozen=True)
class RowMap:
    """A version's passage rows (in key order) and their sentences."""

    pks: np.ndarray  # int64, ascending
    article_ids: np.ndarray  # object (str), per row
    first: np.ndarray  # int64: each row's first sentence key
    counts: np.ndarray  # int64: each row's number of sentences
    spans: np.ndarray  # int64 (sentences, 2): char_start, char_end in the article body

    @classmethod
    def of(cls, rows: Sequence[Mapping[str, Any]]) -> RowMap:
        rows = sorted(rows, key=lambda r: r["pk"])
        spans = [json.loads(r["sentences"]) for r in rows]
        flat = np.asarray([s for row in spans for s in row], dtype=np.int64).reshape(-1, 2)
        return cls(
            pks=np.fromiter((r["pk"] for r in rows), dtype=np.int64, count=len(rows)),
            article_ids=np.asarray([r["article_id"] for r in rows], dtype=object),
            first=np.fromiter((r["first_sentence"] for r in rows), dtype=np.int64, count=len(rows)),
            counts=np.fromiter((len(s) for s in spans), dtype=np.int64, count=len(rows)),
            spans=flat,
        )

    def followed(self, gone: np.ndarray, born: RowMap) -> RowMap:
        """This map without the rows keyed ``gone``, then the rows ``born`` (whose keys are all larger)."""
        keep = ~np.isin(self.pks, gone)
        return RowMap(
            pks=np.concatenate([self.pks[keep], born.pks]),
            article_ids=np.concatenate([self.article_ids[keep], born.article_ids]),
            first=np.concatenate([self.first[keep], born.first]),
            counts=np.concatenate([self.counts[keep], born.counts]),
            spans=np.concatenate([self.spans[np.repeat(keep, self.counts)], born.spans]),
        )

    def sentence_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(sentence_spans (passage row, start, end), sentence_first, sentence_last, sentence keys)."""
        n = len(self.pks)
        last = np.cumsum(self.counts)
        first = last - self.counts
        owner = np.repeat(np.arange(n, dtype=np.int64), self.counts)
        table = np.empty((len(owner), 3), dtype=np.int64)
        table[:, 0] = owner
        table[:, 1:] = self.spans
        keys = np.repeat(self.first, self.counts) + (
            np.arange(len(owner), dtype=np.int64) - np.repeat(first, self.counts)
        )
        return table, first.astype(np.int64), last.astype(np.int64), keys


class MilvusVersion:
    """A :class:`~retrieval.stores.base.StoreVersion` whose rows live on the Milvus server."""

    remote = True  # each search is a round trip to the server: a question's searches overlap

    def __init__(self, connection: Connection, record: Record, rows: RowMap) -> None:
        self.connection = connection
        self.record = record
        self.version = record.version
        self.number = record.number
        self.collections = {role: _name(record, role) for role in ("passages", *record.roles)}
        self.where = visible(record.number)
        self.rows = rows
        m = record.manifest
        self._articles = _Articles(self)
        self.manifest = Manifest(
            encoders=m["encoders"],
            analyzer=m["analyzer"],
            chunking=m["chunking"],
            articles=self._articles,  # type: ignore[arg-type]  # read from the server when first needed
            counts=m["counts"],
            created_at=m["created_at"],
            build_seconds=m["build_seconds"],
            index_types=m["index_types"],
            index_settings=m["index_settings"],
        )
        if len(rows.pks) != m["counts"]["passages"] or len(rows.spans) != m["counts"]["sentences"]:
            raise IndexCorrupt(
                f"version {self.version} has {m['counts']['passages']} passages and {m['counts']['sentences']} "
                f"sentences, the Milvus server at {connection.where()} holds {len(rows.pks)} and {len(rows.spans)}; "
                f"{REBUILD}"
            )
        self.sentence_spans, self.sentence_first, self.sentence_last, self.sentence_keys = rows.sentence_table()
        self._by_article: dict[str, list[int]] | None = None
        self._lock = threading.Lock()
        self._vector_sets = self._make_vector_sets()
        language = m["analyzer"].get("language", "french")
        self.lexical = MilvusLexical(self, Analyzer(language)) if len(rows.pks) else None
        self.expander = MilvusWords(self) if "words" in record.roles else None

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, connection: Connection, record: Record, after: MilvusVersion | None = None) -> MilvusVersion:
        """Version ``record`` (reading only what changed since ``after``, when that is possible)."""
        passages = _name(record, "passages")
        names = set(connection.call("list_collections"))
        for role in ("passages", *record.roles):
            if _name(record, role) not in names:
                raise IndexCorrupt(
                    f"collection {_name(record, role)} is missing on the Milvus server at {connection.where()}; "
                    f"{REBUILD}"
                )
        if (
            after is not None
            and after.record.generation == record.generation
            and after.number >= record.oldest_number(record.generation)
        ):
            n, m = record.number, after.number
            born = connection.query_all(passages, f"born > {m} and born <= {n} and died > {n}", ROW_FIELDS)
            gone = connection.query_all(passages, f"born <= {m} and died > {m} and died <= {n}", [])
            rows = after.rows.followed(np.asarray([r["pk"] for r in gone], dtype=np.int64), RowMap.of(born))
        else:
            rows = RowMap.of(connection.query_all(passages, visible(record.number), ROW_FIELDS))
        return cls(connection, record, rows)

    def _make_vector_sets(self) -> dict[str, MilvusVectorSet]:
        encoders = self.record.manifest["encoders"]
        passages = self.collections["passages"]
        sets = {
            name: MilvusVectorSet(self, name, encoders[name]["dim"], passages, name, self.rows.pks)
            for name in ("embedding", "multilingual")
            if name in encoders
        }
        if "sentences" in self.collections and "multilingual" in encoders:
            sets["sentences"] = MilvusVectorSet(
                self,
                "sentences",
                encoders["multilingual"]["dim"],
                self.collections["sentences"],
                "vector",
                self.sentence_keys,
            )
        return sets

    # --- the StoreVersion protocol ---------------------------------------------------------

    @property
    def size(self) -> int:
        return len(self.rows.pks)

    def vector_set(self, name: str) -> MilvusVectorSet | None:
        return self._vector_sets.get(name)

    def check_encoder(self, role: str, model: str | None, dim: int | None = None) -> None:
        check_encoder(self.manifest, role, model, dim)

    def passages(self, rows: Sequence[int]) -> list[tuple[Passage, ArticleInfo]]:
        """The passages at ``rows`` with their article, in the order asked (read from the server)."""
        wanted = [int(r) for r in rows if 0 <= int(r) < self.size]
        if not wanted:
            return []
        keys = self.rows.pks[wanted].tolist()
        fields = ["passage_id", "article_id", "ordinal", "char_start", "char_end", "passage", "info"]
        found = {r["pk"]: r for r in self._get(self.collections["passages"], keys, fields)}
        out = []
        for key in keys:
            r = found.get(key)
            if r is None:  # dropped by a prune while this question ran: skipped
                continue
            passage = Passage(
                id=r["passage_id"],
                article_id=r["article_id"],
                ordinal=int(r["ordinal"]),
                text=r["passage"],
                char_start=int(r["char_start"]),
                char_end=int(r["char_end"]),
            )
            out.append((passage, _info(r["article_id"], r["info"])))
        return out

    def articles(self) -> list[ArticleSummary]:
        return [
            ArticleSummary(_info(article_id, info), int(entry["passages"]), entry["path"])
            for article_id, (info, entry) in sorted(self._articles.rows().items())
        ]

    def article_rows(self, article_id: str) -> list[int]:
        """Passage rows of one article, in reading order (its rows are consecutive keys)."""
        with self._lock:
            if self._by_article is None:
                by: dict[str, list[int]] = {}
                for row, a in enumerate(self.rows.article_ids.tolist()):
                    by.setdefault(a, []).append(row)
                self._by_article = by
            return list(self._by_article.get(article_id, []))

    def sentence_rows(self, passage_rows: Sequence[int]) -> list[int]:
        return sentence_rows(self.sentence_first, self.sentence_last, passage_rows)

    def rows_of(self, article_ids: Collection[str]) -> tuple[np.ndarray, np.ndarray]:
        rows = self.article_passages(article_ids)
        sentences = np.flatnonzero(np.isin(self.sentence_spans[:, 0], rows)).astype(np.int64)
        return rows, sentences

    def article_passages(self, article_ids: Collection[str]) -> np.ndarray:
        """The passage rows of these articles, ascending (a set lookup per row: numpy's isin over
        strings compares them pairwise, seconds at 10k articles)."""
        wanted = set(article_ids)
        found = (row for row, a in enumerate(self.rows.article_ids.tolist()) if a in wanted)
        return np.fromiter(found, dtype=np.int64)

    def passage_texts(self, rows: np.ndarray) -> list[str]:
        keys = self.rows.pks[np.asarray(rows, dtype=np.int64)].tolist()
        found = {r["pk"]: r["passage"] for r in self._get(self.collections["passages"], keys, ["passage"])}
        return [found[k] for k in keys]

    def article_body(self, article_id: str) -> str | None:
        parts = self.connection.query_all(
            self.collections["articles"], f"{in_filter('article_id', [article_id])} and {self.where}", ["part", "body"]
        )
        if not parts:
            return None
        return "".join(p["body"] for p in sorted(parts, key=lambda p: p["part"]))

    def disk_bytes(self) -> int:
        return 0  # nothing of it is kept locally

    def close(self) -> None:
        pass

    # --- reading rows by key -----------------------------------------------------------------

    def _get(self, collection: str, keys: Sequence[int], fields: Sequence[str]) -> list[dict]:
        out: list[dict] = []
        for start in range(0, len(keys), KEYS_PER_REQUEST):
            chunk = list(keys[start : start + KEYS_PER_REQUEST])
            out.extend(
                self.connection.call("query", collection, filter=in_filter("pk", chunk), output_fields=list(fields))
            )
        return out


class _Articles(Mapping[str, Mapping[str, Any]]):
    """The version's manifest entries by article id, read from the server on first use."""

    def __init__(self, version: MilvusVersion) -> None:
        self.version = version
        self._rows: dict[str, tuple[str, dict[str, Any]]] | None = None
        self._lock = threading.Lock()

    def rows(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """article id -> (its info as stored, its manifest entry)."""
        with self._lock:
            if self._rows is None:
                v = self.version
                found = v.connection.query_all(
                    v.collections["articles"], f"part == 0 and {v.where}", ["article_id", "info", "entry"]
                )
                self._rows = {r["article_id"]: (r["info"], json.loads(r["entry"])) for r in found}
                if len(self._rows) != v.manifest.counts["articles"]:
                    raise IndexCorrupt(
                        f"version {v.version} has {v.manifest.counts['articles']} articles, the Milvus server holds "
                        f"{len(self._rows)}; {REBUILD}"
                    )
            return self._rows

    def __getitem__(self, key: str) -> Mapping[str, Any]:
        return self.rows()[key][1]

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows())

    def __len__(self) -> int:
        return len(self.rows())


class MilvusVectorSet:
    """A :class:`~retrieval.stores.base.VectorSet` in a Milvus collection, searched on the server."""

    searchable = True

    def __init__(
        self, version: MilvusVersion, name: str, dim: int, collection: str, field: str, keys: np.ndarray
    ) -> None:
        self.version = version
        self.name = name
        self.dim = int(dim)
        self.collection = collection
        self.field = field
        self.keys = keys  # row -> key, ascending
        #: search parameters under which a search restricted to some keys scores them exactly, or None
        self.exact = exact_search(version.manifest.index_types.get(name, ""))

    def __len__(self) -> int:
        return len(self.keys)

    def top(self, query: np.ndarray, k: int, breadth: SearchBreadth) -> np.ndarray:
        k = min(k, len(self), SEARCH_LIMIT)
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        params = {"metric_type": "IP", "params": {"nprobe": breadth.ivf_nprobe, "ef": breadth.hnsw_ef_search}}
        found = self._search(query, k, params, self.version.where)
        return _rows(self.keys, [key for key, _ in found])

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        if not len(rows):
            return out
        keys = self.keys[rows].tolist()
        got = {r["pk"]: r[self.field] for r in self.version._get(self.collection, keys, [self.field])}
        for i, key in enumerate(keys):
            if key in got:
                out[i] = got[key]
        return out

    def scores(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Computed on the server where its index keeps exact vectors: one search restricted to the
        rows' keys returns their keys and scores, no vectors."""
        rows = np.asarray(rows, dtype=np.int64)
        exact = self.exact
        if exact is None:
            return self.vectors(rows) @ np.asarray(query[0], dtype=np.float32)
        keys = self.keys[rows].tolist()
        got: dict[int, float] = {}
        for start in range(0, len(keys), SEARCH_LIMIT):
            chunk = keys[start : start + SEARCH_LIMIT]
            got.update(self._search(query, len(chunk), exact, in_filter("pk", chunk)))
        return np.asarray([got.get(key, 0.0) for key in keys], dtype=np.float32)

    def _search(self, query: np.ndarray, limit: int, params: dict[str, Any], where: str) -> list[tuple[int, float]]:
        found = self.version.connection.call(
            "search",
            self.collection,
            data=[np.asarray(query[0], dtype=np.float32).tolist()],
            anns_field=self.field,
            filter=where,
            limit=limit,
            search_params=params,
        )
        return [(int(hit["id"]), float(hit["distance"])) for hit in found[0]]


class MilvusLexical:
    """A :class:`~retrieval.stores.base.LexicalIndex` on the server: BM25 over the passages' text, and
    each term's document frequency from the version's term counts."""

    def __init__(self, version: MilvusVersion, analyzer: Analyzer) -> None:
        self.version = version
        self.analyzer = analyzer
        self._frequencies: dict[str, int] = {}
        self._wanted: set[str] = set()
        self._lock = threading.Lock()

    def query(self, query: LexicalQuery) -> _Scores:
        with self._lock:  # the question's own terms are fetched together, at the first one asked for
            self._wanted.update(self.analyzer.terms(query.text))
        return _Scores(self, weighted_text(query, self.analyzer))

    def spelt_like(self, term: str) -> bool | None:
        """True when a passage holds ``term``; else None: the server is not searched for close spellings."""
        return True if self.document_frequency(term) > 0 else None

    def document_frequency(self, term: str) -> int:
        with self._lock:
            if term not in self._frequencies:
                wanted = sorted((self._wanted | {term}) - set(self._frequencies))
                self._wanted.clear()
                v = self.version
                keys = {term_key(t): t for t in wanted}
                found = v.connection.call(
                    "query",
                    v.collections["terms"],
                    filter=f"{in_filter('term', list(keys))} and {v.where}",
                    output_fields=["term", "df"],
                )
                self._frequencies.update(dict.fromkeys(wanted, 0))
                self._frequencies.update({keys[r["term"]]: int(r["df"]) for r in found if r["term"] in keys})
            return self._frequencies[term]


def weighted_text(query: LexicalQuery, analyzer: Analyzer) -> str:
    """The query as text for the server's BM25, each word repeated by its weight (see WEIGHT_STEPS).

    Typed words weigh 1; an expansion weighs its similarity, and none is added for a term that
    is typed or already added with a higher weight (as :func:`~retrieval.stores.bm25.weighted_query_terms`).
    """
    from .schema import server_text

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


class _Scores:
    def __init__(self, lexical: MilvusLexical, text: str) -> None:
        self.lexical = lexical
        self.text = text

    def _search(self, limit: int, where: str) -> list[tuple[int, float]]:
        if not self.text or limit <= 0:
            return []
        v = self.lexical.version
        found = v.connection.call(
            "search",
            v.collections["passages"],
            data=[self.text],
            anns_field="sparse",
            filter=where,
            limit=min(limit, SEARCH_LIMIT),
            search_params={"metric_type": "BM25"},
        )
        return [(int(hit["id"]), float(hit["distance"]) / WEIGHT_STEPS) for hit in found[0]]

    def top(self, k: int) -> np.ndarray:
        v = self.lexical.version
        keys = [key for key, _ in self._search(k, v.where)]
        return _rows(v.rows.pks, keys)

    def scores(self, rows: np.ndarray) -> np.ndarray:
        v = self.lexical.version
        keys = v.rows.pks[np.asarray(rows, dtype=np.int64)].tolist()
        got = dict(self._search(len(keys), in_filter("pk", keys))) if keys else {}
        return np.asarray([got.get(k, 0.0) for k in keys], dtype=np.float32)


class MilvusWords:
    """The version's expansion vocabulary on the server: its words' vectors are searched there."""

    def __init__(self, version: MilvusVersion) -> None:
        self.version = version
        self.collection = version.collections["words"]
        self._loaded: tuple[list[str], np.ndarray] | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[list[str], np.ndarray]:
        with self._lock:
            if self._loaded is None:
                v = self.version
                found = sorted(v.connection.query_all(self.collection, v.where, ["word"]), key=lambda r: r["pk"])
                self._loaded = [r["word"] for r in found], np.asarray([r["pk"] for r in found], dtype=np.int64)
            return self._loaded

    @property
    def vocabulary(self) -> list[str]:
        return self._load()[0]

    @property
    def words(self) -> MilvusVectorSet:
        dim = self.version.record.manifest["encoders"]["multilingual"]["dim"]
        return MilvusVectorSet(self.version, "words", dim, self.collection, "vector", self._load()[1])

    def neighbours(
        self, query_words: Sequence[str], vectors: np.ndarray, settings: ExpansionSettings
    ) -> dict[str, list[tuple[str, float]]]:
        """For each query word, its nearest article words and their cosine: one search for all of them."""
        if not query_words or settings.top_n <= 0:
            return {}
        v = self.version
        found = v.connection.call(
            "search",
            self.collection,
            data=np.ascontiguousarray(vectors, dtype=np.float32).tolist(),
            anns_field="vector",
            filter=v.where,
            limit=settings.top_n,
            output_fields=["word"],
            search_params={"metric_type": "IP", "params": {}},
        )
        return {
            word: [
                (hit["entity"]["word"], float(hit["distance"]))
                for hit in hits
                if hit["distance"] >= settings.min_similarity
            ]
            for word, hits in zip(query_words, found, strict=True)
        }


def exact_search(index_type: str) -> dict[str, Any] | None:
    """Search parameters under which a search restricted by a filter scores every row it keeps
    exactly, as the inner product of the stored vectors, for an index of ``index_type`` (as the
    manifest records it): a flat index as is, an inverted file of raw vectors (``IVF_FLAT/<lists>``)
    probing every list. None for an index of approximate vectors (SQ8, PQ) or a graph (HNSW),
    which may leave rows out or score them approximately: scores then come from the vectors."""
    kind, _, lists = index_type.partition("/")
    if kind == "FLAT":
        return {"metric_type": "IP", "params": {}}
    if kind == "IVF_FLAT" and lists.isdigit():
        return {"metric_type": "IP", "params": {"nprobe": int(lists)}}
    return None


def _rows(pks: np.ndarray, keys: Sequence[int]) -> np.ndarray:
    """The rows (positions in ascending ``pks``) of ``keys``, in that order; unknown keys left out."""
    keys_arr = np.asarray(keys, dtype=np.int64)
    if not len(pks) or not len(keys_arr):
        return np.zeros(0, dtype=np.int64)
    rows = np.searchsorted(pks, keys_arr)
    ok = (rows < len(pks)) & (pks[np.minimum(rows, len(pks) - 1)] == keys_arr)
    return rows[ok].astype(np.int64)


def _name(record: Record, role: str) -> str:
    from .schema import Generation

    return Generation(record.generation).collection(role)


def _info(article_id: str, raw: str) -> ArticleInfo:
    data = json.loads(raw)
    return ArticleInfo(
        id=article_id,
        title=data.get("title", ""),
        date=data.get("date"),
        source=data.get("source"),
        byline=data.get("byline"),
        url=data.get("url"),
    )
