"""One suite for every registered store backend (``RAGBOT_STORE``), the way haystack and txtai test
all their document stores with one set of tests: a new backend registered in ``ragbot.stores`` is
picked up here with no edit (a server-backed one adds how to reach its server to SERVERS).

Milvus runs for real: the session's milvus-lite 2.5.1 server (tests/milvus_server.py).
"""

from __future__ import annotations

import shutil
import sys
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest

from retrieval import Engine, Settings
from retrieval.evaluation import evaluate, load_qa
from retrieval.registry import STORES
from retrieval.stores import LexicalQuery, SearchBreadth, make_store, store_backends
from retrieval.stores.bm25 import lexical_text

from .support import (
    BRIDGE_ARTICLE,
    DEV_QA,
    ROOT,
    SEEDS,
    TREATY_ARTICLE,
    FakeEmbedder,
    fake_encoders,
    install_package,
    make_settings,
)

HELDOUT_QA = ROOT / "eval" / "heldout_qa.jsonl"


def _milvus(request: pytest.FixtureRequest) -> dict[str, object]:
    # A fresh collection prefix per test: tests share the server, never each other's collections.
    uri = request.getfixturevalue("milvus_uri")
    return {"milvus_uri": uri, "milvus_collection_prefix": f"t{uuid.uuid4().hex[:12]}"}


#: how to reach each server-backed store in the tests
SERVERS = {"milvus": _milvus}


@pytest.fixture(params=sorted(store_backends()))
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    name = request.param
    extra = SERVERS[name](request) if name in SERVERS else {}
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    return make_settings(tmp_path, store=name, articles_dir=articles, **extra)


@pytest.fixture
def store_engine(store_settings: Settings) -> Engine:
    engine = Engine(store_settings, encoders=fake_encoders())
    engine.index()
    return engine


def test_answers_from_the_seeds(store_engine: Engine):
    hits = store_engine.search("aide réciproque en cas d'attaque", 3)
    assert hits[0].article.id == TREATY_ARTICLE and "aide réciproque" in hits[0].passage.text
    assert hits[0].evidence is not None and hits[0].sentence is not None
    body, passage = store_engine.snapshot().article_body(TREATY_ARTICLE), hits[0].passage
    assert body is not None and body[passage.char_start : passage.char_end] == passage.text
    assert [s.info.id for s in store_engine.sources()] == sorted(p.stem for p in SEEDS.iterdir())
    assert store_engine.stats().passages == store_engine.snapshot().size > 0


def test_vector_sets_keep_the_contract(store_engine: Engine):
    snap = store_engine.snapshot()
    m = snap.manifest
    for name, rows in (
        ("embedding", m.counts["passages"]),
        ("multilingual", m.counts["passages"]),
        ("sentences", m.counts["sentences"]),
    ):
        vectors = snap.vector_set(name)
        assert vectors is not None and len(vectors) == rows
        some = np.array([0, rows // 2, rows - 1])
        stored = vectors.vectors(some)
        assert stored.shape == (3, vectors.dim) and np.allclose(np.linalg.norm(stored, axis=1), 1, atol=1e-4)
        query = stored[1:2]
        assert np.allclose(vectors.scores(query, some), stored @ query[0], atol=1e-5)
        top = vectors.top(query, 5, SearchBreadth())
        assert 1 <= len(top) <= 5 and len(set(top.tolist())) == len(top)
        scores = vectors.scores(query, top)
        assert scores[0] == pytest.approx(1.0, abs=1e-4) and np.all(np.diff(scores) <= 1e-5)


def test_lexical_index_keeps_the_contract(store_engine: Engine):
    snap = store_engine.snapshot()
    bm25 = snap.lexical.query(LexicalQuery("traité"))
    top = bm25.top(5)
    texts = [p.text.casefold() for p, _ in snap.passages(top.tolist())]
    assert "traité" in texts[0]
    scores = bm25.scores(top)
    assert scores[0] > 0 and np.all(np.diff(scores[scores > 0]) <= 1e-4)
    # BM25 reads a passage with its article's title (stores.bm25.lexical_text).
    without = [r for r in range(snap.size) if "trait" not in _lexical_text(snap, r).casefold()][:3]
    assert np.all(bm25.scores(np.array(without)) == 0)
    # Expansions weigh less than typed words: "traité" typed beats "traité" as a weak neighbour.
    weak = snap.lexical.query(LexicalQuery("coopération", {"treaty": [("traité", 0.5)]}))
    strong = snap.lexical.query(LexicalQuery("coopération traité"))
    assert weak.scores(top[:1])[0] < strong.scores(top[:1])[0]


def _lexical_text(snap, row: int) -> str:
    passage, info = snap.passages([row])[0]
    return lexical_text(info.title, passage.text)


ORGAN_ARTICLE = """---
title: L'orgue hydraulique de Wonsan
source: Test
---
Les ingénieurs ont achevé l'instrument après trois ans de travaux, sur le port.

Il sera inauguré au printemps, devant les délégations invitées.
"""


def test_bm25_reads_every_passage_with_its_article_s_title(store_engine: Engine):
    """A question names what an article is about ("Quand l'orgue hydraulique sera-t-il inauguré ?"),
    which its passages seldom repeat: each passage is read with its title, added ones too, and the
    title's words count in the collection's frequencies (what the rarity of a question's words reads)."""
    (store_engine.settings.articles_dir / "900_orgue.md").write_text(ORGAN_ARTICLE, encoding="utf-8")
    assert store_engine.index().added == ("900_orgue",)
    snap = store_engine.snapshot()
    rows = [r for r in range(snap.size) if snap.passages([r])[0][0].article_id == "900_orgue"]
    assert rows and all("orgue" not in snap.passages([r])[0][0].text for r in rows)  # in the title only
    bm25 = snap.lexical.query(LexicalQuery("orgue hydraulique"))
    top = bm25.top(len(rows) + 1)
    scores = bm25.scores(top)
    assert sorted(top[scores > 0].tolist()) == rows
    assert snap.lexical.document_frequency("orgu") == len(rows)
    assert store_engine.search("l'orgue hydraulique", 1)[0].article.id == "900_orgue"


def test_a_name_no_article_holds_is_unseen_on_every_backend(store_engine: Engine):
    """A French question naming someone the seeds never mention is about nothing they hold; the
    names they hold are seen. A server backend may not look for close spellings (None), never a
    wrong answer."""
    lexical = store_engine.snapshot().lexical
    assert lexical.spelt_like("stoltenberg") is True
    assert lexical.spelt_like("macron") in (False, None)
    assert store_engine.search("Que pense Stoltenberg de la visite ?", 3)[0].unseen_name is None
    macron = store_engine.search("Que pense Macron de la visite ?", 3)[0].unseen_name
    assert macron == ("Macron" if lexical.spelt_like("macron") is False else None)


def test_add_update_remove_one_article(store_engine: Engine):
    settings = store_engine.settings
    before = store_engine.snapshot()
    (settings.articles_dir / "900_pont.md").write_text(BRIDGE_ARTICLE, encoding="utf-8")
    report = store_engine.index()
    assert report.added == ("900_pont",) and not report.full_rebuild
    new_passages = sum(1 for p, _ in _all_passages(store_engine) if p.article_id == "900_pont")
    assert report.embedded_passages == new_passages > 0
    hits = store_engine.search("pont flottant sur le fleuve", 3)
    assert hits[0].article.id == "900_pont"
    assert store_engine.snapshot().size == before.size + new_passages

    (settings.articles_dir / "900_pont.md").write_text(BRIDGE_ARTICLE.replace("pont flottant", "bac à câble"), "utf-8")
    report = store_engine.index()
    assert report.updated == ("900_pont",)
    assert store_engine.search("bac à câble", 1)[0].article.id == "900_pont"
    assert all("pont flottant" not in h.passage.text for h in store_engine.search("pont flottant", 5))

    store_engine.remove("900_pont")
    assert "900_pont" not in {s.info.id for s in store_engine.sources()}
    assert all(h.article.id != "900_pont" for h in store_engine.search("bac à câble fleuve Toumen", 5))
    assert store_engine.snapshot().size == before.size


def test_adding_from_a_folder_without_the_other_articles_removes_none(store_engine: Engine, tmp_path: Path):
    """Another machine (its own articles folder, holding none of the indexed files) adds one
    article and removes it again: every other article stays. Only `index` applies the folder as
    it is, deletions included."""
    seeds = {s.info.id for s in store_engine.sources()}
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    story = tmp_path / "900_pont.md"
    story.write_text(BRIDGE_ARTICLE, encoding="utf-8")
    other = Engine(store_engine.settings.with_changes(articles_dir=folder), encoders=fake_encoders())
    report, index = other.add([str(story)])
    new_id = report.added[0].article_id
    assert index is not None and index.removed == () and set(index.unchanged) == seeds
    assert {s.info.id for s in store_engine.sources()} == seeds | {new_id}
    assert store_engine.search("pont flottant sur le fleuve", 1)[0].article.id == new_id
    assert other.remove(new_id).removed == (new_id,)
    assert {s.info.id for s in store_engine.sources()} == seeds
    assert other.index().removed == tuple(sorted(seeds))  # the folder as it is: empty


def test_a_full_rebuild_switches_while_the_old_version_answers(store_engine: Engine):
    old = store_engine.snapshot()
    question = "aide réciproque en cas d'attaque"
    expected = [h.passage.id for h in store_engine.search(question, 5)]
    report = store_engine.index(rebuild=True)
    assert report.full_rebuild and report.version != old.version
    assert store_engine.snapshot().version == report.version
    assert [h.passage.id for h in store_engine.search(question, 5)] == expected
    from retrieval.search.hybrid import Searcher

    # A question that started on the old version finishes on it.
    assert [h.passage.id for h in Searcher(old, store_engine.encoders).search(question, 5)] == expected


def test_questions_during_reindexing_all_succeed(store_engine: Engine):
    settings = store_engine.settings
    failures: list[BaseException] = []
    answered = [0]
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                hits = store_engine.search("sanctions contre la Corée du Nord", 3)
                assert hits and all(h.passage.text for h in hits)
                answered[0] += 1
            except BaseException as err:  # the test reports any failure
                failures.append(err)

    thread = threading.Thread(target=ask)
    thread.start()
    try:
        (settings.articles_dir / "900_pont.md").write_text(BRIDGE_ARTICLE, encoding="utf-8")
        store_engine.index()
        store_engine.remove("900_pont")
        store_engine.index(rebuild=True)
    finally:
        stop.set()
        thread.join()
    assert not failures, failures[:1]
    assert answered[0] > 0


def test_a_restarted_process_serves_the_same_version(store_engine: Engine):
    again = Engine(store_engine.settings, encoders=fake_encoders())
    assert again.snapshot().version == store_engine.snapshot().version
    question = "missiles balistiques"
    assert [h.passage.id for h in again.search(question, 5)] == [h.passage.id for h in store_engine.search(question, 5)]
    assert again.index().published is False  # nothing changed: nothing written


def test_an_empty_collection_is_valid(store_settings: Settings, tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    engine = Engine(store_settings.with_changes(articles_dir=empty), encoders=fake_encoders())
    assert engine.index().passages == 0
    assert engine.search("sanctions", 5) == [] and engine.sources() == []


def _all_passages(engine: Engine):
    snap = engine.snapshot()
    return snap.passages(list(range(snap.size)))


# --- parity: the same answers from every backend --------------------------------------------


def _recall_at_5(settings: Settings, qa: Path) -> float:
    engine = Engine(settings, encoders=fake_encoders(FakeEmbedder()))
    engine.index()
    report = evaluate(load_qa(qa), engine.search, engine.answer_hits, k=10)
    return next(r for r in report.rows if r.name == "all").recall_at_5


@pytest.mark.parametrize("qa", [DEV_QA, HELDOUT_QA], ids=["dev", "heldout"])
def test_every_backend_finds_what_faiss_finds(qa: Path, tmp_path: Path, request: pytest.FixtureRequest):
    reference = _recall_at_5(make_settings(tmp_path / "faiss"), qa)
    for name in sorted(set(store_backends()) - {"faiss"}):
        extra = SERVERS[name](request) if name in SERVERS else {}
        other = _recall_at_5(make_settings(tmp_path / name, store=name, **extra), qa)
        assert abs(other - reference) <= 0.02, (name, other, reference)


def test_unknown_store_is_refused_in_one_line():
    from pydantic import ValidationError

    from retrieval.config import settings_error

    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, store="elastic")
    message = settings_error(caught.value)
    assert "RAGBOT_STORE" in message and "faiss" in message and "milvus" in message and "\n" not in message


def test_a_store_from_another_package_is_one_module_and_its_entry_point(tmp_path, monkeypatch):
    """What a new backend takes: a module, and its registration (here an installed package's entry
    point in ``ragbot.stores``); no edit of ragbot. It stores the seeds and answers from them."""
    module = "tiny_ragbot_store"
    install_package(
        tmp_path / "site",
        module,
        """
        from retrieval.stores.faiss import FaissStore


        class TinyStore(FaissStore):
            name = "tiny"
        """,
        f"""
        [{STORES}]
        Tiny = {module}:TinyStore
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    try:
        settings = make_settings(tmp_path, store="tiny")
        engine = Engine(settings, encoders=fake_encoders())
        engine.index()
        assert engine.store.name == "tiny"
        assert engine.search("traité de partenariat stratégique")
    finally:
        sys.modules.pop(module, None)


def test_the_store_is_made_from_the_settings(tmp_path: Path):
    assert make_store(make_settings(tmp_path)).name == "faiss"
    assert make_store(make_settings(tmp_path, store="milvus")).name == "milvus"


# --- Milvus only: what a server store adds ---------------------------------------------------


@pytest.fixture
def milvus_engine(tmp_path: Path, request: pytest.FixtureRequest) -> Engine:
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    settings = make_settings(tmp_path, store="milvus", articles_dir=articles, **_milvus(request))
    engine = Engine(settings, encoders=fake_encoders())
    engine.index()
    return engine


def _client(engine: Engine):
    """A plain pymilvus client on the engine's server, to look at (and break) what ragbot wrote."""
    from pymilvus import MilvusClient

    return MilvusClient(uri=engine.settings.milvus_uri, timeout=30)


def test_milvus_a_half_written_version_is_unseen_then_removed_by_the_next_build(milvus_engine: Engine):
    """What a writer killed mid-write leaves: rows of a version it never published, and rows of the
    current version it marked dead. Readers see neither; the next build removes the first and
    revives the second before writing its own version."""
    from retrieval.stores.milvus import in_filter
    from retrieval.stores.milvus.schema import ALIVE

    snap = milvus_engine.snapshot()
    passages, n = snap.collections["passages"], snap.number
    question = "aide réciproque en cas d'attaque"
    expected = [h.passage.id for h in milvus_engine.search(question, 3)]
    client = _client(milvus_engine)
    fields = ["pk", "born", "died", "passage_id", "article_id", "ordinal", "char_start", "char_end"]
    fields += ["first_sentence", "sentences", "info", "passage", "text", "embedding", "multilingual"]
    treaty = client.query(passages, filter=in_filter("article_id", [TREATY_ARTICLE]), output_fields=fields)
    client.upsert(passages, [{**r, "died": n + 1} for r in treaty])  # marked dead by version n + 1
    ghost = {**treaty[0], "pk": 10**9, "born": n + 1, "died": ALIVE, "passage_id": "ghost#0", "article_id": "ghost"}
    client.insert(passages, [ghost])  # born in version n + 1
    fresh = Engine(milvus_engine.settings, encoders=fake_encoders())
    assert [h.passage.id for h in fresh.search(question, 3)] == expected  # version n, as it was

    report = fresh.index()
    assert report.published is False  # nothing changed in the articles: nothing new to publish
    alive = client.query(passages, filter=f"born <= {n} and died > {n}", output_fields=["count(*)"])
    assert alive[0]["count(*)"] == snap.size
    assert client.query(passages, filter=f"born > {n}", output_fields=["count(*)"])[0]["count(*)"] == 0
    marked = client.query(passages, filter=in_filter("article_id", [TREATY_ARTICLE]), output_fields=["died"])
    assert {r["died"] for r in marked} == {ALIVE}
    assert [h.passage.id for h in fresh.search(question, 3)] == expected


def test_milvus_following_a_version_equals_opening_it_afresh(milvus_engine: Engine):
    """A replica that was on the previous version reads only the rows born or dead since; what it
    ends up with is exactly what a replica opening the version from nothing reads."""
    from retrieval.stores.milvus import MilvusStore

    settings = milvus_engine.settings
    milvus_engine.snapshot()
    (settings.articles_dir / "900_pont.md").write_text(BRIDGE_ARTICLE, encoding="utf-8")
    milvus_engine.index()
    (settings.articles_dir / "900_pont.md").write_text(BRIDGE_ARTICLE.replace("pont", "bac"), "utf-8")
    next(p for p in settings.articles_dir.iterdir() if p.stem == TREATY_ARTICLE).unlink()
    milvus_engine.index()
    followed = milvus_engine.snapshot()
    fresh = MilvusStore(settings).open_current()
    assert followed.version == fresh.version
    assert np.array_equal(followed.rows.pks, fresh.rows.pks)
    assert followed.rows.article_ids.tolist() == fresh.rows.article_ids.tolist()
    assert np.array_equal(followed.sentence_spans, fresh.sentence_spans)
    assert np.array_equal(followed.sentence_keys, fresh.sentence_keys)
    assert TREATY_ARTICLE not in followed.rows.article_ids.tolist()


def test_milvus_the_current_version_never_disappears_while_versions_are_published(milvus_engine: Engine):
    """Readers ask for the current version before every question while a writer publishes: they
    always find one (a record rewritten in place is deleted, then inserted: a reader in between
    found none and answered "no index")."""
    from dataclasses import replace

    store = milvus_engine.store
    record = store.pointer.record()  # type: ignore[attr-defined]
    missing: list[int] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            if store.current_version() is None:
                missing.append(1)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for _ in range(150):
            store.pointer.publish(replace(record, kept=()))  # type: ignore[attr-defined]
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert not missing
    assert store.current_version() == record.version


def test_milvus_a_dropped_collection_is_refused_then_rebuilt(milvus_engine: Engine):
    from retrieval import IndexCorrupt

    collection = milvus_engine.snapshot().collections["passages"]
    _client(milvus_engine).drop_collection(collection)
    fresh = Engine(milvus_engine.settings, encoders=fake_encoders())
    with pytest.raises(IndexCorrupt, match=f"collection {collection} is missing") as caught:
        fresh.search("sanctions", 3)
    assert "\n" not in str(caught.value) and caught.value.exit_code == 4
    report = fresh.index()
    assert report.full_rebuild and fresh.search("aide réciproque en cas d'attaque", 1)[0].article.id == TREATY_ARTICLE


def test_milvus_a_full_rebuild_drops_only_versions_no_longer_kept(milvus_engine: Engine):
    """The current version and the two before it are kept (their generations: four collections
    each); an older one once its grace period is over, never before."""
    prefix = milvus_engine.settings.milvus_collection_prefix
    client = _client(milvus_engine)
    first = milvus_engine.snapshot().collections["passages"]
    for _ in range(4):
        milvus_engine.index(rebuild=True)

    def ours() -> set[str]:
        return {n for n in client.list_collections() if n.startswith(prefix + "_2")}

    assert first in ours() and len(ours()) == 4 * 5  # all five within the grace period
    no_grace = Engine(milvus_engine.settings.with_changes(milvus_prune_grace_seconds=0), encoders=fake_encoders())
    no_grace.index(rebuild=True)
    assert len(ours()) == 4 * 3 and first not in ours()
    assert no_grace.snapshot().collections["passages"] in ours()
    assert {n for n in client.list_collections() if n.startswith(prefix)} - ours() == {f"{prefix}_pointer"}


def test_milvus_an_unreachable_server_is_one_line_without_credentials(tmp_path: Path):
    from retrieval.errors import StoreUnavailable

    from .milvus_server import free_port

    uri = f"http://admin:hunter2secret@127.0.0.1:{free_port()}"
    settings = make_settings(
        tmp_path, store="milvus", milvus_uri=uri, milvus_password="pw-hunter3", milvus_timeout_seconds=1
    )
    engine = Engine(settings, encoders=fake_encoders())
    with pytest.raises(StoreUnavailable) as caught:
        engine.index()
    message = str(caught.value)
    assert "\n" not in message and "127.0.0.1" in message and caught.value.exit_code == 9
    assert "hunter" not in message and "admin" not in message


def test_milvus_an_index_type_the_server_lacks_falls_back(tmp_path: Path, request: pytest.FixtureRequest):
    """IVF_SQ8 (a cluster's choice at scale) is refused by milvus-lite: the build falls back to
    IVF_FLAT and answers; on a server that has it, the first choice stands."""
    settings = make_settings(tmp_path, store="milvus", vector_index="ivf-sq8", **_milvus(request))
    engine = Engine(settings, encoders=fake_encoders())
    engine.index()
    collection = engine.snapshot().collections["passages"]
    index = _client(engine).describe_index(collection, "embedding")
    assert index["index_type"] in ("IVF_SQ8", "IVF_FLAT") and int(index["nlist"]) >= 1
    assert engine.search("aide réciproque en cas d'attaque", 1)[0].article.id == TREATY_ARTICLE


def test_milvus_a_full_build_moves_the_alias_or_says_the_pointer_serves(
    tmp_path: Path, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
):
    """On a cluster the alias ``<prefix>`` follows the current collection after every full build;
    milvus-lite 2.5 has no aliases, so the build says so and readers follow the pointer record,
    which every server has. Either way the new collection is the one that answers."""
    import logging

    settings = make_settings(tmp_path, store="milvus", **_milvus(request))
    engine = Engine(settings, encoders=fake_encoders())
    with caplog.at_level(logging.INFO, logger="retrieval.stores.milvus"):
        engine.index()
        first = engine.snapshot().collections["passages"]
        engine.index(rebuild=True)
    current = engine.snapshot().collections["passages"]
    assert current != first
    try:
        aliased = _client(engine).describe_alias(settings.milvus_collection_prefix).get("collection_name")
    except Exception:  # no such alias: the server has none
        aliased = None
    if aliased is None:
        assert caplog.text.count("has no aliases: readers follow the pointer record only") == 2
    else:
        assert aliased == current
    assert engine.search("aide réciproque en cas d'attaque", 1)[0].article.id == TREATY_ARTICLE


def test_a_store_in_this_process_is_searched_without_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A question's searches on the embedded store run one after the other in the asking thread:
    each takes well under a millisecond on the seeds, and starting threads to overlap them cost more
    than it saved. A server's round trips still overlap (the Milvus test below), and so do those of a
    store that does not say (a plugin written before ``StoreVersion.remote``)."""
    engine = Engine(make_settings(tmp_path), encoders=fake_encoders())
    engine.index()
    assert engine.snapshot().remote is False
    started: list[str] = []
    start = threading.Thread.start

    def recorded(thread: threading.Thread) -> None:
        started.append(thread.name)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", recorded)
    hits = engine.search("aide réciproque en cas d'attaque", 5)
    assert hits[0].article.id == TREATY_ARTICLE
    assert not [name for name in started if name.startswith("ragbot-search")], started
    # A store written before versions said where they run is read as a server's, as all were.
    monkeypatch.delattr(type(engine.snapshot()), "remote")
    assert engine.search("aide réciproque en cas d'attaque", 5) == hits
    assert [name for name in started if name.startswith("ragbot-search")], started


@pytest.fixture
def milvus_proxy(milvus_uri: str):
    from .milvus_proxy import MilvusProxy

    proxy = MilvusProxy(milvus_uri)
    proxy.uri = proxy.start()  # type: ignore[attr-defined]
    yield proxy
    proxy.stop()


def test_milvus_a_question_ships_no_vectors_and_asks_at_once(tmp_path: Path, milvus_proxy):
    """The candidates' cosines are computed on the server (a search restricted to their keys), not
    from their vectors read back; each phase's independent calls overlap. Besides its searches, a
    question reads the pointer's version name, its passages (text, offsets, article), and its
    words' document frequencies: three small reads."""
    settings = make_settings(
        tmp_path, store="milvus", milvus_uri=milvus_proxy.uri, milvus_collection_prefix=f"t{uuid.uuid4().hex[:12]}"
    )
    engine = Engine(settings, encoders=fake_encoders())
    engine.index()
    question = "aide réciproque en cas d'attaque"
    first = engine.search(question, 5)  # opens the version
    milvus_proxy.clear()
    milvus_proxy.arm_overlap()
    again = Engine(settings, encoders=fake_encoders())
    again.snapshot()  # a replica that has opened the version (its row map read once)
    milvus_proxy.clear()
    milvus_proxy.arm_overlap()
    found = again.search(question, 5)
    methods = milvus_proxy.methods()
    assert set(methods) == {"Search", "Query"}, methods
    assert methods.count("Query") <= 3, methods
    assert milvus_proxy.overlapped
    assert [(h.passage.id, h.sentence) for h in found] == [(h.passage.id, h.sentence) for h in first]
    assert first[0].article.id == TREATY_ARTICLE
