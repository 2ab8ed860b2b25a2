"""Writing a version to the Milvus server, under the writer lease.

Versions are immutable: a write never changes a row a published version can see.

- An incremental build (articles added, changed or removed) edits the current generation: it
  inserts the new rows with ``born`` = the new version's number, and marks the rows of changed
  and removed articles ``died`` = that number (an upsert of the same row with only ``died``
  changed). Readers of the current version see neither until the pointer moves.
- A full build (the first, ``--rebuild``, other encoders or index settings) fills a new
  generation, copying the rows it keeps from the previous one.

Either way the new version's rows are counted on the server before the pointer record is
published, in one request. A writer killed at any point leaves rows no published version sees:
the next writer removes them (:meth:`Writer.recover`) before it writes its own.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from ...corpus.analysis import Analyzer
from ...errors import IndexCorrupt, RagbotError, StoreUnavailable
from ..bm25 import analysed, lexical_text
from ..build import copy_reused
from ..pointer import utc_stamp
from .client import in_filter
from .record import Record, first_record
from .schema import (
    ALIVE,
    NIL,
    TEXT_BYTES,
    Generation,
    Names,
    cut,
    fits,
    index_params,
    schema,
    server_text,
    term_key,
    vector_fields,
)
from .version import MilvusVersion, visible

if TYPE_CHECKING:
    from ...types import ArticleInfo, Passage
    from ..build import Build
    from .client import Connection
    from .lease import Lease
    from .record import Pointer

log = logging.getLogger(__name__)

BATCH = 1000  # rows per insert (a few MB per request)
#: a write request may take this many times RAGBOT_MILVUS_TIMEOUT_SECONDS (an index build, a load: more)
WRITE_FACTOR = 6
BUILD_FACTOR = 60
#: body characters per row of the articles collection (4 bytes each at most: within a field's 65,535)
BODY_CHARS = 16_000
#: the fields read back to write a row again (all but the server-computed BM25 vector)
FIELDS = {
    "passages": [
        "born",
        "died",
        "passage_id",
        "article_id",
        "ordinal",
        "char_start",
        "char_end",
        "first_sentence",
        "sentences",
        "info",
        "passage",
        "text",
    ],
    "sentences": ["born", "died", "passage", "article_id", "vector"],
    "articles": ["born", "died", "article_id", "part", "info", "entry", "body", "nil"],
    "terms": ["born", "died", "term", "df", "nil"],
    "words": ["born", "died", "word", "vector"],
}


@dataclass
class _Keys:
    """Primary keys handed out in a generation (they only grow)."""

    next: int

    def take(self, n: int = 1) -> int:
        first = self.next
        self.next += n
        return first


class _Rows:
    """The rows one write adds, inserted as they come, a batch at a time (a full build never holds
    more than a batch of rows per collection); the new passages' terms are counted on the way."""

    def __init__(self, writer: Writer, collections: Mapping[str, str], analyzer: Analyzer) -> None:
        self.writer = writer
        self.collections = collections
        self.analyzer = analyzer
        self.pending: dict[str, list[dict[str, Any]]] = {}
        #: in how many of the new passages each term occurs
        self.terms: Counter[str] = Counter()
        self._words: dict[str, list[str]] = {}

    def add(self, role: str, row: dict[str, Any]) -> None:
        if role == "passages":
            for terms in analysed([_lexical(row)], self.analyzer, self._words):
                self.terms.update(set(terms))
        rows = self.pending.setdefault(role, [])
        rows.append(row)
        if len(rows) >= BATCH:
            self.flush(role)

    def flush(self, role: str | None = None) -> None:
        for name in [role] if role is not None else list(self.pending):
            rows, self.pending[name] = self.pending.get(name, []), []
            if rows:
                self.writer.connection.call("insert", self.collections[name], rows, seconds=self.writer.write_seconds)


class Writer:
    """Writes builds as new versions of one deployment (its lease must be held)."""

    def __init__(
        self,
        connection: Connection,
        names: Names,
        pointer: Pointer,
        *,
        vector_index: str,
        threshold: int,
        keep: int,
        grace: float,
    ) -> None:
        self.connection = connection
        self.names = names
        self.pointer = pointer
        self.vector_index = vector_index
        self.threshold = threshold
        self.keep = keep
        self.grace = grace
        self.write_seconds = connection.timeout * WRITE_FACTOR
        self.build_seconds = connection.timeout * BUILD_FACTOR

    # --- publishing --------------------------------------------------------------------------

    def write(self, build: Build, previous: MilvusVersion | None, lease: Lease) -> Record:
        started = time.perf_counter()
        record = self.pointer.record()
        if previous is not None and (record is None or record.version != previous.version):
            raise RagbotError("another version was published since this build started; run it again")
        incremental = (
            previous is not None
            and previous.manifest.index_settings == dict(build.index_settings)
            and previous.manifest.encoders == build.encoders
        )
        number = record.number + 1 if record is not None else 1
        if incremental and previous is not None and record is not None:
            generation, roles, keys = Generation(record.generation), record.roles, _Keys(record.next_pk)
            index_types = dict(previous.manifest.index_types)
            self._edit(build, previous, number, keys)
        else:
            generation = self.names.generation(utc_stamp())
            roles = _roles(build)
            keys = _Keys(0)
            index_types = self._create(generation, roles, build)
            self._fill(build, previous, generation, roles, number, keys)
        self._check(build, generation, roles, number)
        on_server = time.perf_counter() - started
        manifest = {
            "encoders": build.encoders,
            "analyzer": build.analyzer,
            "chunking": dict(build.chunking),
            "counts": _counts(build),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "build_seconds": round(time.perf_counter() - build.started, 3) if build.started else 0.0,
            "index_types": index_types,
            "index_settings": dict(build.index_settings),
        }
        name = f"{utc_stamp()}-{number}"
        if record is None:
            new = first_record(name, generation.passages, roles, keys.next, manifest)
        else:
            new = self.retained(record.successor(name, generation.passages, roles, keys.next, manifest))
        lease.check()
        self.pointer.publish(new)
        log.info(
            "%s: %s on the server in %.2f s", name, "rows edited" if incremental else "new generation filled", on_server
        )
        return new

    def retained(self, record: Record) -> Record:
        """``record`` with only the earlier versions a reader may still be on: the last few, and older
        ones in their grace period."""
        from dataclasses import replace

        now = time.time()
        kept = tuple(k for i, k in enumerate(record.kept) if i < self.keep - 1 or now - k.superseded < self.grace)
        return replace(record, kept=kept)

    # --- an incremental build: the current generation, edited --------------------------------

    def _edit(self, build: Build, previous: MilvusVersion, number: int, keys: _Keys) -> None:
        coll = previous.collections
        analyzer = Analyzer(build.analyzer.get("language", "french"))
        touched = set(build.changed) | set(build.removed)
        # The rows of changed and removed articles die with this version.
        dead_rows = previous.article_passages(touched)
        dense = _dense(previous.manifest.encoders)
        dead = self._read(coll["passages"], "passages", previous.rows.pks[dead_rows].tolist(), dense)
        self._kill(coll["passages"], dead, number)
        if "sentences" in coll:
            sentence_rows = previous.sentence_rows(dead_rows.tolist())
            self._kill(
                coll["sentences"],
                self._read(coll["sentences"], "sentences", previous.sentence_keys[sentence_rows].tolist()),
                number,
            )
        # Their manifest entries, and those of the articles read again (their file's stat may be new).
        entries = _entries(build)
        rewritten = set(entries) | set(build.removed)
        for article_id, entry in build.kept.articles.items() if build.kept is not None else ():
            if dict(previous.manifest.articles.get(article_id, {})) != dict(entry):
                rewritten.add(article_id)  # kept as it is, but its stat changed
        old_articles = [
            row
            for chunk in _chunks(sorted(rewritten), 500)
            for row in self._alive(coll["articles"], "articles", in_filter("article_id", chunk), previous.number)
        ]
        self._kill(coll["articles"], old_articles, number)

        out = _Rows(self, coll, analyzer)
        changed = set(build.changed)
        self._passage_rows(out, build, previous, number, keys, lambda a: a in changed)
        by_id = {a.id: a for a in build.articles}
        bodies = _bodies(old_articles)
        for article_id in sorted(rewritten - set(build.removed)):
            if article_id in by_id:
                article = by_id[article_id]
                _article_rows(
                    out, article_id, _info_json(article.info), entries[article_id], article.body, number, keys
                )
            elif build.kept is not None and article_id in build.kept.articles:
                info, body = bodies[article_id]
                _article_rows(out, article_id, info, dict(build.kept.articles[article_id]), body, number, keys)
        # Document frequencies: the dead passages' terms out, the new ones' in.
        delta: Counter[str] = Counter()
        for terms in analysed([_lexical(r) for r in dead], analyzer):
            delta.subtract(set(terms))
        delta.update(out.terms)
        self._edit_terms(coll["terms"], {t: d for t, d in delta.items() if d}, previous.number, number, keys, out)
        if "words" in coll:
            self._edit_words(coll["words"], build, previous, number, keys, out)
        out.flush()

    def _edit_terms(
        self, collection: str, delta: Mapping[str, int], current: int, number: int, keys: _Keys, out: _Rows
    ) -> None:
        if not delta:
            return
        stored = {term_key(t): t for t in delta}
        old: list[dict[str, Any]] = []
        for chunk in _chunks(sorted(stored), 500):
            old += self._alive(collection, "terms", in_filter("term", chunk), current)
        self._kill(collection, old, number)
        df = {stored[r["term"]]: int(r["df"]) for r in old}
        for term in sorted(delta):
            count = df.get(term, 0) + delta[term]
            if count > 0:
                out.add("terms", {**_versioned(keys.take(), number), "term": term_key(term), "df": count, "nil": NIL})

    def _edit_words(
        self, collection: str, build: Build, previous: MilvusVersion, number: int, keys: _Keys, out: _Rows
    ) -> None:
        before = previous.expander.vocabulary if previous.expander is not None else []
        after = build.expander.vocabulary if build.expander is not None else []
        gone, new = set(before) - set(after), set(after) - set(before)
        if gone:
            where = in_filter("word", sorted(gone))
            self._kill(collection, self._alive(collection, "words", where, previous.number), number)
        if new and build.expander is not None:
            rows = [i for i, w in enumerate(after) if w in new]
            vectors = build.expander.words.vectors(np.asarray(rows, dtype=np.int64))
            for i, vector in zip(rows, vectors, strict=True):
                out.add(
                    "words", {**_versioned(keys.take(), number), "word": cut(after[i], 1000), "vector": vector.tolist()}
                )

    # --- a full build: a new generation ------------------------------------------------------

    def _create(self, generation: Generation, roles: tuple[str, ...], build: Build) -> dict[str, str]:
        """Create the generation's collections, indexed and loaded; returns the index type of each vector set."""
        dims = {name: column.dim for name, column in build.vectors.items()}
        if "words" in roles:
            dims["words"] = build.vectors["sentences"].dim if "sentences" in build.vectors else dims["multilingual"]
        analyzer = Analyzer(build.analyzer.get("language", "french"))
        call = self.connection.call
        types: dict[str, str] = {}
        for role in ("passages", *roles):
            name = generation.collection(role)
            call("create_collection", name, schema=schema(role, dims, analyzer), consistency_level="Strong")
            if role == "passages":
                # BM25's k1 and b as ragbot's own index has them (the server's default k1 is 1.2).
                from .schema import BM25_PARAMS

                call("create_index", name, index_params("sparse", "SPARSE_INVERTED_INDEX", "BM25", BM25_PARAMS))
            rows = build.sentence_count if role == "sentences" else build.size
            for vector in vector_fields(role, dims):
                kind = self._index(name, vector, rows if vector != "nil" else 0)
                if role in ("passages", "sentences"):
                    types["sentences" if role == "sentences" else vector] = kind
            call("load_collection", name, seconds=self.build_seconds)
        return types

    def _index(self, collection: str, field_name: str, rows: int) -> str:
        """Index a vector field: exact (FLAT) below the vector-index threshold, else IVF_SQ8 where the
        server has it (a cluster), IVF_FLAT where it does not (milvus-lite 2.5). Returns the kind as
        the manifest records it (``FLAT``, ``IVF_FLAT/<lists>``)."""
        if self.vector_index == "flat" or (self.vector_index == "auto" and rows < self.threshold):
            choices = [("FLAT", {})]
        else:
            lists = max(1, min(int(4 * rows**0.5), 65_536))
            choices = [("IVF_SQ8", {"nlist": lists}), ("IVF_FLAT", {"nlist": lists})]
        for i, (kind, params) in enumerate(choices):
            try:
                self.connection.call("create_index", collection, index_params(field_name, kind, "IP", params))
                return f"{kind}/{params['nlist']}" if "nlist" in params else kind
            except StoreUnavailable:
                if i == len(choices) - 1:
                    raise
                log.info("%s: %s not available on this server, trying %s", field_name, kind, choices[i + 1][0])
        raise AssertionError("unreachable")

    def _fill(
        self,
        build: Build,
        previous: MilvusVersion | None,
        generation: Generation,
        roles: tuple[str, ...],
        number: int,
        keys: _Keys,
    ) -> None:
        coll = {role: generation.collection(role) for role in ("passages", *roles)}
        out = _Rows(self, coll, Analyzer(build.analyzer.get("language", "french")))
        if build.kept is not None and len(build.kept.passages):
            if previous is None:
                raise ValueError("a build that keeps rows needs the version it keeps them from")
            self._copy_kept(out, build, previous, number, keys)
        self._passage_rows(out, build, previous, number, keys, lambda _: True)
        kept_articles = dict(build.kept.articles) if build.kept is not None else {}
        if kept_articles and previous is not None:
            old = [
                row
                for chunk in _chunks(sorted(kept_articles), 500)
                for row in self._alive(
                    previous.collections["articles"], "articles", in_filter("article_id", chunk), previous.number
                )
            ]
            for article_id, (info, body) in _bodies(old).items():
                _article_rows(out, article_id, info, dict(kept_articles[article_id]), body, number, keys)
        entries = _entries(build)
        for article in build.articles:
            _article_rows(out, article.id, _info_json(article.info), entries[article.id], article.body, number, keys)
        for term, count in sorted(out.terms.items()):
            out.add("terms", {**_versioned(keys.take(), number), "term": term_key(term), "df": count, "nil": NIL})
        if "words" in roles and build.expander is not None and build.expander.vocabulary:
            vectors = build.expander.words.vectors(np.arange(len(build.expander.vocabulary), dtype=np.int64))
            for word, vector in zip(build.expander.vocabulary, vectors, strict=True):
                out.add(
                    "words", {**_versioned(keys.take(), number), "word": cut(word, 1000), "vector": vector.tolist()}
                )
        out.flush()

    def _copy_kept(self, out: _Rows, build: Build, previous: MilvusVersion, number: int, keys: _Keys) -> None:
        """The rows ``build`` keeps, read back from the previous generation, as rows of the new one."""
        assert build.kept is not None
        coll = previous.collections
        dense = _dense(previous.manifest.encoders)
        sentences = "sentences" in build.vectors and "sentences" in coll
        for chunk in _chunks(build.kept.passages.tolist(), BATCH):
            by_pk = {
                r["pk"]: r for r in self._read(coll["passages"], "passages", previous.rows.pks[chunk].tolist(), dense)
            }
            old_keys = previous.sentence_keys[previous.sentence_rows(chunk)].tolist() if sentences else []
            old_sentences = (
                {r["pk"]: r for r in self._read(coll["sentences"], "sentences", old_keys)} if old_keys else {}
            )
            for row in chunk:
                old = by_pk[int(previous.rows.pks[row])]
                spans = json.loads(old["sentences"])
                pk = keys.take(1 + len(spans))
                out.add("passages", {**old, **_versioned(pk, number), "first_sentence": pk + 1 if spans else -1})
                for k, key in enumerate(
                    previous.sentence_keys[previous.sentence_rows([row])].tolist() if sentences else []
                ):
                    out.add("sentences", {**old_sentences[key], **_versioned(pk + 1 + k, number), "passage": pk})

    # --- the rows of the build's own passages --------------------------------------------------

    def _passage_rows(
        self,
        out: _Rows,
        build: Build,
        previous: MilvusVersion | None,
        number: int,
        keys: _Keys,
        wanted: Any,
    ) -> None:
        """Rows for the build's passages whose article ``wanted`` accepts, with their sentences: vectors
        fresh, or read back from ``previous`` where the build reuses them."""
        articles = {a.id: a for a in build.articles}
        rows = [i for i, p in enumerate(build.passages) if wanted(p.article_id)]
        sentences_of: dict[int, list[int]] = {}
        for j, (p, _, _) in enumerate(build.sentences):
            sentences_of.setdefault(p, []).append(j)
        dense = [name for name in ("embedding", "multilingual") if name in build.vectors]
        fresh = {name: {row: i for i, row in enumerate(column.fresh_rows())} for name, column in build.vectors.items()}
        for chunk in _chunks(rows, BATCH):
            vectors = {name: _column_rows(build, name, chunk, previous, fresh[name]) for name in dense}
            sentence_rows = [j for i in chunk for j in sentences_of.get(i, [])]
            svectors = (
                dict(
                    zip(
                        sentence_rows,
                        _column_rows(build, "sentences", sentence_rows, previous, fresh["sentences"]),
                        strict=True,
                    )
                )
                if "sentences" in build.vectors
                else {}
            )
            for n, i in enumerate(chunk):
                passage = build.passages[i]
                spans = [(build.sentences[j][1], build.sentences[j][2]) for j in sentences_of.get(i, [])]
                pk = keys.take(1 + len(spans))
                first = pk + 1 if spans else -1
                row = _passage_row(passage, articles[passage.article_id].info, spans, first, number, pk)
                row.update((name, vectors[name][n].tolist()) for name in dense)
                out.add("passages", row)
                for k, j in enumerate(sentences_of.get(i, [])):
                    if j in svectors:
                        out.add(
                            "sentences",
                            {
                                **_versioned(first + k, number),
                                "passage": pk,
                                "article_id": passage.article_id,
                                "vector": svectors[j].tolist(),
                            },
                        )

    # --- reading, marking, inserting, counting -------------------------------------------------

    def _read(self, collection: str, role: str, keys: Sequence[int], dense: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Every field of the rows ``keys`` (``dense``: a passages collection's vector fields)."""
        out: list[dict[str, Any]] = []
        fields = [*FIELDS[role], *(dense if role == "passages" else ())]
        for chunk in _chunks(list(keys), BATCH):
            out += self.connection.call("query", collection, filter=in_filter("pk", chunk), output_fields=fields)
        return [_plain(r) for r in out]

    def _alive(self, collection: str, role: str, where: str, current: int) -> list[dict[str, Any]]:
        """Every field of the rows ``where`` selects among those of version ``current`` (not passages)."""
        found = self.connection.query_all(collection, f"{where} and {visible(current)}", [])
        return self._read(collection, role, [r["pk"] for r in found])

    def _kill(self, collection: str, rows: Sequence[dict[str, Any]], number: int) -> None:
        """Mark ``rows`` dead from version ``number`` on: the same rows, written again with ``died``."""
        for chunk in _chunks([{**r, "died": number} for r in rows], BATCH):
            self.connection.call("upsert", collection, chunk, seconds=self.write_seconds)

    def _check(self, build: Build, generation: Generation, roles: tuple[str, ...], number: int) -> None:
        """The server holds exactly the new version's rows, or nothing is published."""
        expected = {"passages": build.size, "sentences": build.sentence_count}
        for role, count in expected.items():
            if role != "passages" and role not in roles:
                continue
            name = generation.collection(role)
            self.connection.call("flush", name, seconds=self.build_seconds)
            found = self.count(name, visible(number))
            if found != count:
                raise IndexCorrupt(
                    f"collection {name} holds {found} rows of the new version where it should hold {count}; "
                    "nothing was published: run `ragbot index` again"
                )
        for role in roles:
            if role not in expected:
                self.connection.call("flush", generation.collection(role), seconds=self.build_seconds)
        articles = self.count(generation.collection("articles"), f"part == 0 and {visible(number)}")
        if articles != _counts(build)["articles"]:
            raise IndexCorrupt(
                f"collection {generation.collection('articles')} holds {articles} articles of the new version where "
                f"it should hold {_counts(build)['articles']}; nothing was published: run `ragbot index` again"
            )

    def count(self, collection: str, where: str) -> int:
        found = self.connection.call("query", collection, filter=where, output_fields=["count(*)"])
        return int(found[0]["count(*)"]) if found else 0

    # --- cleaning up -------------------------------------------------------------------------

    def recover(self, record: Record | None) -> list[str]:
        """Remove what an interrupted write left: rows of an unpublished version in the current
        generation (and dead marks it set), and generations no kept version reads."""
        removed = []
        if record is not None:
            generation = Generation(record.generation)
            n = record.number
            present = set(self.connection.call("list_collections"))
            for role in ("passages", *record.roles):
                name = generation.collection(role)
                if name not in present:  # a damaged version: the build that follows starts afresh
                    continue
                unborn = self.count(name, f"born > {n}")
                if unborn:
                    self.connection.call("delete", name, filter=f"born > {n}", seconds=self.write_seconds)
                    removed.append(f"{unborn} unpublished rows of {name}")
                marked = self._marked(name, role, n, _dense(record.manifest["encoders"]))
                if marked:
                    for chunk in _chunks([{**r, "died": ALIVE} for r in marked], BATCH):
                        self.connection.call("upsert", name, chunk, seconds=self.write_seconds)
                    removed.append(f"{len(marked)} unpublished removals in {name}")
        # Without a published version, the generations found are a crashed first build's or the old
        # layout's (whose replicas may still read them): dropped once this build has published.
        return removed + (self.drop_unread(record) if record is not None else [])

    def _marked(self, collection: str, role: str, number: int, dense: Sequence[str]) -> list[dict[str, Any]]:
        """The rows of version ``number`` that an unpublished version marked dead."""
        found = self.connection.query_all(collection, f"died > {number} and died < {ALIVE}", [])
        return self._read(collection, role, [r["pk"] for r in found], dense)

    def prune(self, record: Record | None) -> None:
        """Remove the rows no kept version sees any more, and the generations none reads."""
        if record is None:
            self.drop_unread(None)
            return
        trimmed = self.retained(record)
        if trimmed.kept != record.kept:
            self.pointer.publish(trimmed)
            record = trimmed
        generation = Generation(record.generation)
        oldest = record.oldest_number(record.generation)
        present = set(self.connection.call("list_collections"))
        for role in ("passages", *record.roles):
            name = generation.collection(role)
            if name in present and self.count(name, f"died <= {oldest}"):
                self.connection.call("delete", name, filter=f"died <= {oldest}", seconds=self.write_seconds)
        self.drop_unread(record)

    def drop_unread(self, record: Record | None) -> list[str]:
        """Drop this deployment's generations that no kept version reads: superseded ones past their
        grace, and those of builds that never published. Nothing else: not another prefix's
        collections, not the pointer, not a name this deployment does not recognise."""
        readable = record.generations() if record is not None else set()
        dropped = []
        for name in self.connection.call("list_collections"):
            owner = self.names.generation_of(name)
            if owner is not None and owner not in readable:
                self.connection.call("drop_collection", name)
                dropped.append(f"milvus collection {name}")
        return dropped


# --- rows ---------------------------------------------------------------------------------------


def _versioned(pk: int, born: int) -> dict[str, int]:
    return {"pk": int(pk), "born": int(born), "died": ALIVE}


def _passage_row(
    passage: Passage, info: ArticleInfo, spans: Sequence[tuple[int, int]], first: int, born: int, pk: int
) -> dict[str, Any]:
    if not fits(passage.text):
        raise RagbotError(
            f"passage {passage.id} does not fit a Milvus text field ({TEXT_BYTES} bytes): lower RAGBOT_CHUNK_MAX_CHARS"
        )
    return {
        **_versioned(pk, born),
        "passage_id": passage.id,
        "article_id": passage.article_id,
        "ordinal": passage.ordinal,
        "char_start": passage.char_start,
        "char_end": passage.char_end,
        "first_sentence": first,
        "sentences": json.dumps([[int(s), int(e)] for s, e in spans]),
        "info": _info_json(info),
        "passage": passage.text,
        "text": cut(server_text(lexical_text(info.title, passage.text))),
    }


def _lexical(row: Mapping[str, Any]) -> str:
    """What BM25 reads of a passages row (the server's ``text`` field before :func:`server_text`)."""
    return lexical_text(json.loads(row["info"]).get("title") or "", row["passage"])


def _article_rows(
    out: _Rows, article_id: str, info: str, entry: dict[str, Any], body: str, born: int, keys: _Keys
) -> None:
    """An article's rows: part 0 holds its info and manifest entry, every part a piece of its body."""
    pieces = [body[i : i + BODY_CHARS] for i in range(0, len(body), BODY_CHARS)] or [""]
    for part, piece in enumerate(pieces):
        out.add(
            "articles",
            {
                **_versioned(keys.take(), born),
                "article_id": article_id,
                "part": part,
                "info": info if part == 0 else "",
                "entry": json.dumps(entry, ensure_ascii=False) if part == 0 else "",
                "body": piece,
                "nil": NIL,
            },
        )


def _info_json(info: ArticleInfo) -> str:
    fields = {"title": info.title, "date": info.date, "source": info.source, "byline": info.byline, "url": info.url}
    # Each field is one line of a citation: a few thousand characters is already far more than one.
    return json.dumps({k: cut(v, 4000) if isinstance(v, str) else v for k, v in fields.items()}, ensure_ascii=False)


def _entries(build: Build) -> dict[str, dict[str, Any]]:
    """The manifest entries of the build's own articles (hash, file name, passages, the file's stat)."""
    counts = Counter(p.article_id for p in build.passages)
    return {
        a.id: {
            "sha256": a.content_hash,
            "path": a.path,
            "passages": counts.get(a.id, 0),
            **build.file_stats.get(a.id, {}),
        }
        for a in build.articles
    }


def _bodies(rows: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """article id -> (its info, its body) from its rows in the articles collection."""
    parts: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        parts.setdefault(r["article_id"], []).append(r)
    out = {}
    for article_id, found in parts.items():
        found.sort(key=lambda r: r["part"])
        out[article_id] = (found[0]["info"], "".join(r["body"] for r in found))
    return out


def _counts(build: Build) -> dict[str, int]:
    kept = len(build.kept.articles) if build.kept is not None else 0
    return {"articles": kept + len(build.articles), "passages": build.size, "sentences": build.sentence_count}


def _roles(build: Build) -> tuple[str, ...]:
    roles = ["articles", "terms"]
    if "sentences" in build.vectors:
        roles.insert(0, "sentences")
    if build.index_settings.get("expansion_vocabulary") and "multilingual" in build.vectors:
        roles.append("words")
    return tuple(roles)


def _column_rows(
    build: Build, name: str, rows: list[int], previous: MilvusVersion | None, fresh_index: dict[int, int]
) -> np.ndarray:
    """Vectors of set ``name`` at build rows ``rows``: fresh ones as computed (``fresh_index``: row ->
    position among the fresh vectors), reused ones read back from ``previous``."""
    column = build.vectors[name]
    out = np.zeros((len(rows), column.dim), dtype=np.float32)
    reused = [(j, column.sources[r]) for j, r in enumerate(rows) if column.sources[r] is not None]
    for j, r in enumerate(rows):
        if r in fresh_index:
            out[j] = column.fresh[fresh_index[r]]
    copy_reused(out, name, reused, previous)  # type: ignore[arg-type]
    return out


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as read back, ready to be written again (vectors as plain lists of floats)."""
    out = {}
    for key, value in row.items():
        if isinstance(value, np.ndarray) or (isinstance(value, list) and value and isinstance(value[0], float)):
            value = [float(x) for x in value]
        out[key] = value
    return out


def _dense(encoders: Mapping[str, Any]) -> list[str]:
    """The vector fields of a passages collection (the other collections have theirs in FIELDS)."""
    return [name for name in ("embedding", "multilingual") if name in encoders]


def _chunks(items: Sequence[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
