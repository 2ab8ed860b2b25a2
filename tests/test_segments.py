"""The FAISS store's segments and tombstones: an addition writes only its own rows, a removal writes
no vector at all, searches never return a removed row, and past the bounds a write merges.

The real seeds, the real indexer and store, the deterministic fake embedder at the model boundary;
the exact (flat) kind and the inverted file over 8-bit codes (a tiny threshold puts the seeds there).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval import Engine, IndexCorrupt
from retrieval.options import ChunkSettings
from retrieval.stores.seals import Seals
from retrieval.stores.segments import MAX_SEGMENTS, TOMBSTONES
from retrieval.stores.snapshot import Snapshot

from .support import BRIDGE_ARTICLE, SEEDS, FakeEmbedder, fake_encoders, make_settings

SETS = ("embedding", "multilingual", "sentences")
BRIDGE_QUESTION = "pont flottant sur le fleuve Toumen"


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    return folder


@pytest.fixture(params=["flat", "ivf-sq8"])
def engine(request: pytest.FixtureRequest, tmp_path: Path, articles: Path) -> Engine:
    threshold = 40 if request.param == "ivf-sq8" else 50_000  # the seeds hold 55 passages
    settings = make_settings(tmp_path, articles_dir=articles, vector_index_threshold=threshold)
    engine = Engine(settings, encoders=fake_encoders())
    engine.index()
    assert engine.snapshot().manifest.index_types["embedding"].startswith(request.param.split("-")[0])
    return engine


def _inodes(engine: Engine) -> dict[str, int]:
    snap = engine.snapshot()
    return {p.name: p.stat().st_ino for p in snap.path.iterdir() if p.name.startswith(("dense.", "passages.", "bm25_"))}


def _full_rebuild(tmp_path: Path, engine: Engine) -> Engine:
    settings = engine.settings.model_copy(update={"data_dir": tmp_path / "data-full"})
    full = Engine(settings, encoders=fake_encoders())
    full.index(rebuild=True)
    return full


def _hits(engine: Engine, question: str, k: int = 5) -> list[tuple[str, int]]:
    return [(h.article.id, h.passage.char_start) for h in engine.search(question, k)]


def test_adding_one_article_writes_a_small_segment_and_links_the_rest(engine: Engine, articles: Path):
    before = _inodes(engine)
    size = engine.snapshot().size
    (articles / "000_pont.md").write_text(BRIDGE_ARTICLE, encoding="utf-8")
    report = engine.index()
    assert report.added == ("000_pont",)
    snap = engine.snapshot()
    after = _inodes(engine)
    # the previous database is the very same file (a hard link), the new rows a database of their own
    assert after["passages.sqlite"] == before["passages.sqlite"] and "passages.1.sqlite" in after
    for name in SETS:
        # the previous segment is the very same file (a hard link), the new rows a segment of their own
        assert after[f"dense.{name}.faiss"] == before[f"dense.{name}.faiss"]
        assert [n for _, n in snap.segments[name]][1:] == [
            len(snap.article_rows("000_pont"))
            if name != "sentences"
            else len(snap.sentence_rows(snap.article_rows("000_pont")))
        ]
    assert snap.size == size + len(snap.article_rows("000_pont"))
    # BM25 too: the previous counts linked as they are, the new passages' counts a segment of their own
    for name in ("bm25_vocab.json", "bm25_indptr.npy", "bm25_indices.npy", "bm25_tf.npy", "bm25_doclen.npy"):
        assert after[name] == before[name]
    assert {"bm25_tf.1.npy", "bm25_indices.1.npy"} <= set(after) and "bm25_data.npy" not in after
    assert _hits(engine, BRIDGE_QUESTION, 1)[0][0] == "000_pont"
    # the new segment's codes are the ones the whole index would hold: its trained quantiser is reused
    row = snap.article_rows("000_pont")[0]
    decoded = snap.vector_set("embedding").vectors(np.array([row]))[0]
    passage, article = snap.passages([row])[0]
    vector = FakeEmbedder().encode([ChunkSettings().embedding_text(passage, article.title)])
    first = snap.dense["embedding"]  # the first segment: what it would hold of this vector
    assert np.allclose(decoded, first.sa_decode(first.sa_encode(np.asarray(vector, dtype=np.float32)))[0], atol=1e-6)


def test_removing_an_article_writes_tombstones_and_never_returns_it(engine: Engine, articles: Path, tmp_path: Path):
    before_snap = engine.snapshot()
    # a small article, not the last one: its rows are in the middle (and below the share that merges)
    gone = min(before_snap.articles()[:-1], key=lambda a: a.passages).info.id
    rows = before_snap.article_rows(gone)
    first_text = before_snap.passages(rows[:1])[0][0].text
    assert gone in [a for a, _ in _hits(engine, first_text)]
    before = _inodes(engine)

    next(p for p in articles.iterdir() if p.stem == gone).unlink()
    assert engine.index().removed == (gone,)
    snap = engine.snapshot()
    after = _inodes(engine)
    assert after == {
        n: i for n, i in before.items() if n != "bm25_data.npy"
    }  # not one vector, database or count written
    dead = np.load(snap.path / TOMBSTONES["passages"])
    assert dead.tolist() == rows  # the removed article's physical rows, nothing else
    assert len(np.load(snap.path / TOMBSTONES["sentences"])) == len(before_snap.sentence_rows(rows))
    for question in (first_text, "aide réciproque en cas d'attaque", "Kim Jong Un Poutine"):
        assert gone not in [a for a, _ in _hits(engine, question, 20)]
    if snap.manifest.index_types["embedding"] == "flat":  # exact search: exactly a fresh build's answers
        full = _full_rebuild(tmp_path, engine)
        for question in (first_text, "aide réciproque en cas d'attaque", "Kim Jong Un Poutine"):
            assert _hits(engine, question) == _hits(full, question)


def _bm25_by_passage(engine: Engine) -> dict[str, dict[tuple[str, int], float]]:
    """Each term's BM25 weight in each passage (by article and offset: rows differ), as searched."""
    snap = engine.snapshot()
    index = snap.lexical.index  # type: ignore[union-attr]
    key = [(p.article_id, p.char_start) for p, _ in snap.passages(range(snap.size))]
    terms = {t for seg in getattr(index, "segments", [index]) for t in seg.vocab}
    out = {}
    for term in sorted(terms):
        scores = index.scores({term: 1.0})
        if found := {key[r]: float(scores[r]) for r in np.flatnonzero(scores)}:  # a removed passage's term: none
            out[term] = found
    return out


def test_bm25_segments_weigh_every_passage_as_a_fresh_build(tmp_path: Path, articles: Path):
    """An addition's BM25 segment and a removal's tombstones give, to the bit, the weights a fresh
    build computes over the same passages (idf and mean length from every segment's live rows)."""
    engine = Engine(make_settings(tmp_path, articles_dir=articles), encoders=fake_encoders())
    engine.index()
    (articles / "000_pont.md").write_text(BRIDGE_ARTICLE, encoding="utf-8")
    engine.index()
    snap = engine.snapshot()
    gone = min(snap.articles()[1:-1], key=lambda a: a.passages).info.id  # rows in the middle of segment 0
    next(p for p in articles.iterdir() if p.stem == gone).unlink()
    assert engine.index().removed == (gone,)
    snap = engine.snapshot()
    assert len(np.load(snap.path / TOMBSTONES["passages"])) and (snap.path / "bm25_tf.1.npy").exists()
    full = _full_rebuild(tmp_path, engine)
    assert _bm25_by_passage(engine) == _bm25_by_passage(full)
    for term in ("pont", "toumen", "coré", "russi"):
        assert snap.lexical.document_frequency(term) == full.snapshot().lexical.document_frequency(term)  # type: ignore[union-attr]
    # a merge reads the segments' counts back: once merged, the weights are stored again, the same
    for i in range(MAX_SEGMENTS):
        (articles / f"00{i}_pont.md").write_text(BRIDGE_ARTICLE.replace("Toumen", f"Toumen {i}"), encoding="utf-8")
        engine.index()
        if (engine.snapshot().path / "bm25_data.npy").exists():
            break
    assert len(engine.snapshot().segments["embedding"]) == 1
    assert _bm25_by_passage(engine) == _bm25_by_passage(_full_rebuild(tmp_path / "again", engine))


def test_writes_merge_past_the_bounds(tmp_path: Path, articles: Path):
    engine = Engine(make_settings(tmp_path, articles_dir=articles), encoders=fake_encoders())
    engine.index()
    for i in range(MAX_SEGMENTS):  # each addition a segment: the one past the bound merges them all
        (articles / f"00{i}_pont.md").write_text(BRIDGE_ARTICLE.replace("Toumen", f"Toumen {i}"), encoding="utf-8")
        engine.index()
        count = len(engine.snapshot().segments["embedding"])
        assert count == (i + 2 if i + 2 <= MAX_SEGMENTS else 1)
    snap = engine.snapshot()
    assert [f for f, _ in snap.segments["embedding"]] == ["dense.embedding.faiss"]
    full = _full_rebuild(tmp_path, engine)
    for question in (BRIDGE_QUESTION, "aide réciproque en cas d'attaque"):
        assert _hits(engine, question) == _hits(full, question)

    # removing a large share of the rows merges too: no tombstone is left to filter
    seeds = sorted(p for p in articles.iterdir() if not p.stem.endswith("_pont"))
    for seed in seeds[:3]:
        seed.unlink()
    engine.index()
    snap = engine.snapshot()
    assert not any((snap.path / f).exists() for f in TOMBSTONES.values())
    assert len(snap.segments["embedding"]) == 1 and not (snap.path / "passages.1.sqlite").exists()
    assert _hits(engine, BRIDGE_QUESTION) == _hits(_full_rebuild(tmp_path / "again", engine), BRIDGE_QUESTION)

    # a merge renumbers the database's keys as the version's rows: the next write appends again
    (articles / "100_pont.md").write_text(BRIDGE_ARTICLE.replace("Toumen", "Amour"), encoding="utf-8")
    engine.index()
    snap = engine.snapshot()
    assert len(snap.segments["embedding"]) == 2 and (snap.path / "passages.1.sqlite").exists()
    assert _hits(engine, "pont flottant sur le fleuve Amour", 1)[0][0] == "100_pont"


def test_what_was_checked_once_is_not_hashed_again_but_damage_still_is(engine: Engine, articles: Path):
    """The writer records the files it hashed; a later open skips them while they are unchanged, and
    a file changed in place since is hashed again and refused."""
    (articles / "000_pont.md").write_text(BRIDGE_ARTICLE, encoding="utf-8")
    engine.index()
    snap = engine.snapshot()
    seals = Seals(engine.settings.data_dir)
    assert all(seals.vouches(snap.path / name, digest) for name, digest in snap.manifest.files.items())
    segment = snap.path / "dense.embedding.1.faiss"
    raw = bytearray(segment.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    segment.write_bytes(bytes(raw))
    with pytest.raises(IndexCorrupt, match=r"dense\.embedding\.1\.faiss is missing or fails its checksum"):
        Snapshot(snap.path)


def test_adding_or_removing_one_article_reads_only_its_file(tmp_path: Path, articles: Path):
    """`ragbot add` and removal read the named article's file only (no listing of the folder to
    re-check every other file): a hand edit or a bad file elsewhere waits for the next `ragbot index`."""
    engine = Engine(make_settings(tmp_path, articles_dir=articles), encoders=fake_encoders())
    engine.index()
    seeds = sorted(articles.iterdir())
    seeds[1].write_text(seeds[1].read_text("utf-8") + "\nUn paragraphe ajouté à la main, zygomatique.\n", "utf-8")
    (articles / "zz_junk.txt").write_bytes(bytes(range(256)) * 4)
    source = tmp_path / "pont.md"
    source.write_text(BRIDGE_ARTICLE, encoding="utf-8")
    _, report = engine.add([str(source)])
    assert report is not None and report.added == ("pont",) and report.updated == () and report.errors == ()
    assert len(report.unchanged) == len(seeds)
    assert _hits(engine, BRIDGE_QUESTION, 1)[0][0] == "pont"
    removal = engine.remove(seeds[0].stem)
    assert removal.removed == (seeds[0].stem,) and removal.updated == () and removal.errors == ()
    assert not seeds[0].exists() and seeds[0].stem not in [a.info.id for a in engine.sources()]
    # the next plain index applies what was done by hand
    report = engine.index()
    assert report.updated == (seeds[1].stem,) and [e.path.name for e in report.errors] == ["zz_junk.txt"]
