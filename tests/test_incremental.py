"""Incremental builds on every store backend: what an add, an update or a removal writes, and that
searching the result is searching a full rebuild of the same folder.

The real seeds, the real indexer and stores (Milvus: the session's milvus-lite server), the
deterministic fake embedder at the model boundary.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from retrieval import Engine, Settings
from retrieval.evaluation import load_qa
from retrieval.stores import store_backends

from .support import BRIDGE_ARTICLE, DEV_QA, SEEDS, fake_encoders, make_settings


def _settings(tmp_path: Path, backend: str, request: pytest.FixtureRequest, data: str, articles: Path) -> Settings:
    extra: dict[str, object] = {}
    if backend == "milvus":  # a prefix of its own: never another engine's collections
        extra = {
            "milvus_uri": request.getfixturevalue("milvus_uri"),
            "milvus_collection_prefix": f"t{uuid.uuid4().hex[:12]}",
            # Only the current version kept: the rows earlier ones saw are gone at once, and with them
            # their share of the server's BM25 statistics (a fresh build never had them).
            "milvus_keep_versions": 1,
            "milvus_prune_grace_seconds": 0,
        }
    return make_settings(tmp_path, store=backend, articles_dir=articles, data_dir=tmp_path / data, **extra)


@pytest.fixture(params=sorted(store_backends()))
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    return folder


def _results(engine: Engine) -> list[list[tuple[str, int, int, float]]]:
    """Every dev question's top hits, as what a user sees of them (and their scores)."""
    out = []
    for qa in load_qa(DEV_QA):
        hits = engine.search(qa.question, 5)
        out.append([(h.article.id, h.passage.char_start, h.passage.char_end, round(h.score, 5)) for h in hits])
    return out


def _contents(engine: Engine) -> tuple[list[object], dict[str, list[tuple[int, int]]], list[object]]:
    """The version's articles, each passage's sentences and the passages themselves, by key (not row)."""
    snap = engine.snapshot()
    rows = list(range(snap.size))
    passages = snap.passages(rows)
    sentences = {
        p.id: [tuple(int(x) for x in snap.sentence_spans[j, 1:]) for j in snap.sentence_rows([row])]
        for row, (p, _) in zip(rows, passages, strict=True)
    }
    return sorted(str(a) for a in snap.articles()), sentences, sorted(str(p) for p, _ in passages)


def test_incremental_changes_then_search_equal_a_full_rebuild(
    backend: str, articles: Path, tmp_path: Path, request: pytest.FixtureRequest
):
    engine = Engine(_settings(tmp_path, backend, request, "data", articles), encoders=fake_encoders())
    engine.index()
    seeds = sorted(p.name for p in articles.iterdir())

    # An addition that sorts first, then a removal in the middle and an update.
    (articles / "000_pont.md").write_text(BRIDGE_ARTICLE, encoding="utf-8")
    report = engine.index()
    assert report.added == ("000_pont",) and not report.full_rebuild and report.embedded_passages >= 1
    (articles / seeds[2]).unlink()
    changed = articles / seeds[3]
    changed.write_text(changed.read_text(encoding="utf-8") + "\nUn paragraphe ajouté à la fin de l'article.\n")
    report = engine.index()
    assert report.removed == (Path(seeds[2]).stem,) and report.updated == (Path(seeds[3]).stem,)

    full = Engine(_settings(tmp_path, backend, request, "data-full", articles), encoders=fake_encoders())
    assert full.index(rebuild=True).full_rebuild
    assert engine.snapshot().size == full.snapshot().size
    assert _contents(engine) == _contents(full)
    assert _results(engine) == _results(full)


def test_adding_an_article_keeps_every_row_in_place(
    backend: str, articles: Path, tmp_path: Path, request: pytest.FixtureRequest
):
    """An addition appends: the rows already there stay as they are, so a new version is written
    by adding to the previous one, not by rewriting it."""
    engine = Engine(_settings(tmp_path, backend, request, "data", articles), encoders=fake_encoders())
    engine.index()
    before = engine.snapshot()
    ids = [a.info.id for a in before.articles()]
    rows = {a: before.article_rows(a) for a in ids}
    size = before.size

    (articles / "000_pont.md").write_text(BRIDGE_ARTICLE, encoding="utf-8")
    engine.index()
    after = engine.snapshot()
    assert {a: after.article_rows(a) for a in ids} == rows
    new_rows = after.article_rows("000_pont")
    assert new_rows == list(range(size, after.size))
    assert after.passages(new_rows)[0][0].text.startswith("Les ingénieurs ont achevé")


def test_a_file_is_judged_by_its_stat_then_its_hash(tmp_path: Path, articles: Path):
    """The manifest records each indexed file's stat; a file rewritten to the same size with its
    old mtime put back still counts as changed (its ctime moved, its hash differs)."""
    settings = make_settings(tmp_path, articles_dir=articles)
    time.sleep(0.2)  # files written within the clock tick before a scan are never vouched for by stat
    engine = Engine(settings, encoders=fake_encoders())
    engine.index()
    manifest = json.loads((engine.snapshot().path / "manifest.json").read_text(encoding="utf-8"))
    target = sorted(articles.iterdir())[1]
    entry = manifest["articles"][target.stem]
    st = target.stat()
    assert (entry["size"], entry["mtime_ns"], entry["ctime_ns"], entry["inode"]) == (
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
        st.st_ino,
    )

    raw = target.read_bytes()
    at = raw.rindex(b"e")
    swapped = raw[:at] + b"a" + raw[at + 1 :]  # same size, other content
    assert len(swapped) == len(raw) and swapped != raw
    target.write_bytes(swapped)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    report = engine.index()
    assert report.updated == (target.stem,) and report.published


def test_removing_an_article_renumbers_the_rest_in_order(tmp_path: Path, articles: Path):
    engine = Engine(make_settings(tmp_path, articles_dir=articles), encoders=fake_encoders())
    engine.index()
    before = engine.snapshot()
    ids = [a.info.id for a in before.articles()]
    texts = {a: [p.text for p, _ in before.passages(before.article_rows(a))] for a in ids}
    spans = before.sentence_spans.copy()

    gone = ids[1]
    next(p for p in articles.iterdir() if p.stem == gone).unlink()
    engine.index()
    after = engine.snapshot()
    n_gone = len(texts[gone])
    expected_rows = 0
    for a in ids:
        if a == gone:
            continue
        rows = after.article_rows(a)
        assert rows == list(range(expected_rows, expected_rows + len(texts[a])))
        assert [p.text for p, _ in after.passages(rows)] == texts[a]
        expected_rows += len(rows)
    kept_spans = spans[(spans[:, 0] < before.article_rows(gone)[0]) | (spans[:, 0] > before.article_rows(gone)[-1])]
    kept_spans[:, 0] = np.where(
        kept_spans[:, 0] > before.article_rows(gone)[-1], kept_spans[:, 0] - n_gone, kept_spans[:, 0]
    )
    assert np.array_equal(after.sentence_spans, kept_spans)


def test_milvus_new_collections_copy_the_rows_a_build_keeps(
    articles: Path, tmp_path: Path, request: pytest.FixtureRequest
):
    """A build that keeps rows under other index settings fills a new generation: the kept rows
    are copied from the previous one (text, offsets, article, vectors), and search is unchanged."""
    from retrieval.stores import Build, VectorColumn
    from retrieval.stores.build import Kept

    engine = Engine(_settings(tmp_path, "milvus", request, "data", articles), encoders=fake_encoders())
    engine.index()
    expected = _results(engine)
    previous = engine.store.open_current()
    m = previous.manifest
    vectors = {
        name: VectorColumn(
            dim=m.encoders["multilingual" if name == "sentences" else name]["dim"],
            sources=[],
            fresh=np.zeros((0, m.encoders["multilingual" if name == "sentences" else name]["dim"]), dtype=np.float32),
        )
        for name in m.dense_names()
    }
    rows, sentence_rows = previous.rows_of(m.articles)
    build = Build(
        articles=(),
        passages=(),
        sentences=(),
        vectors=vectors,
        encoders=m.encoders,
        analyzer=m.analyzer,
        chunking=m.chunking,
        expander=previous.expander,
        index_settings={**m.index_settings, "vector_index_threshold": 49_999},
        kept=Kept(rows, sentence_rows, dict(m.articles)),
    )
    version = engine.store.write(build, previous)
    fresh = Engine(engine.settings, encoders=fake_encoders())
    snap = fresh.snapshot()
    assert snap.version == version and snap.collections["passages"] != previous.collections["passages"]
    assert snap.size == previous.size and np.array_equal(snap.sentence_spans, previous.sentence_spans)
    assert [a.info for a in snap.articles()] == [a.info for a in previous.articles()]
    assert _results(fresh) == expected


@pytest.mark.parametrize("kind", ["flat", "ivf-sq8", "hnsw"])
def test_an_addition_extends_the_previous_vector_indexes(tmp_path: Path, articles: Path, kind: str):
    """Only appending rows: the new FAISS indexes are the previous ones plus the new rows (codes,
    inverted lists and graph kept), and the added article is found."""
    engine = Engine(make_settings(tmp_path, articles_dir=articles, vector_index=kind), encoders=fake_encoders())
    engine.index()
    before = engine.snapshot()
    old = {name: before.vector_set(name).vectors(np.arange(len(before.vector_set(name)))) for name in before.dense}

    (articles / "000_pont.md").write_text(BRIDGE_ARTICLE, encoding="utf-8")
    engine.index()
    after = engine.snapshot()
    assert after.manifest.index_types == before.manifest.index_types
    for name, vectors in old.items():
        found = after.vector_set(name)
        assert len(found) > len(vectors)
        assert np.array_equal(found.vectors(np.arange(len(vectors))), vectors)
    assert engine.search("pont flottant sur le fleuve Toumen", 1)[0].article.id == "000_pont"


def test_a_text_met_twice_is_encoded_once(tmp_path: Path):
    """A sentence repeated within an article and across articles (a recurring credit line) is encoded
    once, and every row holding it gets that one vector."""
    from .support import FakeEmbedder

    folder = tmp_path / "articles"
    folder.mkdir()
    shutil.copy(sorted(SEEDS.glob("*.txt"))[0], folder)
    line = "Le ministère a publié ces chiffres lundi soir dans un communiqué."
    for name, place in (("port", "Nampho"), ("rail", "Khasan")):
        paragraphs = [f"Les travaux du port de {place} ont repris au printemps après deux ans d'arrêt. {line}"]
        paragraphs.append(f"Les navires chargés de charbon quittent {place} chaque semaine vers Vladivostok. {line}")
        (folder / f"{name}.txt").write_text(f"Travaux à {place}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    multilingual = FakeEmbedder(dim=128, name="test/fake-multilingual")
    engine = Engine(make_settings(tmp_path, articles_dir=folder), encoders=fake_encoders(multilingual=multilingual))
    engine.index()
    snap = engine.snapshot()
    texts = [snap.article_body(snap.passages([int(p)])[0][1].id)[a:b] for p, a, b in snap.sentence_spans]
    assert texts.count(line) == 4
    assert multilingual.texts_encoded == len(snap.passages(list(range(snap.size)))) + len(set(texts))
    stored = snap.vector_set("sentences").vectors(np.arange(len(texts)))
    repeated = stored[[i for i, t in enumerate(texts) if t == line]]
    np.testing.assert_array_equal(repeated, np.repeat(multilingual.encode([line]), 4, axis=0))
