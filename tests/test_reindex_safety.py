"""Re-indexing never loses the index: SIGKILL at random moments, hot swaps under load, the lock,
incremental bookkeeping, and hostile bytes and names at the loader's door.

Real code throughout (loader, chunker, FAISS, SQLite, snapshot writer, CLI); the only fake is the
model, at its process boundary (``tests.support.FakeEmbedder``). No timing assertions: sleeps only
choose *when* to kill a process, and waits for other threads have generous time-outs that fail loudly.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from retrieval import BadArticle, Engine, Settings, load_articles, open_current, parse_article
from retrieval.corpus.ingest import Library
from retrieval.indexer import build_index
from retrieval.lock import IndexBusy, index_lock
from retrieval.options import ChunkSettings
from retrieval.stores.pointer import POINTER, SNAPSHOTS, TMP_PREFIX, current_version
from retrieval.stores.snapshot import Snapshot

from .support import ROOT, SEEDS, TREATY_ARTICLE, FakeEmbedder, fake_encoders, make_settings

MUTUAL_AID_QUESTION = "aide réciproque en cas d'attaque contre une des parties"
WAIT = 60.0  # seconds before a wait for another thread or process is declared hung (never reached when healthy)


def _clean_env() -> dict[str, str]:
    """This process's environment without RAGBOT_* settings (a developer's shell must not leak in)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}


def _snapshot_dirs(data_dir: Path) -> tuple[list[str], list[str]]:
    """(complete snapshot names, unfinished ``.tmp-*`` names) under ``data/snapshots``, sorted."""
    folder = data_dir / SNAPSHOTS
    names = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    return [n for n in names if not n.startswith(TMP_PREFIX)], [n for n in names if n.startswith(TMP_PREFIX)]


class GatedEmbedder(FakeEmbedder):
    """The fake embedder with a gate, saying when a caller has reached it (so a test knows a build is held)."""

    def __init__(self, gate: threading.Event, **kwargs) -> None:
        super().__init__(gate=gate, **kwargs)
        self.waiting = threading.Event()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.waiting.set()
        return super().encode(texts)


def in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """Start ``fn`` in a thread; the list receives its result or the exception it raised."""
    outcome: list[object] = []

    def target() -> None:
        try:
            outcome.append(fn())
        except Exception as err:
            outcome.append(err)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def gated_encoders(gate: threading.Event) -> tuple[Callable[[Settings], object], GatedEmbedder]:
    """A factory whose two encoders (same names and sizes as ``fake_encoders()``) wait for ``gate``."""
    first = GatedEmbedder(gate)
    return fake_encoders(first, GatedEmbedder(gate, dim=128, name="test/fake-multilingual")), first


# =====================================================================================
# 1. SIGKILL at many moments of a real build in another process
# =====================================================================================

EXTRA_ARTICLES = 150
KILLS = 24
EXTRA_KILLS_FOR_A_LEFTOVER = 10
PEOPLE = [
    "Aurélie Vasseur",
    "Tomasz Wierzba",
    "Leïla Haddad",
    "Jonas Eklund",
    "Mariana Quintela",
    "Kofi Mensah",
    "Hélène Marchetti",
    "Ivo Brankov",
]
PLACES = ["Tallinn", "Gdańsk", "Saint-Malo", "Trieste", "Bergen", "Valence", "Tampere", "Porto"]


def generate_articles(folder: Path, n: int, seed: int) -> None:
    """``n`` more articles made of the seeds' paragraphs, shuffled, with other numbers, names and places."""
    rng = random.Random(seed)
    pool = [
        para.strip()
        for path in sorted(SEEDS.glob("*.txt"))
        for para in path.read_text(encoding="utf-8").split("\n\n")
        if len(para.strip()) > 80
    ]
    for i in range(n):
        person, place = rng.choice(PEOPLE), rng.choice(PLACES)
        paragraphs = [
            re.sub(r"\d+", lambda _m: str(rng.randint(1, 2000)), p) for p in rng.sample(pool, rng.randint(6, 12))
        ]
        paragraphs.insert(rng.randint(0, len(paragraphs)), f"{person} a suivi l'affaire depuis {place}.")
        text = "\n\n".join(
            [
                f"Dépêche {i} de {place} : {person} fait le point",
                f"Par {person}",
                f"{rng.randint(1, 28)} juin 2024",
                *paragraphs,
                f"Cette dépêche numéro {i} a été rédigée à {place}.",
            ]
        )
        (folder / f"gen_{i:03d}.txt").write_text(text + "\n", encoding="utf-8")


class IndexerRun:
    """``python -m tests.indexer_process`` running, with when it said ``embedded`` and when it ended."""

    def __init__(self, data_dir: Path, articles_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.started = time.perf_counter()
        self.lines: list[str] = []
        self.embedded_at: float | None = None
        self.embedded = threading.Event()
        self._log = open(log, "w", encoding="utf-8")  # noqa: SIM115 - closed in finish()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.indexer_process", str(data_dir), str(articles_dir)],
            cwd=ROOT,
            env=_clean_env(),
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip() == "embedded":
                self.embedded_at = time.perf_counter()
                self.embedded.set()
            self.lines.append(line.strip())
        self.embedded.set()  # also on exit, so nobody waits for a line that will never come

    def wait_for_unfinished_snapshot(self) -> float | None:
        """Poll until a ``.tmp-*`` snapshot folder exists (the writing phase); when, or None if it exited first."""
        snapshots = self.data_dir / SNAPSHOTS
        while self.proc.poll() is None:
            if snapshots.is_dir() and any(n.startswith(TMP_PREFIX) for n in os.listdir(snapshots)):
                return time.perf_counter()
            time.sleep(0.0005)
        return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)

    def finish(self) -> tuple[int, float]:
        """Wait for the end; (exit code, seconds since start)."""
        code = self.proc.wait(timeout=WAIT)
        ended = time.perf_counter()
        self._reader.join(timeout=WAIT)
        self._log.close()
        return code, ended - self.started

    @property
    def done(self) -> bool:
        return any(line.startswith("done ") for line in self.lines)


@dataclass
class CrashTally:
    kills: int = 0
    survived: int = 0
    finished_first: int = 0  # the build had already ended when the signal came
    before_switch: int = 0  # killed mid-build: CURRENT still names the previous snapshot
    while_writing: int = 0  # ... of which after the vectors were computed (lexical, vocabulary, snapshot files)
    after_switch: int = 0  # a new complete snapshot had become current
    left_unfinished: int = 0  # the killed build left a .tmp-* folder behind
    cleaned: int = 0  # .tmp-* folders the final build found and removed
    renamed_not_current: int = 0  # killed between the rename and the pointer switch
    modes: dict[str, int] = field(default_factory=dict)

    def line(self, build_seconds: float) -> str:
        return (
            f"crash-safety: {self.kills} SIGKILLs, {self.survived} survived (checksums verified, search answered); "
            f"{self.before_switch} mid-build (pointer not yet switched; {self.while_writing} of them after embedding), "
            f"{self.after_switch} after the switch ({self.finished_first} after the build had ended); "
            f"{self.left_unfinished} left a .tmp-* folder, {self.renamed_not_current} renamed-not-current; "
            f"{self.cleaned} leftover(s) removed by the next normal build; "
            f"kill points {self.modes}; one build ~{build_seconds:.1f}s"
        )


def _check_after_kill(data_dir: Path, settings: Settings, previous: str, reference: Snapshot) -> str:
    """Everything a reader needs still holds; returns the current version."""
    version = current_version(data_dir)
    assert version is not None, "CURRENT vanished"
    complete, _ = _snapshot_dirs(data_dir)
    assert version in complete, f"CURRENT names {version!r}, not a complete snapshot folder: {complete}"
    assert (data_dir / SNAPSHOTS / version).is_dir()
    snap = open_current(data_dir)  # verifies the sha256 of every file the manifest lists
    try:
        assert snap.version == version
        if version != previous:
            assert version > previous, "the pointer moved back to an older snapshot"
        # previous or new, it is a whole snapshot of the same articles: same files, same counts
        assert set(snap.manifest.files) == set(reference.manifest.files)
        assert snap.manifest.counts == reference.manifest.counts
        assert snap.manifest.articles == reference.manifest.articles
        assert snap.dense["embedding"].ntotal == snap.size == reference.size
    finally:
        snap.close()
    hits = Engine(settings, encoders=fake_encoders()).search(MUTUAL_AID_QUESTION, k=5)
    # (fewer than 5 is fine: the generated articles repeat the seeds' paragraphs, and search drops near-duplicates)
    assert hits and "aide réciproque" in hits[0].passage.text
    assert all(h.article.id in reference.manifest.articles for h in hits)
    return version


def test_sigkill_at_any_moment_leaves_a_loadable_current_snapshot(tmp_path: Path, articles_dir: Path):
    generate_articles(articles_dir, EXTRA_ARTICLES, seed=20240618)
    data_dir = tmp_path / "data"
    settings = make_settings(tmp_path, articles_dir=articles_dir)
    log = tmp_path / "indexer.log"

    # Baseline: one whole build in a process of its own; it also says how long the phases last.
    run = IndexerRun(data_dir, articles_dir, log)
    tmp_seen = run.wait_for_unfinished_snapshot()
    code, build_seconds = run.finish()
    assert code == 0 and run.done, log.read_text()
    assert run.embedded_at is not None
    tail_seconds = run.started + build_seconds - run.embedded_at
    write_seconds = (run.started + build_seconds - tmp_seen) if tmp_seen else 0.1
    reference = open_current(data_dir)
    assert reference.manifest.counts["articles"] == 5 + EXTRA_ARTICLES  # every generated article is indexable
    baseline_version = reference.version
    assert run.lines[-1] == f"done {baseline_version} {reference.size}"

    rng = random.Random(1234)
    tally = CrashTally()
    previous = baseline_version

    def one_kill(mode: str) -> None:
        nonlocal previous
        complete_before, unfinished_before = (set(names) for names in _snapshot_dirs(data_dir))
        run = IndexerRun(data_dir, articles_dir, log)
        if mode == "anywhere":  # uniform over the whole run, imports included
            time.sleep(rng.uniform(0, build_seconds))
        elif mode == "after-embedding":  # lexical index, expansion vocabulary, snapshot writing
            run.embedded.wait(timeout=WAIT)
            time.sleep(rng.uniform(0, tail_seconds))
        else:  # "writing": once the .tmp-* folder exists
            run.wait_for_unfinished_snapshot()
            time.sleep(rng.uniform(0, write_seconds))
        run.kill()
        code, _ = run.finish()
        assert code in (0, -signal.SIGKILL), log.read_text()
        tally.kills += 1
        tally.modes[mode] = tally.modes.get(mode, 0) + 1
        complete, unfinished = _snapshot_dirs(data_dir)
        version = _check_after_kill(data_dir, settings, previous, reference)
        if code == 0:
            assert run.done and run.lines[-1].split()[1] == version, "a finished build is not current"
            tally.finished_first += 1
        if version == previous:
            tally.before_switch += 1
            tally.while_writing += "embedded" in run.lines
        else:
            tally.after_switch += 1
        tally.left_unfinished += bool(set(unfinished) - unfinished_before)
        tally.renamed_not_current += any(name > version for name in set(complete) - complete_before)
        tally.survived += 1
        previous = version

    modes = ["anywhere", "after-embedding", "writing"]
    for i in range(KILLS):
        one_kill(modes[i % len(modes)])
    # The final build must have something to clean up: a few more kills in the writing phase if need be.
    for _ in range(EXTRA_KILLS_FOR_A_LEFTOVER):
        if _snapshot_dirs(data_dir)[1]:
            break
        one_kill("writing")

    assert tally.before_switch >= 1, "no kill landed mid-build: the test proved nothing"
    assert tally.survived == tally.kills

    # A normal build afterwards: the lock was not left held by the killed processes, leftovers are
    # removed under it, old snapshots are pruned, and, nothing having changed, the surviving snapshot
    # stays current as it is.
    leftovers = _snapshot_dirs(data_dir)[1]
    survivor = current_version(data_dir)
    report = build_index(settings, fake_encoders()(settings))
    complete, unfinished = _snapshot_dirs(data_dir)
    assert unfinished == [], f"{unfinished} survived the next build (had {leftovers})"
    tally.cleaned = len(leftovers)
    print()
    print(tally.line(build_seconds))
    assert not (data_dir / f"{POINTER}.tmp").exists()
    assert len(complete) <= 3 and survivor == report.version == current_version(data_dir) and survivor in complete
    assert not report.published and not report.full_rebuild and report.embedded_passages == 0
    assert len(report.unchanged) == 5 + EXTRA_ARTICLES
    for name in complete:  # any of them could be rolled back to
        Snapshot(data_dir / SNAPSHOTS / name).close()
    reference.close()


# =====================================================================================
# 2. Hot swap under concurrent questions
# =====================================================================================

LIGHTHOUSE_QUESTION = "Que sait-on du phare flottant de Kerlouan ?"
ARTICLE_X = "zz_phare_kerlouan_inauguration"
ARTICLE_Y = "zz_phare_kerlouan_demenagement"
TEXTS = {
    ARTICLE_X: (
        "Le phare flottant de Kerlouan inauguré devant les marins\n\n"
        "Par Maëlle Guivarch\n\n"
        "Le phare flottant de Kerlouan, une barge lumineuse ancrée au large du Finistère, a été inauguré "
        "samedi devant trois cents marins et pêcheurs venus de toute la côte des Légendes.\n\n"
        "Selon la préfecture maritime, le phare flottant de Kerlouan remplace une bouée sonore installée en 1962 "
        "et signalera désormais les récifs de Meneham aux navires de plaisance.\n"
    ),
    ARTICLE_Y: (
        "Le phare flottant de Kerlouan remorqué vers Ouessant\n\n"
        "Par Erwan Le Goff\n\n"
        "Le phare flottant de Kerlouan a été remorqué mardi vers Ouessant après une tempête qui a arraché "
        "deux de ses ancres, a indiqué la capitainerie de Brest.\n\n"
        "Les techniciens estiment que le phare flottant de Kerlouan restera au port de Lampaul jusqu'au printemps, "
        "le temps de remplacer sa chaîne et son feu à éclats.\n"
    ),
}
QUERY_THREADS = 6
CLEAN_QUERIES = 2 * QUERY_THREADS  # queries each phase must see complete before the test moves on
SWAPS = 6


class QueryLoad:
    """Threads asking questions without pause; every result checked, every failure kept.

    The main thread announces phases. A query that starts and ends inside one phase ("clean") is
    checked against what that phase guarantees: after a re-index returned, the new version; while
    a build is held before writing anything, the old one.
    """

    def __init__(self, engine: Engine, bodies: dict[str, str]) -> None:
        self.engine = engine
        self.bodies = bodies
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.seen: dict[str, int] = {}  # "X" / "Y" -> results that showed it
        self._cond = threading.Condition()
        self._phase = 0
        self._expect: str | None = None  # "X" or "Y" for clean queries of this phase; None: either
        self._clean = 0
        self.total = 0
        self.threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(QUERY_THREADS)]

    def phase(self, expect: str | None) -> None:
        with self._cond:
            self._phase += 1
            self._expect = expect
            self._clean = 0

    def wait_clean(self, n: int = CLEAN_QUERIES) -> None:
        with self._cond:
            ok = self._cond.wait_for(lambda: self._clean >= n or bool(self.failures), timeout=WAIT)
        assert ok, f"query threads stalled ({self.total} queries so far)"
        assert not self.failures, self.failures[0]

    def _which(self, article_ids: set[str]) -> str | None:
        has_x, has_y = ARTICLE_X in article_ids, ARTICLE_Y in article_ids
        if has_x and has_y:
            raise AssertionError(f"one result mixes two snapshot versions: {sorted(article_ids)}")
        return "X" if has_x else "Y" if has_y else None

    def _loop(self, n: int) -> None:
        for i in itertools.count():
            if self.stop.is_set():
                return
            with self._cond:
                phase, expect = self._phase, self._expect
            try:
                if (i + n) % 2:
                    hits = self.engine.search(LIGHTHOUSE_QUESTION, k=8)
                    for h in hits:
                        assert h.passage.text in self.bodies[h.article.id], f"{h.passage.id} is not in its article"
                    ids = {h.article.id for h in hits}
                    which = self._which(ids)
                    assert which is not None, f"the question matched neither version's article: {sorted(ids)}"
                else:
                    answer = self.engine.ask(LIGHTHOUSE_QUESTION)
                    assert not answer.abstained and answer.citations
                    for c in answer.citations:
                        assert c.quote in self.bodies[c.article.id]
                    which = self._which({c.article.id for c in answer.citations})
            except Exception:
                with self._cond:
                    self.failures.append(traceback.format_exc())
                    self._cond.notify_all()
                return
            with self._cond:
                self.total += 1
                if which:
                    self.seen[which] = self.seen.get(which, 0) + 1
                if phase == self._phase:
                    if expect is not None and which is not None and which != expect:
                        self.failures.append(f"phase {phase} guarantees version {expect}, a query saw {which}")
                    self._clean += 1
                    self._cond.notify_all()


def _write(articles: Path, article_id: str) -> None:
    (articles / f"{article_id}.txt").write_text(TEXTS[article_id], encoding="utf-8")


def test_hot_swap_under_concurrent_questions(tmp_path: Path, articles_dir: Path):
    settings = make_settings(tmp_path, articles_dir=articles_dir)
    engine = Engine(settings, encoders=fake_encoders())
    _write(articles_dir, ARTICLE_X)
    engine.index()
    bodies = {a.id: a.body for a in load_articles(articles_dir).articles}
    bodies[ARTICLE_Y] = parse_article(TEXTS[ARTICLE_Y].encode(), Path(f"{ARTICLE_Y}.txt")).body
    load = QueryLoad(engine, bodies)
    load.phase("X")
    for t in load.threads:
        t.start()
    try:
        load.wait_clean()
        state, versions = "X", [engine.snapshot().version]
        for swap in range(SWAPS):
            old_id, new_id = (ARTICLE_X, ARTICLE_Y) if state == "X" else (ARTICLE_Y, ARTICLE_X)
            new_state = "Y" if state == "X" else "X"
            _write(articles_dir, new_id)
            if swap == 2:
                # Another indexer (as another process would) held mid-build: questions keep being served,
                # from the old version, since nothing is written before the vectors are computed.
                gate = threading.Event()
                factory, gated = gated_encoders(gate)
                (articles_dir / f"{old_id}.txt").unlink()
                load.phase(None)
                builder, result = in_thread(Engine(settings, encoders=factory).index)
                assert gated.waiting.wait(timeout=WAIT), "the build never reached the encoder"
                load.phase(state)
                load.wait_clean()
                load.phase(None)
                gate.set()
                builder.join(timeout=WAIT)
                assert not builder.is_alive() and len(result) == 1
                report = result[0]
                assert not isinstance(report, Exception), report
            else:
                load.phase(None)  # during the re-index either version may answer
                # one version swaps the articles: the folder edited by hand, then one re-index under
                # the lock (`ragbot remove` would re-index only the article it removes)
                (articles_dir / f"{old_id}.txt").unlink()
                report = engine.index()
            assert report.added == (new_id,) and report.removed == (old_id,) and not report.full_rebuild
            load.phase(new_state)  # from now on, any question that starts must see the new version
            load.wait_clean()
            state = new_state
            versions.append(report.version)
    finally:
        load.stop.set()
        for t in load.threads:
            t.join(timeout=WAIT)
    assert not load.failures, load.failures[0]
    assert len(set(versions)) == SWAPS + 1
    assert load.seen.get("X", 0) >= CLEAN_QUERIES and load.seen.get("Y", 0) >= CLEAN_QUERIES
    print(f"\nhot-swap: {load.total} questions over {SWAPS} swaps, 0 errors, versions seen {load.seen}")


# =====================================================================================
# 3. One indexer at a time
# =====================================================================================


def test_second_index_add_or_remove_fail_at_once_while_a_build_is_running(tmp_path: Path, articles_dir: Path):
    gate = threading.Event()
    gate.set()
    factory, gated = gated_encoders(gate)
    settings = make_settings(tmp_path, articles_dir=articles_dir)
    engine = Engine(settings, encoders=factory)
    first = engine.index().version

    gate.clear()
    gated.waiting.clear()
    builder, outcome = in_thread(lambda: engine.index(rebuild=True))
    try:
        assert gated.waiting.wait(timeout=WAIT), "the build never reached the encoder"
        new_file = tmp_path / "nouvelle.txt"
        new_file.write_text("Un titre\n\nUn article tout neuf sur la fête des lanternes de Plougrescant.\n")
        before = sorted(p.name for p in articles_dir.iterdir())
        # The gate is still closed: each of these can only return by raising, without waiting for it.
        with pytest.raises(IndexBusy, match="already running"):
            engine.index()
        with pytest.raises(IndexBusy):
            engine.add([str(new_file)])
        with pytest.raises(IndexBusy):
            engine.remove(TREATY_ARTICLE)
        with pytest.raises(IndexBusy):  # another engine on the same data (e.g. the bot beside the CLI)
            Engine(settings, encoders=fake_encoders()).index()
        assert not gate.is_set() and builder.is_alive()
        assert sorted(p.name for p in articles_dir.iterdir()) == before  # nothing added or removed
    finally:
        gate.set()
        builder.join(timeout=WAIT)
    assert len(outcome) == 1 and not isinstance(outcome[0], Exception), outcome
    assert outcome[0].version > first and current_version(settings.data_dir) == outcome[0].version
    # the lock is free again
    assert engine.remove(TREATY_ARTICLE).removed == (TREATY_ARTICLE,)


def test_cli_index_fails_with_exit_7_while_another_process_holds_the_lock(tmp_path: Path, articles_dir: Path):
    data_dir = tmp_path / "data"
    env = {**_clean_env(), "RAGBOT_DATA_DIR": str(data_dir), "RAGBOT_ARTICLES_DIR": str(articles_dir)}
    with index_lock(data_dir):
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "index"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
    assert proc.returncode == 7, proc.stderr
    assert "already running" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert not (data_dir / SNAPSHOTS).exists()  # it stopped before writing anything


# =====================================================================================
# 4. Incremental re-index: exactly what changed is re-embedded
# =====================================================================================

NEW_ARTICLE = "005_lanternes_plougrescant"
CHANGED_ARTICLE = "002_3620be85bbcd42ef"
DELETED_ARTICLE = "004_34fdb793e7d525a8"
NEW_TEXT = """La fête des lanternes de Plougrescant bat son record

Par Gwenaëlle Kerbrat

12 mars 2025

Samedi soir, la fête des lanternes de Plougrescant a rassemblé 4 312 lanternes flottantes sur l'estuaire \
du Jaudy, un record selon le comité organisateur, qui en attendait à peine deux mille.

Le maire, Yannick Le Berre, a annoncé que la prochaine édition aurait lieu en octobre, avec des lanternes \
fabriquées en papier de chanvre recyclé par les écoliers de la commune.
"""
LANTERN_QUESTION = "Combien de lanternes flottantes sur le Jaudy à Plougrescant ?"
ADDED_PARAGRAPH = (
    "\n\nMise à jour : selon un communiqué publié dans la soirée, les deux délégations se retrouveront "
    "l'an prochain pour un nouveau cycle de discussions techniques.\n"
)


def _assert_vectors_are_the_encoders(snap: Snapshot) -> None:
    """Every row of every dense index holds the encoder's vector of that row's text (reuse kept rows aligned)."""
    found = snap.passages(list(range(snap.size)))
    passages = [p for p, _ in found]
    texts = [ChunkSettings().embedding_text(p, a.title) for p, a in found]  # titles embedded with passages
    assert np.allclose(snap.dense["embedding"].reconstruct_n(0, snap.size), FakeEmbedder().encode(texts), atol=1e-6)
    multilingual = FakeEmbedder(dim=128, name="test/fake-multilingual")
    assert np.allclose(snap.dense["multilingual"].reconstruct_n(0, snap.size), multilingual.encode(texts), atol=1e-6)
    bodies = {p.article_id: snap.article_body(p.article_id) for p in passages}
    sentences = [bodies[passages[row].article_id][start:end] for row, start, end in snap.sentence_spans]
    stored = snap.dense["sentences"].reconstruct_n(0, len(sentences))
    assert np.allclose(stored, multilingual.encode(sentences), atol=1e-6)


def test_incremental_reindex_counts_and_reuses_exactly(tmp_path: Path, articles_dir: Path):
    embedder = FakeEmbedder()
    settings = make_settings(tmp_path, articles_dir=articles_dir)
    factory = fake_encoders(embedder)
    engine = Engine(settings, encoders=factory)
    first = engine.index()
    seeds = tuple(sorted(p.stem for p in SEEDS.glob("*.txt")))
    assert first.added == seeds and first.full_rebuild and first.embedded_passages == first.passages
    deleted_title = next(s.info.title for s in engine.sources() if s.info.id == DELETED_ARTICLE)
    assert engine.search(deleted_title, k=3)[0].article.id == DELETED_ARTICLE  # findable while it exists

    (articles_dir / f"{NEW_ARTICLE}.txt").write_text(NEW_TEXT, encoding="utf-8")
    changed = articles_dir / f"{CHANGED_ARTICLE}.txt"
    changed.write_text(changed.read_text(encoding="utf-8").rstrip("\n") + ADDED_PARAGRAPH, encoding="utf-8")
    (articles_dir / f"{DELETED_ARTICLE}.txt").unlink()

    encoded_before = embedder.texts_encoded
    report = engine.index()
    snap = engine.snapshot()
    per_article = {aid: a["passages"] for aid, a in snap.manifest.articles.items()}
    assert report.added == (NEW_ARTICLE,)
    assert report.updated == (CHANGED_ARTICLE,)
    assert report.removed == (DELETED_ARTICLE,)
    assert set(report.unchanged) == set(seeds) - {CHANGED_ARTICLE, DELETED_ARTICLE} and len(report.unchanged) == 3
    assert not report.full_rebuild and report.errors == ()
    assert report.embedded_passages == per_article[NEW_ARTICLE] + per_article[CHANGED_ARTICLE]
    assert embedder.texts_encoded - encoded_before == report.embedded_passages  # the model saw nothing else
    assert report.passages == sum(per_article.values()) == snap.size
    assert report.articles == 5 and DELETED_ARTICLE not in per_article
    _assert_vectors_are_the_encoders(snap)

    hits = engine.search(LANTERN_QUESTION, k=5)
    assert hits[0].article.id == NEW_ARTICLE and "4 312 lanternes" in hits[0].passage.text
    assert engine.ask(LANTERN_QUESTION).citations[0].article.id == NEW_ARTICLE
    assert "nouveau cycle de discussions" in engine.snapshot().article_body(CHANGED_ARTICLE)
    for question in (deleted_title, LANTERN_QUESTION, MUTUAL_AID_QUESTION, "satellite militaire espion"):
        assert all(h.article.id != DELETED_ARTICLE for h in engine.search(question, k=10))
    assert DELETED_ARTICLE not in {s.info.id for s in engine.sources()}

    # nothing changed: nothing embedded
    encoded_before = embedder.texts_encoded
    again = engine.index()
    assert (again.added, again.updated, again.removed) == ((), (), ())
    assert len(again.unchanged) == 5 and again.embedded_passages == 0 and not again.full_rebuild
    assert embedder.texts_encoded == encoded_before

    # --rebuild: no comparison with the previous snapshot, every article is reported as added
    rebuilt = engine.index(rebuild=True)
    assert rebuilt.full_rebuild and rebuilt.added == tuple(sorted(per_article))
    assert (rebuilt.updated, rebuilt.removed, rebuilt.unchanged) == ((), (), ())
    assert rebuilt.embedded_passages == rebuilt.passages == report.passages
    _assert_vectors_are_the_encoders(engine.snapshot())

    # other chunk settings cannot reuse vectors of other passages: a full rebuild, without being asked
    smaller = Engine(settings.with_changes(chunk_max_chars=400), encoders=factory)
    resized = smaller.index()
    assert resized.full_rebuild and resized.added == tuple(sorted(per_article))
    assert resized.embedded_passages == resized.passages > report.passages
    assert smaller.snapshot().manifest.chunking["max_chars"] == 400
    assert smaller.search(LANTERN_QUESTION, k=1)[0].article.id == NEW_ARTICLE
    again = smaller.index()
    assert not again.full_rebuild and again.embedded_passages == 0  # and stable once rebuilt


# =====================================================================================
# 5. Hostile bytes and names
# =====================================================================================

raw_articles = st.one_of(
    st.binary(max_size=4096),
    st.text(max_size=2000).map(lambda t: t.encode("utf-8")),
    st.text(st.characters(max_codepoint=0xFF), max_size=2000).map(lambda t: t.encode("latin-1")),
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(raw=raw_articles, suffix=st.sampled_from([".txt", ".md", ".html"]))
def test_any_bytes_either_parse_or_are_a_bad_article(raw: bytes, suffix: str):
    try:
        article = parse_article(raw, Path(f"x{suffix}"))
    except BadArticle as err:
        assert err.reason
        return
    assert article.id == "x" and article.body.strip()
    assert article.content_hash == hashlib.sha256(raw).hexdigest()


def test_markdown_front_matter_with_an_impossible_date_loads_without_the_date(articles_dir: Path):
    (articles_dir / "zz_front_matter.md").write_text("---\ndate: 2024-13-45\n---\nUn texte assez long.\n")
    (articles_dir / "zz_feb.md").write_text("---\ndate: 2024-02-30\ntitle: Février\n---\nUn autre texte.\n")
    loaded = load_articles(articles_dir)  # was: ValueError out of PyYAML broke every build
    assert loaded.errors == () and len(loaded.articles) == 7
    dates = {a.id: a.info.date for a in loaded.articles}
    assert dates["zz_front_matter"] is None and dates["zz_feb"] is None


def test_two_files_with_the_same_id_do_not_break_the_index(tmp_path: Path, articles_dir: Path):
    (articles_dir / f"{TREATY_ARTICLE}.md").write_text("Un autre texte\n\nAvec le même nom de fichier.\n")
    report = Engine(make_settings(tmp_path, articles_dir=articles_dir), encoders=fake_encoders()).index()
    assert report.articles == 5 and len(report.errors) == 1  # was: sqlite3.IntegrityError on every build
    assert "same article id" in str(report.errors[0])


NAME_PIECES = ["../", "..", "/", "\\", "..\\", "\x00", ".", "~", "/etc/", "sandbox/", "articles/", " ", "é", "\n"]
upload_names = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda parts, suffix: "".join(parts) + suffix,
        st.lists(st.one_of(st.sampled_from(NAME_PIECES), st.text(max_size=6)), max_size=8),
        st.sampled_from([".txt", ".md", ".html", ".TXT", ".txt.", ".txt/", ".", ""]),
    ),
)


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=upload_names, text=st.text(max_size=200))
def test_uploaded_names_never_write_outside_the_articles_folder(tmp_path: Path, name: str, text: str):
    sandbox = tmp_path / "sandbox"
    folder = sandbox / "deep" / "er" / "articles"
    shutil.rmtree(sandbox, ignore_errors=True)
    around = sorted(tmp_path.parent.iterdir())  # the other tests' folders, one level above this one
    folder.mkdir(parents=True)
    existing = folder / "article.txt"  # what an all-unsafe name falls back to: must never be overwritten
    existing.write_text("Déjà là\n\nUn article qui était déjà dans le dossier.\n", encoding="utf-8")
    raw = f"Titre téléversé\n\n{text}\n\nUn paragraphe assez long pour faire un article, numéro {name!r}.\n".encode()

    try:
        added = Library(folder, max_bytes=10_000).add_bytes(name, raw)
    except BadArticle:
        added = None

    files = sorted(p for p in tmp_path.rglob("*") if not p.is_dir())
    assert all(p.parent == folder for p in files), f"{name!r} wrote {files}"
    assert sorted(tmp_path.parent.iterdir()) == around and [p.name for p in tmp_path.iterdir()] == ["sandbox"]
    assert existing.read_text(encoding="utf-8").startswith("Déjà là")
    if added is None:
        assert files == [existing]
        return
    assert added.file == Path(added.file).name and not added.file.startswith(".") and "\x00" not in added.file
    assert sorted(files) == sorted([existing, folder / added.file])
    assert (folder / added.file).read_bytes() == raw
