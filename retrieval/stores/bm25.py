"""BM25 over passages, stored as plain arrays (no pickle) and scored with weighted query terms.

The per-term, per-passage BM25 contributions are computed at build time (with numpy, from
each passage's term counts, exactly as bm25s computes them); a query's score for a passage
is then the weighted sum of its terms' contributions, which is what lets cross-lingual
expansions carry less weight than the words actually typed. The counts are kept beside the
weights: adding passages analyses only them, the weights (whose idf and mean length depend on
every passage) are recomputed from the counts.

Stored as segments, like the vectors (:mod:`.segments`): a fresh build or a merge writes segment 0
(its counts and, in ``bm25_data.npy``, the weights of exactly its rows); a later write that adds
passages writes only their counts as a segment of its own (``bm25_tf.1.npy``, ...) and links the
others, a removal writes nothing here (the passages' tombstones hide its rows). A version with
more than one segment or with tombstones weighs its postings when asked (:class:`SegmentedLexical`,
Lucene's way: idf and mean length from the live rows of every segment), to the bit what a fresh
build's precomputed weights give.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..corpus.analysis import Analyzer
    from ..types import Article, Passage

K1 = 1.5
B = 0.75

LEXICAL_FILES = ("bm25_data.npy", "bm25_indices.npy", "bm25_indptr.npy", "bm25_vocab.json")
#: the files of one lexical segment (segment k > 0: ``bm25_tf.<k>.npy``, ... see :func:`segment_files`)
SEGMENT_STEMS = (
    ("bm25_vocab", ".json"),
    ("bm25_indptr", ".npy"),
    ("bm25_indices", ".npy"),
    ("bm25_tf", ".npy"),
    ("bm25_doclen", ".npy"),
)
#: each (term, passage) pair's count and each passage's length: a later build adds passages to
#: them instead of analysing every passage again (a snapshot without them is rebuilt whole)
COUNT_FILES = ("bm25_tf.npy", "bm25_doclen.npy")
#: what an empty passage counts as (BM25 needs a term per passage)
EMPTY = "\x00"


@dataclass(frozen=True)
class TermCounts:
    """How often each term occurs in each passage, in compressed sparse columns, terms sorted.

    Column ``vocab[term]`` holds rows ``indices[indptr[c]:indptr[c + 1]]`` (ascending) with counts
    ``tf[...]``; ``doc_len[row]`` is the passage's number of terms. Only terms that occur are columns.
    """

    vocab: dict[str, int]
    indptr: np.ndarray  # int64, columns + 1
    indices: np.ndarray  # int32, passage rows
    tf: np.ndarray  # int32
    doc_len: np.ndarray  # int64, per passage

    @classmethod
    def of(cls, documents: Sequence[Sequence[str]]) -> TermCounts:
        """Count the terms of ``documents`` (an empty one counts as one :data:`EMPTY` term): each
        term numbered as met (in C, through a dict), then each (term, passage) pair counted at once."""
        docs = [doc or (EMPTY,) for doc in documents]
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        met: defaultdict[str, int] = defaultdict()
        met.default_factory = met.__len__  # a new term's number: how many were met before it
        flat = np.fromiter(map(met.__getitem__, chain.from_iterable(docs)), dtype=np.int64, count=int(lengths.sum()))
        terms = sorted(met)
        column = np.empty(len(terms), dtype=np.int64)
        column[np.fromiter(map(met.__getitem__, terms), dtype=np.int64, count=len(terms))] = np.arange(len(terms))
        n = max(len(docs), 1)
        # one key per (column, passage): sorted, they are the columns in order, each one's rows ascending
        keys, tf = np.unique(
            column[flat] * n + np.repeat(np.arange(len(docs), dtype=np.int64), lengths), return_counts=True
        )
        cols = keys // n
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=len(terms)), out=indptr[1:])
        return cls(
            {t: i for i, t in enumerate(terms)},
            indptr,
            (keys - cols * n).astype(np.int32),
            tf.astype(np.int32),
            lengths,
        )

    @classmethod
    def _from_entries(
        cls, terms: list[str], cols: np.ndarray, rows: np.ndarray, tf: np.ndarray, doc_len: np.ndarray
    ) -> TermCounts:
        """Columns from (column, row, count) entries whose rows ascend within each column, in order
        of column then row after a stable sort; columns no entry uses are dropped."""
        order = np.argsort(cols, kind="stable")
        cols, rows, tf = cols[order], rows[order], tf[order]
        per_column = np.bincount(cols, minlength=len(terms))
        used = per_column > 0
        if not used.all():
            renumber = np.cumsum(used) - 1
            cols = renumber[cols]
            terms = [t for t, u in zip(terms, used.tolist(), strict=True) if u]
            per_column = per_column[used]
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(per_column, out=indptr[1:])
        return cls(
            {t: i for i, t in enumerate(terms)},
            indptr,
            rows.astype(np.int32, copy=False),
            tf.astype(np.int32, copy=False),
            doc_len.astype(np.int64, copy=False),
        )

    def extended(self, kept: np.ndarray, documents: Sequence[Sequence[str]]) -> TermCounts:
        """The counts of passages ``kept`` (rows of these counts, ascending), then of ``documents``:
        what :meth:`of` gives for those passages' terms, without analysing the kept ones again."""
        kept = np.asarray(kept, dtype=np.int64)
        added = TermCounts.of(documents)
        new_row = np.full(len(self.doc_len), -1, dtype=np.int64)
        new_row[kept] = np.arange(len(kept))
        old_cols = np.repeat(np.arange(len(self.vocab), dtype=np.int64), np.diff(self.indptr))
        rows = new_row[self.indices]
        stays = rows >= 0
        # Both vocabularies are sorted: merged, each old column moves up by the new terms before it.
        old_terms = list(self.vocab)
        new_terms = sorted(t for t in added.vocab if t not in self.vocab)
        terms = sorted(old_terms + new_terms)  # two sorted runs: a linear merge
        before = np.searchsorted(
            np.asarray([bisect_left(old_terms, t) for t in new_terms], dtype=np.int64),
            np.arange(len(old_terms)),
            side="right",
        )
        old_to_new = np.arange(len(old_terms), dtype=np.int64) + before
        position = {t: i for i, t in enumerate(terms)} if new_terms else None
        added_to_new = np.asarray(
            [position[t] if position is not None else old_to_new[self.vocab[t]] for t in added.vocab],
            dtype=np.int64,
        )
        # No sort: a kept row keeps its order (renumbered in order), an added row comes after every
        # kept one, and both vocabularies map into the merged one in order. So each column is its
        # kept entries, then its added ones, each placed at its column's offset.
        kept_cols = old_to_new[old_cols[stays]]
        added_cols = added_to_new[np.repeat(np.arange(len(added.vocab), dtype=np.int64), np.diff(added.indptr))]
        n_kept = np.bincount(kept_cols, minlength=len(terms))
        n_added = np.bincount(added_cols, minlength=len(terms))
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(n_kept + n_added, out=indptr[1:])
        first_kept = np.cumsum(n_kept) - n_kept  # each column's first entry among the kept entries
        first_added = np.cumsum(n_added) - n_added
        at_kept = indptr[kept_cols] + np.arange(len(kept_cols)) - first_kept[kept_cols]
        at_added = indptr[added_cols] + n_kept[added_cols] + np.arange(len(added_cols)) - first_added[added_cols]
        indices = np.empty(int(indptr[-1]), dtype=np.int32)
        tf = np.empty(int(indptr[-1]), dtype=np.int32)
        indices[at_kept], tf[at_kept] = rows[stays], self.tf[stays]
        indices[at_added], tf[at_added] = added.indices.astype(np.int64) + len(kept), added.tf
        used = (n_kept + n_added) > 0
        if not used.all():  # terms only the removed passages held are gone
            terms = [t for t, u in zip(terms, used.tolist(), strict=True) if u]
            indptr = np.concatenate([indptr[:1], indptr[1:][used]])
        doc_len = np.concatenate([self.doc_len[kept], added.doc_len]).astype(np.int64, copy=False)
        return TermCounts({t: i for i, t in enumerate(terms)}, indptr, indices, tf, doc_len)

    def weights(self, k1: float, b: float, *, block: int = 1 << 22) -> np.ndarray:
        """Each entry's BM25 contribution (Lucene's idf), computed as bm25s 0.3 does, to the bit:
        idf in float32 from ``math.log``, the rest in float64, the product rounded to float32.
        Computed ``block`` entries at a time, by whole columns: the float64 intermediates of a
        million passages' entries are never all held at once."""
        n_docs = len(self.doc_len)
        df = np.diff(self.indptr)
        distinct, which = np.unique(df, return_inverse=True)
        per_df = np.asarray([idf(n_docs, d) for d in distinct.tolist()], dtype=np.float32)
        per_column = per_df[which].astype(np.float64)
        avg_len = self.doc_len.mean()
        norm = k1 * ((1 - b) + b * self.doc_len.astype(np.float64) / avg_len)
        out = np.empty(len(self.indices), dtype=np.float32)
        columns = len(df)
        first = 0
        while first < columns:
            # the columns from ``first`` whose entries fit in a block (at least one column)
            last = max(first + 1, int(np.searchsorted(self.indptr, self.indptr[first] + block, side="right")) - 1)
            last = min(last, columns)
            lo, hi = int(self.indptr[first]), int(self.indptr[last])
            tf = np.asarray(self.tf[lo:hi]).astype(np.float64)
            per_entry_idf = np.repeat(per_column[first:last], df[first:last])
            out[lo:hi] = per_entry_idf * (tf / (norm[self.indices[lo:hi]] + tf))
            first = last
        return out

    def save(self, folder: Path) -> None:
        np.save(folder / COUNT_FILES[0], self.tf, allow_pickle=False)
        np.save(folder / COUNT_FILES[1], self.doc_len, allow_pickle=False)

    def save_segment(self, folder: Path, k: int) -> list[str]:
        """Write these counts as lexical segment ``k`` (no weights: they depend on every segment);
        returns the files written."""
        names = segment_files(k)
        vocab, indptr, indices, tf, doc_len = names
        (folder / vocab).write_text(
            json.dumps({"n_docs": len(self.doc_len), "vocab": self.vocab}, ensure_ascii=False), encoding="utf-8"
        )
        for name, array in ((indptr, self.indptr), (indices, self.indices), (tf, self.tf), (doc_len, self.doc_len)):
            np.save(folder / name, array, allow_pickle=False)
        return names

    @classmethod
    def load_segment(cls, folder: Path, k: int) -> TermCounts:
        """Lexical segment ``k`` as written by :meth:`save_segment` (or segment 0 by
        :meth:`LexicalIndex.save`), its arrays memory-mapped; ValueError when they do not fit."""
        vocab_file, *arrays = segment_files(k)
        meta = json.loads((folder / vocab_file).read_text(encoding="utf-8"))
        indptr, indices, tf, doc_len = (np.load(folder / f, allow_pickle=False, mmap_mode="r") for f in arrays)
        vocab = meta["vocab"]
        if (
            indptr.dtype != np.int64
            or indices.dtype != np.int32
            or tf.dtype != np.int32
            or doc_len.dtype != np.int64
            or indptr.shape != (len(vocab) + 1,)
            or int(indptr[-1]) != len(indices)
            or tf.shape != indices.shape
            or doc_len.shape != (int(meta["n_docs"]),)
            or list(vocab.values()) != list(range(len(vocab)))
        ):
            raise ValueError(f"lexical segment {k} does not fit together")
        return cls(vocab, indptr, indices, tf, doc_len)

    @classmethod
    def concat(cls, segments: Sequence[TermCounts]) -> TermCounts:
        """The counts of ``segments``' rows end to end (each segment's rows after the ones before):
        what :meth:`of` gives for all their passages at once. Each segment's entries are placed at
        their merged column's offset (no sort, no array of every entry's column)."""
        if len(segments) == 1:
            return segments[0]
        terms = sorted(set().union(*(s.vocab for s in segments)))
        position = {t: i for i, t in enumerate(terms)}
        to_new = [np.fromiter((position[t] for t in s.vocab), dtype=np.int64, count=len(s.vocab)) for s in segments]
        per_column = np.zeros(len(terms), dtype=np.int64)
        for seg, columns in zip(segments, to_new, strict=True):
            per_column[columns] += np.diff(seg.indptr)  # a segment's columns are distinct terms
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(per_column, out=indptr[1:])
        indices = np.empty(int(indptr[-1]), dtype=np.int32)
        tf = np.empty(int(indptr[-1]), dtype=np.int32)
        cursor = indptr[:-1].copy()  # where each merged column's next entries go
        start = 0
        for seg, columns in zip(segments, to_new, strict=True):
            seg_indptr = np.asarray(seg.indptr, dtype=np.int64)
            sizes = np.diff(seg_indptr)
            # entry e of segment column c goes to cursor[c'] + (e - seg_indptr[c]), c' its merged column
            at = np.repeat(cursor[columns] - seg_indptr[:-1], sizes) + np.arange(int(seg_indptr[-1]), dtype=np.int64)
            indices[at] = np.asarray(seg.indices, dtype=np.int64) + start
            tf[at] = seg.tf
            cursor[columns] += sizes
            start += len(seg.doc_len)
        doc_len = np.concatenate([np.asarray(s.doc_len, dtype=np.int64) for s in segments])
        return cls(dict(position), indptr, indices, tf, doc_len)


def segment_files(k: int) -> list[str]:
    """The files of lexical segment ``k``: vocabulary, column offsets, rows, counts, lengths."""
    from .segments import numbered

    return [numbered(stem, suffix, k) for stem, suffix in SEGMENT_STEMS]


def idf(n_docs: int, df: int) -> float:
    """Lucene's idf as bm25s computes it: ``math.log`` rounded to float32."""
    return float(np.float32(math.log(1 + (n_docs - df + 0.5) / (df + 0.5))))


class LexicalIndex:
    """Term → (passage rows, BM25 contribution) in compressed sparse columns."""

    def __init__(
        self,
        vocab: dict[str, int],
        data: np.ndarray,
        indices: np.ndarray,
        indptr: np.ndarray,
        n_docs: int,
        *,
        counts: TermCounts | None = None,
    ):
        self.vocab = vocab
        self.data = data
        self.indices = indices
        self.indptr = indptr
        self.n_docs = n_docs
        #: the term counts behind the weights, when built here (a loaded index reads them on demand)
        self.counts = counts

    @classmethod
    def build(cls, documents: Sequence[Sequence[str]], *, k1: float = K1, b: float = B) -> LexicalIndex:
        return cls.from_counts(TermCounts.of(documents), k1=k1, b=b)

    @classmethod
    def from_counts(cls, counts: TermCounts, *, k1: float = K1, b: float = B) -> LexicalIndex:
        return cls(
            counts.vocab, counts.weights(k1, b), counts.indices, counts.indptr, len(counts.doc_len), counts=counts
        )

    def save(self, folder: Path) -> None:
        np.save(folder / "bm25_data.npy", self.data, allow_pickle=False)
        np.save(folder / "bm25_indices.npy", self.indices, allow_pickle=False)
        np.save(folder / "bm25_indptr.npy", self.indptr, allow_pickle=False)
        (folder / "bm25_vocab.json").write_text(
            json.dumps({"n_docs": self.n_docs, "vocab": self.vocab}, ensure_ascii=False), encoding="utf-8"
        )
        if self.counts is not None:
            self.counts.save(folder)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        meta = json.loads((folder / "bm25_vocab.json").read_text(encoding="utf-8"))
        return cls(
            meta["vocab"],
            np.load(folder / "bm25_data.npy", allow_pickle=False, mmap_mode="r"),
            np.load(folder / "bm25_indices.npy", allow_pickle=False, mmap_mode="r"),
            np.load(folder / "bm25_indptr.npy", allow_pickle=False, mmap_mode="r"),
            int(meta["n_docs"]),
        )

    def document_frequency(self, term: str) -> int:
        """How many passages hold ``term``."""
        col = self.vocab.get(term)
        return 0 if col is None else int(self.indptr[col + 1] - self.indptr[col])

    def terms(self) -> Iterable[str]:
        """Every term a passage holds."""
        return iter(self.vocab)

    def scores(self, weighted_terms: Mapping[str, float]) -> np.ndarray:
        """BM25 score of every passage for terms weighted 0..1 (1 = typed by the user)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term, weight in weighted_terms.items():
            col = self.vocab.get(term)
            if col is None or weight <= 0:
                continue
            lo, hi = self.indptr[col], self.indptr[col + 1]
            out[self.indices[lo:hi]] += weight * self.data[lo:hi]  # rows are unique within a column
        return out

    def load_counts(self, folder: Path) -> TermCounts | None:
        """The term counts saved beside this index in ``folder``; None when it has none (an older
        snapshot) or they do not fit it (the next index is then built from the passages' text)."""
        if not all((folder / name).is_file() for name in COUNT_FILES):
            return None
        tf = np.load(folder / COUNT_FILES[0], allow_pickle=False)
        doc_len = np.load(folder / COUNT_FILES[1], allow_pickle=False)
        vocab_sorted = all(a < b for a, b in zip(self.vocab, list(self.vocab)[1:], strict=False))
        if tf.shape != self.indices.shape or doc_len.shape != (self.n_docs,) or not vocab_sorted:
            return None
        if list(self.vocab.values()) != list(range(len(self.vocab))):
            return None
        return TermCounts(self.vocab, self.indptr, self.indices, tf.astype(np.int32), doc_len.astype(np.int64))


class SegmentedLexical:
    """BM25 over lexical segments whose rows are the passages' physical rows (see :mod:`.segments`),
    ``dead`` of them tombstoned: each query term's postings are weighed when asked, with the idf
    and mean length of the live rows, exactly as :meth:`TermCounts.weights` weighs a fresh build's."""

    def __init__(self, segments: Sequence[TermCounts], dead: np.ndarray, *, k1: float = K1, b: float = B) -> None:
        self.segments = list(segments)
        self.k1, self.b = k1, b
        sizes = [len(s.doc_len) for s in self.segments]
        self.starts = np.cumsum([0, *sizes])[:-1].astype(np.int64)
        total = sum(sizes)
        self.n_docs = total - len(dead)
        #: each physical row's live row, -1 when dead (None: no row is dead)
        self._live_of: np.ndarray | None = None
        #: per segment: how many dead rows come before it (its rows shift down by that much), or
        #: None when some of its own rows are dead (then mapped one by one)
        self._shift: list[int | None] = [0] * len(sizes)
        length = sum(int(np.asarray(s.doc_len).sum()) for s in self.segments)
        if len(dead):
            keep = np.ones(total, dtype=bool)
            keep[dead] = False
            self._live_of = np.where(keep, np.cumsum(keep) - 1, -1)
            lengths = np.concatenate([np.asarray(s.doc_len) for s in self.segments])
            length -= int(lengths[dead].sum())
            for j, (start, size) in enumerate(zip(self.starts.tolist(), sizes, strict=True)):
                inside = np.searchsorted(dead, [start, start + size])
                self._shift[j] = int(inside[0]) if inside[0] == inside[1] else None
        # a fresh build's doc_len.mean(): an exact integer sum over the live rows, divided once
        self.avg_len = length / self.n_docs if self.n_docs else 0.0
        self._df: dict[str, int] = {}

    def _postings(self, j: int, term: str) -> tuple[np.ndarray, slice] | None:
        """Segment ``j``'s live rows holding ``term`` (as rows of the version), and where its
        postings are in that segment's arrays (dead ones included)."""
        seg = self.segments[j]
        col = seg.vocab.get(term)
        if col is None:
            return None
        at = slice(int(seg.indptr[col]), int(seg.indptr[col + 1]))
        rows = np.asarray(seg.indices[at], dtype=np.int64)
        shift = self._shift[j]
        if shift is not None:
            return rows + (int(self.starts[j]) - shift), at
        assert self._live_of is not None
        return self._live_of[rows + self.starts[j]], at

    def terms(self) -> Iterable[str]:
        """Every term a segment holds (a passage deleted since may be the only one)."""
        return iter(set().union(*(s.vocab for s in self.segments)))

    def document_frequency(self, term: str) -> int:
        """How many live passages hold ``term``."""
        found = self._df.get(term)
        if found is None:
            found = 0
            for j in range(len(self.segments)):
                hit = self._postings(j, term)
                if hit is not None:
                    found += int(np.count_nonzero(hit[0] >= 0))
            self._df[term] = found
        return found

    def scores(self, weighted_terms: Mapping[str, float]) -> np.ndarray:
        """BM25 score of every live passage for terms weighted 0..1 (1 = typed by the user)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term, weight in weighted_terms.items():
            if weight <= 0:
                continue
            df = self.document_frequency(term)
            if not df:
                continue
            term_idf = idf(self.n_docs, df)
            for j, seg in enumerate(self.segments):
                hit = self._postings(j, term)
                if hit is None:
                    continue
                rows, at = hit
                lengths = np.asarray(seg.doc_len)[np.asarray(seg.indices[at])].astype(np.float64)
                norm = self.k1 * ((1 - self.b) + self.b * lengths / self.avg_len)
                tf = np.asarray(seg.tf[at]).astype(np.float64)
                contribution = (term_idf * (tf / (norm + tf))).astype(np.float32)
                if self._shift[j] is None:  # some of this segment's rows are dead
                    live = rows >= 0
                    rows, contribution = rows[live], contribution[live]
                out[rows] += weight * contribution  # rows are unique within a column
        return out


def weighted_query_terms(
    question: str,
    analyzer: Analyzer,
    expansions: dict[str, list[tuple[str, float]]],
) -> dict[str, float]:
    """Lexical query: typed terms weigh 1, expansion terms their similarity (never more than 1)."""
    weights: dict[str, float] = {}
    for term in analyzer.terms(question):
        weights[term] = 1.0
    for candidates in expansions.values():
        for word, similarity in candidates:
            for term in analyzer.terms(word):
                weights[term] = max(weights.get(term, 0.0), min(1.0, similarity))
    return weights


def lexical_text(title: str, text: str) -> str:
    """What BM25 reads of a passage: its article's title, then its text. A question names the
    subject an article is about ("Quand Chopin a-t-il quitté Varsovie ?"), which its passages seldom
    repeat; the passage encoders read the title too. PIAF dev: R@1 0.696 -> 0.710, MRR 0.777 -> 0.787."""
    return f"{title}\n{text}" if title else text


def lexical_texts(articles: Sequence[Article], passages: Sequence[Passage]) -> list[str]:
    """:func:`lexical_text` of each of ``passages``, whose articles are among ``articles``."""
    titles = {a.id: a.info.title for a in articles}
    return [lexical_text(titles[p.article_id], p.text) for p in passages]


def analysed(texts: Sequence[str], analyzer: Analyzer, memo: dict[str, list[str]] | None = None) -> list[list[str]]:
    """``analyzer.terms(text)`` of each text, each distinct word analysed once: a text's terms are
    its words' terms in order, and a collection repeats the same few thousand words (``memo``: the
    words already analysed, for a caller that analyses texts a few at a time)."""
    from ..corpus.analysis import words

    memo = {} if memo is None else memo
    known = memo.__getitem__
    out = []
    for text in texts:
        found = words(text)
        try:
            terms = list(chain.from_iterable(map(known, found)))
        except KeyError:  # a word not analysed yet
            for word in found:
                if word not in memo:
                    memo[word] = analyzer.terms(word)
            terms = list(chain.from_iterable(map(known, found)))
        out.append(terms)
    return out
