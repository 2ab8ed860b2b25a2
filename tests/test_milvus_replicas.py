"""Milvus as the one source of truth, with real processes: several ``ragbot`` replicas (each with its
own, empty data folder) and writers on one real Milvus engine (milvus-lite 2.5.1's server).

Each replica and writer is ``ragbot`` itself in a process of its own (tests/fake_model_cli.py: only
the model is the deterministic fake). A replica is ``ragbot search --json`` reading one question per
line, as a running bot answers one question after another; nothing restarts it between versions.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .milvus_server import MilvusLiteServer
from .support import BRIDGE_ARTICLE, ROOT, SEEDS, TREATY_ARTICLE

TREATY_QUESTION = "aide réciproque en cas d'attaque"
BRIDGE_QUESTION = "pont flottant sur le fleuve Toumen"
#: how long a test waits for one answer before calling it stuck (pymilvus's own retries took ~3.5 min)
ANSWER_PATIENCE = 90.0


def _env(uri: str, prefix: str, data: Path, articles: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    env.update(
        PYTHONPATH=str(ROOT),
        RAGBOT_STORE="milvus",
        RAGBOT_MILVUS_URI=uri,
        RAGBOT_MILVUS_COLLECTION_PREFIX=prefix,
        RAGBOT_DATA_DIR=str(data),
        RAGBOT_ARTICLES_DIR=str(articles),
        # the fake embedder's cosines are on another scale than the model's: no abstention
        RAGBOT_ABSTAIN_BELOW="0",
        RAGBOT_ABSTAIN_BELOW_CROSS_LINGUAL="0",
        RAGBOT_MILVUS_TIMEOUT_SECONDS="5",
    )
    env.update(extra)
    return env


def ragbot(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """One ``ragbot`` command, run to its end."""
    command = [sys.executable, "-m", "tests.fake_model_cli", *args]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tests.fake_model_cli", *args]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Replica:
    """``ragbot search --json -k 5`` running, asked one question at a time."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        command = [sys.executable, "-m", "tests.fake_model_cli", "search", "--json", "-k", "5"]
        self.proc = subprocess.Popen(
            command, env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def ask(self, question: str) -> dict:
        """The JSON line answering ``question`` (an ``error`` key when it could not be answered)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(question + "\n")
        self.proc.stdin.flush()
        try:
            return json.loads(self.lines.get(timeout=ANSWER_PATIENCE))
        except queue.Empty:
            raise AssertionError(f"no answer within {ANSWER_PATIENCE} s: {self.stderr()}") from None

    def articles(self, question: str) -> list[str]:
        answer = self.ask(question)
        assert "error" not in answer, answer
        return [hit["article_id"] for hit in answer["hits"]]

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read() if self.proc.stderr else ""

    def close(self) -> str:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        return self.proc.stderr.read() if self.proc.stderr else ""


@pytest.fixture
def deployment(tmp_path: Path, milvus_uri: str) -> Iterator[dict]:
    """One deployment (its own prefix) on the session's server, with a shared articles folder (the
    writers' input: a volume every machine mounts) and a data folder per machine."""
    articles = tmp_path / "articles"
    articles.mkdir()
    for seed in SEEDS.iterdir():
        (articles / seed.name).write_bytes(seed.read_bytes())
    prefix = f"t{uuid.uuid4().hex[:12]}"
    replicas: list[Replica] = []

    def machine(name: str, **extra: str) -> dict[str, str]:
        return _env(milvus_uri, prefix, tmp_path / name / "data", articles, **extra)

    def replica(name: str) -> Replica:
        replicas.append(Replica(machine(name)))
        return replicas[-1]

    yield {"articles": articles, "prefix": prefix, "machine": machine, "replica": replica, "uri": milvus_uri}
    for r in replicas:
        r.close()


def _client(uri: str):
    from pymilvus import MilvusClient

    return MilvusClient(uri=uri, timeout=30)


def test_three_replicas_with_empty_data_folders_share_one_index(deployment: dict, tmp_path: Path):
    """A indexes; B and C answer at once; B adds an article and A and C answer about it; C removes
    it and A and B stop citing it. Nobody restarts, and no data folder holds anything but caches."""
    machine, replica = deployment["machine"], deployment["replica"]
    done = ragbot(machine("a"), "index", "--json")
    assert done.returncode == 0, done.stderr
    a, b, c = replica("a"), replica("b"), replica("c")
    for r in (a, b, c):
        assert r.articles(TREATY_QUESTION)[0] == TREATY_ARTICLE

    story = tmp_path / "incoming" / "900_pont.md"
    story.parent.mkdir()
    story.write_text(BRIDGE_ARTICLE, encoding="utf-8")
    added = ragbot(machine("b"), "add", "--json", str(story))
    assert added.returncode == 0, added.stderr
    new_id = json.loads(added.stdout)["added"][0]["article_id"]
    assert a.articles(BRIDGE_QUESTION)[0] == new_id
    assert c.articles(BRIDGE_QUESTION)[0] == new_id
    sources = ragbot(machine("a"), "sources", "--json")
    assert new_id in {json.loads(line)["article_id"] for line in sources.stdout.splitlines()}

    removed = ragbot(machine("c"), "remove", new_id)
    assert removed.returncode == 0, removed.stderr
    assert new_id not in a.articles(BRIDGE_QUESTION)
    assert new_id not in b.articles(BRIDGE_QUESTION)
    assert b.articles(TREATY_QUESTION)[0] == TREATY_ARTICLE

    for name in ("a", "b", "c"):  # no index, no pointer: at most the writers' lock file
        folder = tmp_path / name / "data"
        assert not folder.exists() or sorted(p.name for p in folder.rglob("*")) in ([], ["index.lock"])


def test_two_writers_at_once_one_is_refused_and_nothing_is_half_written(deployment: dict):
    """Two `ragbot index --rebuild` started together on two machines: one builds, the other says
    "already running" (exit 7); the version published is whole, and nothing else is left behind."""
    machine, uri, prefix = deployment["machine"], deployment["uri"], deployment["prefix"]
    assert ragbot(machine("a"), "index").returncode == 0
    for _ in range(3):
        writers = [start(machine(name), "index", "--rebuild") for name in ("a", "b")]
        results = [(w.wait(timeout=300), w.stderr.read()) for w in writers]  # type: ignore[union-attr]
        codes = sorted(code for code, _ in results)
        assert codes == [0, 7], results
        refused = next(err for code, err in results if code == 7)
        assert "already running" in refused and refused.count("\n") == 1, refused
        replica = deployment["replica"]("c")
        assert replica.articles(TREATY_QUESTION)[0] == TREATY_ARTICLE
        replica.close()
    stats = json.loads(ragbot(machine("c"), "stats", "--json").stdout)
    collections = _client(uri).list_collections()
    generations = {n for n in collections if n.startswith(f"{prefix}_2") and "_" not in n[len(prefix) + 1 :]}
    assert len(generations) == 4  # the first build and three rebuilds (kept: within their grace period)
    for generation in generations:  # each whole: nothing half-built is left behind
        assert {f"{generation}{s}" for s in ("_sentences", "_articles", "_terms")} <= set(collections)
    assert not [n for n in collections if n.startswith(f"{prefix}_writer_")]  # the lease was given back
    assert stats["passages"] > 0


def test_add_and_remove_on_another_machine_are_refused_while_a_writer_holds_the_lease(deployment: dict, tmp_path: Path):
    """The lease covers every write, not only `index`: while a writer on machine A holds it, `add`
    and `remove` on machine B (its own data folder: no shared lock file) exit 7 in one line and
    change nothing; once A is done, the same `add` succeeds."""
    from retrieval.stores.milvus import MilvusStore

    from .support import make_settings

    machine = deployment["machine"]
    assert ragbot(machine("a"), "index").returncode == 0
    version, files = _version(machine("b")), sorted(deployment["articles"].iterdir())
    story = tmp_path / "incoming" / "900_pont.md"
    story.parent.mkdir()
    story.write_text(BRIDGE_ARTICLE, encoding="utf-8")
    settings = make_settings(
        tmp_path / "a",
        store="milvus",
        milvus_uri=deployment["uri"],
        milvus_collection_prefix=deployment["prefix"],
        articles_dir=deployment["articles"],
    )
    with MilvusStore(settings).lease():  # machine A is writing
        for args in (["add", str(story)], ["remove", TREATY_ARTICLE]):
            refused = ragbot(machine("b"), *args)
            assert refused.returncode == 7, (args, refused.stderr)
            assert "already running" in refused.stderr and refused.stderr.count("\n") == 1, refused.stderr
    assert _version(machine("b")) == version and TREATY_ARTICLE in _sources(machine("b"))
    assert sorted(deployment["articles"].iterdir()) == files  # no file written, none deleted
    assert ragbot(machine("b"), "add", str(story)).returncode == 0


def test_a_writer_killed_mid_write_leaves_readers_answering_and_the_next_one_recovers(deployment: dict, tmp_path: Path):
    """SIGKILL a writer at random moments of its writing (a full rebuild, then an addition of many
    articles): a running replica answers every question, from whole versions only, throughout; the
    lease lapses and the next writer finishes the job."""
    from bench.synth import write as write_articles

    machine, uri, prefix = deployment["machine"], deployment["uri"], deployment["prefix"]
    writer = machine("w", RAGBOT_MILVUS_LEASE_SECONDS="2")
    assert ragbot(writer, "index").returncode == 0
    reader = deployment["replica"]("r")
    extra = tmp_path / "more"
    write_articles(extra, 40)
    rng = random.Random(7)
    client = _client(uri)
    for round_, command in enumerate(["rebuild", "add", "rebuild"]):
        args = ["index", "--rebuild"] if command == "rebuild" else ["add", *sorted(str(p) for p in extra.iterdir())]
        before, known = _version(writer), _sources(writer)
        proc = start(writer, *args)
        while proc.poll() is None and not any(n.startswith(f"{prefix}_writer_") for n in client.list_collections()):
            time.sleep(0.01)
        time.sleep(rng.uniform(0.2, 1.5))  # somewhere in its writing: creating, filling, counting
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        answer = reader.ask(TREATY_QUESTION)
        assert "error" not in answer and len(answer["hits"]) == 5, answer
        if _version(writer) == before:  # killed before it published: the version is still whole and alone
            assert {h["article_id"] for h in answer["hits"]} <= known, answer
        for _ in range(60):  # the lease lapses: the next writer takes over
            again = ragbot(writer, "index")
            if again.returncode != 7:
                break
            time.sleep(0.5)
        assert again.returncode == 0, (round_, again.stderr)
        assert len(reader.articles(TREATY_QUESTION)) == 5
    stats = json.loads(ragbot(writer, "stats", "--json").stdout)
    on_disk = {p.stem for p in deployment["articles"].iterdir()}
    assert _sources(writer) == on_disk and stats["articles"] == len(on_disk)


def _version(env: dict[str, str]) -> str:
    return json.loads(ragbot(env, "stats", "--json").stdout)["version"]


def _sources(env: dict[str, str]) -> set[str]:
    return {json.loads(line)["article_id"] for line in ragbot(env, "sources", "--json").stdout.splitlines()}


def test_a_second_deployment_builds_rebuilds_and_prunes_without_touching_the_first(deployment: dict, tmp_path: Path):
    """Another prefix on the same server, pruning eagerly (one version kept, no grace), and names it
    does not recognise: the first deployment's collections and answers stay exactly as they were."""
    machine, uri = deployment["machine"], deployment["uri"]
    first = machine("one")
    assert ragbot(first, "index").returncode == 0
    reader = deployment["replica"]("one-reader")
    before = reader.ask(TREATY_QUESTION)
    client = _client(uri)
    theirs = sorted(n for n in client.list_collections() if n.startswith(deployment["prefix"]))

    other = f"{deployment['prefix']}x"  # a prefix that starts like the first one's
    stranger = f"{other}_notes"  # a name the second deployment does not recognise as its own
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(stranger, schema=schema)
    articles = tmp_path / "other-articles"
    articles.mkdir()
    for seed in sorted(SEEDS.iterdir())[:3]:
        (articles / seed.name).write_bytes(seed.read_bytes())
    second = _env(
        uri,
        other,
        tmp_path / "two" / "data",
        articles,
        RAGBOT_MILVUS_KEEP_VERSIONS="1",
        RAGBOT_MILVUS_PRUNE_GRACE_SECONDS="0",
    )
    for args in (
        ["index"],
        ["index", "--rebuild"],
        ["index", "--rebuild"],
        ["remove", sorted(articles.iterdir())[0].stem],
    ):
        done = ragbot(second, *args)
        assert done.returncode == 0, done.stderr
    mine = sorted(n for n in client.list_collections() if n.startswith(other))
    assert (
        sorted(n for n in client.list_collections() if n.startswith(deployment["prefix"]) and n not in mine) == theirs
    )
    assert stranger in mine
    assert len([n for n in mine if n != stranger and n != f"{other}_pointer"]) == 4  # one generation
    assert reader.ask(TREATY_QUESTION) == before


def test_the_server_stopped_mid_question_is_one_error_then_answers_again(tmp_path: Path):
    """The server dies (killed) or hangs (stopped): the replica's next question gets one line of
    error within RAGBOT_MILVUS_TIMEOUT_SECONDS (not minutes of retries), its other questions are
    still read, and once the server is back the next question is answered."""
    server = MilvusLiteServer(tmp_path / "server")
    uri = server.start()
    try:
        articles = tmp_path / "articles"
        articles.mkdir()
        for seed in SEEDS.iterdir():
            (articles / seed.name).write_bytes(seed.read_bytes())
        env = _env(uri, "dies", tmp_path / "data", articles, RAGBOT_MILVUS_TIMEOUT_SECONDS="3")
        assert ragbot(env, "index").returncode == 0
        replica = Replica(env)
        expected = replica.ask(TREATY_QUESTION)
        assert "error" not in expected

        server.stop()
        failed = replica.ask(TREATY_QUESTION)
        assert "cannot be reached" in failed["error"] and "\n" not in failed["error"], failed
        server.restart()
        assert replica.ask(TREATY_QUESTION) == expected

        os.kill(server.pid, signal.SIGSTOP)  # hung, not gone: every request waits for its deadline
        try:
            hung = replica.ask(TREATY_QUESTION)
        finally:
            os.kill(server.pid, signal.SIGCONT)
        assert "cannot be reached" in hung["error"], hung
        assert replica.ask(TREATY_QUESTION) == expected
        log = replica.close()
        assert replica.proc.returncode == 0, log
    finally:
        server.stop()


async def test_the_bot_tells_each_chat_the_server_is_down_then_answers_once_it_is_back(tmp_path: Path):
    """The real Telegram Application on a Milvus engine whose server dies: each chat gets one line
    saying the index cannot be reached (no traceback, nobody waits minutes), and once the server
    is back the same chats are answered."""
    from retrieval import Engine

    from .fake_telegram import FakeBotAPI
    from .support import fake_encoders, make_settings
    from .test_telegram import bot_settings, running_bot

    server = MilvusLiteServer(tmp_path / "server")
    uri = server.start()
    try:
        settings = make_settings(tmp_path, store="milvus", milvus_uri=uri, milvus_timeout_seconds=2)
        engine = Engine(settings, encoders=fake_encoders())
        engine.index()
        with FakeBotAPI() as fake:
            async with running_bot(bot_settings(settings, fake), engine, fake):
                server.stop()
                fake.push_message(TREATY_QUESTION, user_id=11)
                fake.push_message("/sources", user_id=12)
                [down] = await fake.wait_for_messages(1, chat_id=11)
                [also_down] = await fake.wait_for_messages(1, chat_id=12)
                server.restart()
                fake.push_message(TREATY_QUESTION, user_id=11)
                [_, answered] = await fake.wait_for_messages(2, chat_id=11)
    finally:
        server.stop()
    # Each in its own language: the French question's, and the (English) account's for /sources.
    assert down["text"] == "L’index des articles est injoignable pour le moment. Réessayez dans un instant."
    assert also_down["text"] == "The article index cannot be reached right now. Please try again in a moment."
    assert "aide réciproque" in answered["text"]


def test_serve_on_a_new_machine_answers_from_the_server_without_building(deployment: dict, tmp_path: Path):
    """`ragbot serve` with an empty data folder, the server holding a version: it never builds (its
    first line would say "no index yet"), and answers at once. BM25 alone: no model to load."""
    from .fake_telegram import DEFAULT_TOKEN, FakeBotAPI
    from .test_serve import serving

    bm25_only = {"RAGBOT_EMBEDDING_MODEL": "none", "RAGBOT_MULTILINGUAL_MODEL": "none"}
    writer = deployment["machine"]("w", **bm25_only)

    def real_ragbot(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "bot", *args]
        return subprocess.run(command, env=writer, cwd=ROOT, capture_output=True, text=True, timeout=300)

    built = real_ragbot("index")
    assert built.returncode == 0, built.stderr
    version = json.loads(real_ragbot("stats", "--json").stdout)["version"]
    with FakeBotAPI() as fake:
        env = deployment["machine"](
            "new", **bm25_only, RAGBOT_TELEGRAM_TOKEN=DEFAULT_TOKEN, RAGBOT_TELEGRAM_API_URL=fake.url
        )
        with serving(tmp_path, env) as (proc, out):
            fake.push_message("/sources", user_id=5)
            deadline = time.monotonic() + ANSWER_PATIENCE
            while not fake.sent_messages(5):
                assert time.monotonic() < deadline and proc.poll() is None, out.text()
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            output = out.text()
    assert "5 articles indexed" in fake.sent_messages(5)[0]["text"]
    assert "no index yet" not in output and "Traceback" not in output, output
    assert json.loads(real_ragbot("stats", "--json").stdout)["version"] == version  # nothing was built
