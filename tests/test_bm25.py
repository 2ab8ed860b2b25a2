"""BM25 weights from stored term counts: the same bits as bm25s, and an incremental build's
arrays equal to a full build's (the real seeds, the real analyzer and stores)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np

from retrieval import Engine
from retrieval.corpus.analysis import Analyzer
from retrieval.corpus.articles import load_articles
from retrieval.stores.bm25 import COUNT_FILES, LEXICAL_FILES, LexicalIndex, TermCounts, analysed

from .support import SEEDS, fake_encoders, make_settings


def _documents() -> list[list[str]]:
    """The seeds' paragraphs as analysed terms, and an empty passage."""
    texts = [p for a in load_articles(SEEDS).articles for p in a.body.split("\n\n")]
    return [*analysed(texts, Analyzer("french")), []]


def test_weights_are_those_of_bm25s_to_the_bit():
    import bm25s

    docs = _documents()
    reference = bm25s.BM25(k1=1.5, b=0.75)
    reference.index([list(d) or ["\x00"] for d in docs], show_progress=False)
    ref = reference.scores
    index = LexicalIndex.build(docs)
    assert set(index.vocab) == set(reference.vocab_dict) - {""}  # bm25s adds an empty token without a column
    for term, col in index.vocab.items():
        theirs = slice(ref["indptr"][reference.vocab_dict[term]], ref["indptr"][reference.vocab_dict[term] + 1])
        ours = slice(index.indptr[col], index.indptr[col + 1])
        assert np.array_equal(index.indices[ours], ref["indices"][theirs])
        assert np.array_equal(index.data[ours], np.asarray(ref["data"][theirs], dtype=np.float32))


def test_the_french_stop_words_are_the_snowball_list_bm25s_ships():
    """Guard: the list copied from bm25s (importing it loads scipy on every cold question) stays its list."""
    from bm25s.stopwords import STOPWORDS_FRENCH

    from retrieval.corpus.analysis import _FRENCH_SNOWBALL

    assert _FRENCH_SNOWBALL == STOPWORDS_FRENCH


def _same_counts(a: TermCounts, b: TermCounts) -> bool:
    return a.vocab == b.vocab and all(
        np.array_equal(getattr(a, k), getattr(b, k)) for k in ("indptr", "indices", "tf", "doc_len")
    )


def test_extended_counts_are_the_counts_of_the_new_collection():
    docs = _documents()
    counts = TermCounts.of(docs)
    # Every third passage goes (some terms with it), a few come back and new words arrive.
    kept = np.asarray([i for i in range(len(docs)) if i % 3], dtype=np.int64)
    added = [*docs[:4], ["zzz", "pont", "pont"], [], ["aaa"]]
    expected = TermCounts.of([docs[i] for i in kept] + added)
    extended = counts.extended(kept, added)
    assert _same_counts(extended, expected)
    assert len(expected.vocab) < len(counts.vocab) + 2  # terms of removed passages only are gone
    full, incremental = LexicalIndex.from_counts(expected), LexicalIndex.from_counts(extended)
    assert np.array_equal(full.data, incremental.data)
    assert _same_counts(counts.extended(np.arange(len(docs)), []), counts)


def _bm25_by_passage(engine: Engine) -> tuple[dict[str, dict[tuple, tuple[float, int]]], dict[tuple, int]]:
    """The current version's BM25 arrays as written, by passage (rows differ: an incremental build
    appends its rows): term -> passage -> (weight, count), and each passage's length."""
    snap = engine.snapshot()
    folder = snap.path
    assert {*LEXICAL_FILES, *COUNT_FILES} <= set(snap.manifest.files)
    vocab = json.loads((folder / "bm25_vocab.json").read_text("utf-8"))["vocab"]
    data, indices, indptr, tf, doc_len = (
        np.load(folder / f"bm25_{name}.npy", allow_pickle=False)
        for name in ("data", "indices", "indptr", "tf", "doclen")
    )
    key = [(p.article_id, p.char_start, p.char_end) for p, _ in snap.passages(range(snap.size))]
    by_term = {
        term: {
            key[r]: (float(data[i]), int(tf[i])) for i, r in enumerate(indices[indptr[c] : indptr[c + 1]], indptr[c])
        }
        for term, c in vocab.items()
    }
    return by_term, {key[r]: int(n) for r, n in enumerate(doc_len)}


def test_incremental_builds_write_the_bm25_arrays_of_a_full_build(tmp_path: Path):
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    engine = Engine(make_settings(tmp_path, articles_dir=articles), encoders=fake_encoders())
    engine.index()
    seeds = sorted(articles.iterdir())
    (articles / "000_pont.txt").write_text(
        "Un pont flottant sur le Toumen\n\nLes ingénieurs ont achevé un pont flottant xylophonique.", "utf-8"
    )
    assert engine.index().added == ("000_pont",)
    seeds[2].unlink()
    seeds[3].write_text(seeds[3].read_text("utf-8") + "\nUn paragraphe ajouté, zygomatique.\n", "utf-8")
    report = engine.index()
    assert report.removed == (seeds[2].stem,) and report.updated == (seeds[3].stem,)

    full = Engine(make_settings(tmp_path, articles_dir=articles, data_dir=tmp_path / "full"), encoders=fake_encoders())
    assert full.index(rebuild=True).full_rebuild
    assert _bm25_by_passage(engine) == _bm25_by_passage(full)


def test_extended_counts_equal_counting_afresh_on_random_collections():
    """A guard for the sort-free merge: every shape of keep and add (emptied columns, new terms
    before, between and after the old ones, empty passages) gives what counting afresh gives."""
    rng = random.Random(0)
    words = [f"w{i:03d}" for i in range(60)]
    for _ in range(300):
        docs = [[rng.choice(words) for _ in range(rng.randint(0, 8))] for _ in range(rng.randint(0, 40))]
        kept = np.asarray(sorted(rng.sample(range(len(docs)), rng.randint(0, len(docs)))), dtype=np.int64)
        more = [*words, "aaa", "new", "zzz"]
        added = [[rng.choice(more) for _ in range(rng.randint(0, 6))] for _ in range(rng.randint(0, 5))]
        extended = TermCounts.of(docs).extended(kept, added)
        expected = TermCounts.of([docs[i] for i in kept] + added)
        assert _same_counts(extended, expected)
        assert all(getattr(extended, k).dtype == getattr(expected, k).dtype for k in ("indptr", "indices", "tf"))
