"""A full build streams: it hands the FAISS store bounded batches of rows, and what it publishes is
what one batch holding every row gives; interrupted mid-way, it leaves the previous version serving.

The real seeds plus small articles written here, the real indexer and store, the deterministic fake
embedder at the model boundary. Memory and time are not asserted (the bench measures them): the
mechanism that bounds them is.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval import Engine, Settings
from retrieval.corpus.prepare import PARALLEL_FROM, WORKER_NICENESS, pool_size, prepared_files
from retrieval.indexer import build_index
from retrieval.stores.faiss import FaissStore
from retrieval.stores.pointer import SNAPSHOTS, TMP_PREFIX, current_version

from .support import SEEDS, FakeEmbedder, fake_encoders, make_settings
from .support import ZANZIBAR as FILLER

QUESTIONS = (
    "Quand le traité de partenariat stratégique a-t-il été signé ?",
    "Que contient l'accord de défense mutuelle ?",
    "Pourquoi les touristes paieront-ils une taxe ?",
)


class RecordingStore(FaissStore):
    """The real FAISS store; each batch its stream receives is counted on the way through."""

    def __init__(self, settings: Settings, batches: list[tuple[int, int]]) -> None:
        super().__init__(settings)
        self.batches = batches

    def stream(self, analyzer: Any, *, index_kind: str, threshold: int) -> Any:
        stream = super().stream(analyzer, index_kind=index_kind, threshold=threshold)
        add, batches = stream.add, self.batches

        def counted(
            articles: Sequence[Any],
            passages: Sequence[Any],
            sentences: Sequence[Any],
            vectors: Mapping[str, np.ndarray],
            file_stats: Any,
        ) -> None:
            batches.append((len(articles), len(passages)))
            add(articles, passages, sentences, vectors, file_stats)

        stream.add = counted  # type: ignore[method-assign]
        return stream


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    """The seeds and 24 short articles (one to three passages each)."""
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    for k in range(24):
        paragraphs = [" ".join(FILLER[(k + j + i) % len(FILLER)] for i in range(3)) for j in range(1 + k % 3)]
        body = "\n\n".join(paragraphs)
        (folder / f"900{k:02d}_court.md").write_text(
            f"---\ntitle: Brève {k}\ndate: 2024-03-{1 + k:02d}\nsource: Test\n---\n{body}\n", encoding="utf-8"
        )
    return folder


def _snapshot_content(settings: Settings) -> dict[str, str]:
    """Each data file of the current snapshot by its bytes (the database by its rows), the manifest
    by what it records of the collection."""
    import json

    folder = settings.data_dir / SNAPSHOTS / str(current_version(settings.data_dir))
    out = {}
    for f in sorted(folder.iterdir()):
        if f.suffix == ".sqlite":
            con = sqlite3.connect(f)
            rows = [
                list(con.execute(f"SELECT * FROM {t} ORDER BY rowid")) for t in ("articles", "passages", "sentences")
            ]
            con.close()
            out[f.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
        elif f.name == "manifest.json":
            m = json.loads(f.read_text(encoding="utf-8"))
            # each article's hash, file, passages and fingerprint (not its file's stat: a file
            # written within the clock tick before the build is not recorded, see RACY_NS)
            entries = {
                a: [e[k] for k in ("sha256", "path", "passages", "fingerprint")] for a, e in m["articles"].items()
            }
            out[f.name] = repr([entries, *(m[k] for k in ("counts", "encoders", "index_types", "chunking"))])
        else:
            out[f.name] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def _answers(settings: Settings) -> list[list[tuple[str, float]]]:
    engine = Engine(settings, encoders=fake_encoders())
    return [[(h.passage.id, round(h.score, 6)) for h in engine.search(q, 8)] for q in QUESTIONS]


@pytest.mark.parametrize("kind", ["auto", "ivf-sq8", "hnsw-sq8"])
def test_a_full_build_hands_the_store_bounded_batches_and_publishes_what_one_batch_gives(
    tmp_path: Path, articles: Path, kind: str
) -> None:
    results = {}
    for batch in (6, 1_000_000):
        settings = make_settings(
            tmp_path / str(batch), articles_dir=articles, vector_index=kind, index_batch_passages=batch
        )
        batches: list[tuple[int, int]] = []
        report = build_index(settings, fake_encoders()(settings), store=RecordingStore(settings, batches))
        assert sum(n for _, n in batches) == report.passages
        # every batch holds at most ``batch`` passages, unless it is one article longer than that
        assert all(n <= batch or a == 1 for a, n in batches), batches
        if batch == 6:
            assert len(batches) > 10 and sum(a for a, n in batches if n > 6) == sum(n > 6 for _, n in batches)
        results[batch] = (_snapshot_content(settings), _answers(settings))
    small, whole = results[6], results[1_000_000]
    assert small[0] == whole[0]  # every file the same, to the byte (the database: its rows)
    assert small[1] == whole[1] and all(small[1])


def test_a_pool_of_workers_builds_what_the_building_process_builds_alone(tmp_path: Path, articles: Path) -> None:
    """Worker processes read, clean and chunk the articles; the building process takes them back in
    file order: the same files, the same errors in the same order, the same answers."""
    (articles / "950_binaire.txt").write_bytes(bytes(range(256)) * 8)
    (articles / "951_vide.md").write_text("  \n", encoding="utf-8")
    shutil.copy(articles / "90003_court.md", articles / "90003_court.txt")  # a second file of one id
    results = {}
    for workers in (1, 2):
        settings = make_settings(
            tmp_path / str(workers),
            articles_dir=articles,
            index_workers=workers,
            index_batch_passages=6,
            vector_index="ivf-sq8",
        )
        report = build_index(settings, fake_encoders()(settings))
        results[workers] = (
            _snapshot_content(settings),
            _answers(settings),
            [str(e) for e in report.errors],
            report.added,
            report.workers,
        )
    alone, pool = results[1], results[2]
    assert (alone[4], pool[4]) == (0, 2)
    assert pool[:4] == alone[:4]
    assert [e.split(":")[0] for e in alone[2]] == ["90003_court.txt", "950_binaire.txt", "951_vide.md"]
    assert not multiprocessing.active_children()  # the workers are gone once the build is done


def test_a_pool_starts_only_for_a_large_folder_unless_asked() -> None:
    assert pool_size(0, 10) == 1 and pool_size(1, 10**6) == 1 and pool_size(3, 10) == 3
    assert pool_size(0, PARALLEL_FROM) == len(os.sched_getaffinity(0))  # one per core (one core: none)


def test_the_workers_ask_for_less_cpu_than_the_building_process(articles: Path) -> None:
    """The building process encodes and writes every batch: on a busy machine it goes first."""
    import time

    from retrieval.options import ChunkSettings

    paths = sorted(articles.iterdir())
    items = prepared_files(paths, max_bytes=1_000_000, chunking=ChunkSettings(), workers=2)
    try:
        assert next(items)  # the pool is running
        lower = min(os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS, 19)  # 19: the lowest
        deadline = time.monotonic() + 30
        while True:  # each worker lowers its priority as it starts
            found = [os.getpriority(os.PRIO_PROCESS, p.pid) for p in multiprocessing.active_children()]
            if (len(found) == 2 and all(n == lower for n in found)) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert found == [lower] * 2
    finally:
        items.close()
    assert not multiprocessing.active_children()


class FailingEmbedder(FakeEmbedder):
    """The fake model, failing from its ``fail_at``-th call on (a model process that dies mid-build)."""

    def __init__(self, fail_at: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail_at = fail_at

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.calls + 1 >= self.fail_at:
            raise RuntimeError("the model process died")
        return super().encode(texts)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_full_build_failing_mid_way_leaves_the_previous_version_serving(
    tmp_path: Path, articles: Path, workers: int
) -> None:
    settings = make_settings(tmp_path, articles_dir=articles, index_batch_passages=6, index_workers=workers)
    build_index(settings, fake_encoders()(settings))
    before, answers = current_version(settings.data_dir), _answers(settings)
    batches: list[tuple[int, int]] = []
    failing = fake_encoders(
        FailingEmbedder(fail_at=12), FailingEmbedder(fail_at=12, dim=128, name="test/fake-multilingual")
    )
    with pytest.raises(RuntimeError, match="died"):
        build_index(settings, failing(settings), rebuild=True, store=RecordingStore(settings, batches))
    assert batches, "the build failed before it wrote any batch: nothing mid-way was tested"
    assert current_version(settings.data_dir) == before  # no switch
    assert not [p for p in (settings.data_dir / SNAPSHOTS).iterdir() if p.name.startswith(TMP_PREFIX)]
    assert not multiprocessing.active_children()  # a pool's workers stopped with the build
    assert _answers(settings) == answers


def test_a_text_met_again_in_a_later_batch_is_not_encoded_again(tmp_path: Path, articles: Path) -> None:
    """The short articles repeat the same sentences from batch to batch: a streaming build encodes
    each distinct text once, as a build in one batch does."""
    encoded = {}
    for batch in (6, 1_000_000):
        settings = make_settings(tmp_path / str(batch), articles_dir=articles, index_batch_passages=batch)
        embedding, multilingual = FakeEmbedder(), FakeEmbedder(dim=128, name="test/fake-multilingual")
        build_index(settings, fake_encoders(embedding, multilingual)(settings))
        encoded[batch] = (embedding.texts_encoded, multilingual.texts_encoded)
        assert _answers(settings)
    assert encoded[6] == encoded[1_000_000]
