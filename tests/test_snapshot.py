from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from retrieval import Engine, IndexCorrupt, IndexNotBuilt, ModelMismatch, open_current
from retrieval.options import ChunkSettings
from retrieval.stores.manifest import MANIFEST
from retrieval.stores.pointer import POINTER, SNAPSHOTS, current_version
from retrieval.stores.snapshot import Snapshot

from .support import SNAPSHOT_DATA_FILES, FakeEmbedder, fake_encoders, make_settings


def test_round_trip_build_then_load(engine: Engine):
    snap = open_current(engine.settings.data_dir)
    m = snap.manifest
    assert m.encoders == {
        "embedding": {"model": "test/fake-hash", "dim": 256},
        "multilingual": {"model": "test/fake-multilingual", "dim": 128},
    }
    assert m.counts["articles"] == 5
    n = m.counts["passages"]
    assert n == snap.dense["embedding"].ntotal == snap.dense["multilingual"].ntotal == snap.size
    assert n == sum(a["passages"] for a in m.articles.values())
    assert m.counts["sentences"] == snap.dense["sentences"].ntotal == len(snap.sentence_spans) > n
    assert m.chunking == {"strategy": "sentence-pack/v2", "min_chars": 250, "max_chars": 550, "title_context": True}
    assert m.analyzer["language"] == "french"
    assert all(len(a["sha256"]) == 64 for a in m.articles.values())
    assert set(m.files) == SNAPSHOT_DATA_FILES
    # every stored passage is a verbatim slice of its stored article body, and its sentences lie inside it
    for row, (passage, article) in enumerate(snap.passages(list(range(n)))):
        body = snap.article_body(article.id)
        assert body[passage.char_start : passage.char_end] == passage.text
        spans = snap.sentence_spans[snap.sentence_spans[:, 0] == row]
        assert len(spans) >= 1
        assert all(passage.char_start <= s < e <= passage.char_end for _, s, e in spans)
    # vectors in the index are the embedder's vectors for those passages (read with their title)
    first, article = snap.passages([0])[0]
    stored = snap.dense["embedding"].reconstruct(0)
    assert np.allclose(stored, FakeEmbedder().encode([f"{article.title}\n\n{first.text}"])[0], atol=1e-6)


def test_manifest_is_plain_json(engine: Engine):
    snap = open_current(engine.settings.data_dir)
    data = json.loads((snap.path / MANIFEST).read_text())
    assert {"encoders", "analyzer", "chunking", "articles", "counts", "created_at", "files", "format"} <= set(data)
    assert data["format"] == 3
    # the snapshot's name vouches for its manifest: <UTC time>-<the manifest's sha256, 16 hex digits>
    stamp, digest = snap.version.split("-")
    assert digest == hashlib.sha256((snap.path / MANIFEST).read_bytes()).hexdigest()[:16] and stamp.endswith("Z")


def test_search_returns_ranked_hits_with_citations(engine: Engine):
    hits = engine.search("aide réciproque en cas d'attaque contre une des parties", k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert hits[0].article.id == "001_58e8c327b5777ef9"
    assert "aide réciproque" in hits[0].passage.text
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))


def test_no_index_says_how_to_build_one(tmp_path):
    eng = Engine(make_settings(tmp_path), encoders=fake_encoders())
    with pytest.raises(IndexNotBuilt, match="ragbot index"):
        eng.search("anything")


def test_index_built_with_another_model_is_refused(engine: Engine):
    other = Engine(engine.settings, encoders=fake_encoders(FakeEmbedder(name="another/model")))
    with pytest.raises(ModelMismatch, match="test/fake-hash"):
        other.search("traité")


def test_index_with_another_dimension_is_refused(engine: Engine):
    other = Engine(engine.settings, encoders=fake_encoders(FakeEmbedder(dim=64)))
    with pytest.raises(ModelMismatch, match="256"):
        other.search("traité")


def test_tampered_snapshot_is_refused(engine: Engine):
    snap = open_current(engine.settings.data_dir)
    with open(snap.path / "dense.embedding.faiss", "r+b") as fh:
        fh.seek(100)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(IndexCorrupt, match="checksum"):
        open_current(engine.settings.data_dir)


def test_rebuild_switches_pointer_and_keeps_a_few_versions(engine: Engine):
    data = engine.settings.data_dir
    first = current_version(data)
    versions = [first]
    for _ in range(4):
        versions.append(engine.index(rebuild=True).version)
    assert current_version(data) == versions[-1]
    kept = sorted(p.name for p in (data / SNAPSHOTS).iterdir())
    assert kept == versions[-3:]
    # the engine follows the pointer without being rebuilt
    assert engine.snapshot().version == versions[-1]


def test_vector_index_follows_size_and_is_recorded(tmp_path, articles_dir):
    small = Engine(make_settings(tmp_path / "a"), encoders=fake_encoders())
    small.index()
    assert set(small.snapshot().manifest.index_types.values()) == {"flat"}
    question = "aide réciproque en cas d'attaque contre une des parties"
    expected = [h.passage.id for h in small.search(question, 3)]

    def same_answers(engine: Engine) -> bool:
        """The same best passage, and the top 3 mostly the same (8-bit codes can swap near-ties)."""
        got = [h.passage.id for h in engine.search(question, 3)]
        return got[0] == expected[0] and len(set(got) & set(expected)) >= 2

    # At or above the threshold (here tiny: 50 passages) the compact kind: an inverted file over
    # 8-bit codes for passages, a 6-bit store for sentences; the top answers do not move.
    big = Engine(
        make_settings(tmp_path / "b", vector_index_threshold=50, articles_dir=articles_dir), encoders=fake_encoders()
    )
    big.index()
    snap = big.snapshot()
    assert snap.manifest.index_types == {"embedding": "ivf1-sq8", "multilingual": "ivf1-sq8", "sentences": "sq6"}
    assert not snap.searchable("sentences") and snap.searchable("embedding")
    assert same_answers(big)
    # stored codes decode back to the vectors (what rescoring and incremental builds read)
    first, article = snap.passages([0])[0]
    decoded = snap.dense["embedding"].reconstruct(0)
    assert float(decoded @ FakeEmbedder().encode([ChunkSettings().embedding_text(first, article.title)])[0]) > 0.99

    # An incremental build reuses them, and the trained inverted file: one article changed
    # (so retraining would move the centroid), the same centroid kept.
    def centroids(engine: Engine) -> np.ndarray:
        index = engine.snapshot().dense["multilingual"]
        return index.quantizer.reconstruct_n(0, index.nlist)

    trained = centroids(big)
    article = next(articles_dir.glob("*.txt"))  # a copy of the seeds
    article.write_text(article.read_text(encoding="utf-8") + "\n\nUn paragraphe ajouté.", encoding="utf-8")
    report = big.index()
    assert len(report.updated) == 1 and len(report.unchanged) == 4
    assert same_answers(big)
    assert np.array_equal(centroids(big), trained)
    big.index(rebuild=True)  # a full rebuild trains afresh on the current articles
    assert not np.array_equal(centroids(big), trained)
    assert same_answers(big)
    # Forced kinds: fp32 HNSW keeps a searchable graph over the sentences too.
    for kind, types in [("hnsw", {"hnsw32"}), ("hnsw-sq8", {"hnsw32-sq8", "sq6"})]:
        forced = Engine(make_settings(tmp_path / kind, vector_index=kind), encoders=fake_encoders())
        forced.index()
        assert set(forced.snapshot().manifest.index_types.values()) == types
        assert same_answers(forced)
        if kind == "hnsw":  # fp32 vectors and a search breadth above the collection size: exact
            assert [h.passage.id for h in forced.search(question, 3)] == expected


def test_inverted_lists_grow_with_the_square_root_of_the_size():
    from retrieval.stores.faiss_index import ivf_lists

    assert ivf_lists(59) == 1
    assert ivf_lists(100_000) == 1264
    assert ivf_lists(1_000_000) == 4000
    assert all(ivf_lists(n) * 39 <= n for n in (39, 1000, 50_000, 10**7))


def _as_format_2(data_dir: Path, *, spans: bool = True) -> Path:
    """Turn the current snapshot into one as the format-2 writer left it: named by its time
    only (no manifest digest), ``"format": 2``, no ``index_settings``; before the numpy copy
    of the sentence table existed, also without ``sentence_spans.npy``."""
    folder = data_dir / SNAPSHOTS / current_version(data_dir)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["format"] = 2
    del manifest["index_settings"]
    if not spans:
        del manifest["files"]["sentence_spans.npy"]
        (folder / "sentence_spans.npy").unlink()
    (folder / MANIFEST).write_text(json.dumps(manifest))
    old = folder.rename(folder.with_name(folder.name.split("-")[0]))
    (data_dir / POINTER).write_text(old.name + "\n")
    return old


def test_sentence_spans_load_from_numpy_or_from_sqlite_alike(engine: Engine):
    """Snapshots written before the numpy copy of the sentence table existed still open."""
    spans = open_current(engine.settings.data_dir).sentence_spans.copy()
    _as_format_2(engine.settings.data_dir, spans=False)
    older = open_current(engine.settings.data_dir)
    assert older.manifest.format == 2 and "sentence_spans.npy" not in older.manifest.files
    assert np.array_equal(older.sentence_spans, spans)
    assert [h.passage.id for h in engine.search("traité", 3)]


def test_a_format_2_snapshot_still_serves_and_its_vectors_are_reused(engine: Engine, fake_embedder: FakeEmbedder):
    before = [h.passage.id for h in engine.search("traité", 3)]
    old = _as_format_2(engine.settings.data_dir)
    assert engine.snapshot().version == old.name and [h.passage.id for h in engine.search("traité", 3)] == before
    encoded = fake_embedder.texts_encoded
    report = engine.index()  # upgrades it: a format-3 snapshot, nothing re-embedded
    assert report.published and not report.full_rebuild and report.embedded_passages == 0
    assert fake_embedder.texts_encoded == encoded
    assert engine.snapshot().manifest.format == 3 and report.version != old.name
    # ... but its manifest is checked like any other: an empty file list is refused, not trusted
    manifest = json.loads((old / MANIFEST).read_text())
    (old / MANIFEST).write_text(json.dumps(manifest | {"files": {}}))
    with pytest.raises(IndexCorrupt, match=r"its manifest does not list bm25_indices\.npy"):
        Snapshot(old)


def test_an_index_run_with_nothing_changed_publishes_nothing(engine: Engine, fake_embedder: FakeEmbedder):
    """Same articles, same settings: no new snapshot, the current and older ones stay where they are."""
    data = engine.settings.data_dir
    engine.index(rebuild=True)
    engine.index(rebuild=True)
    before = sorted(p.name for p in (data / SNAPSHOTS).iterdir())
    current = current_version(data)
    assert len(before) == 3 and current == before[-1]
    encoded = fake_embedder.texts_encoded
    for _ in range(3):
        report = engine.index()
        assert not report.published and report.version == current and len(report.unchanged) == 5
        assert (report.added, report.updated, report.removed, report.embedded_passages) == ((), (), (), 0)
        assert report.passages == engine.snapshot().size and report.articles == 5
    assert sorted(p.name for p in (data / SNAPSHOTS).iterdir()) == before and current_version(data) == current
    assert fake_embedder.texts_encoded == encoded
    # a setting that shapes the files (here the vector index kind) is a change: a new snapshot
    forced = Engine(engine.settings.with_changes(vector_index="hnsw"), encoders=fake_encoders(fake_embedder))
    report = forced.index()
    assert report.published and report.version > current and report.embedded_passages == 0
    assert set(forced.snapshot().manifest.index_types.values()) == {"hnsw32"}
