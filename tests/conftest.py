"""Shared fixtures: the real seeds, a fresh data dir per test, and a deterministic fake embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval import Engine, Settings

from .milvus_server import MilvusLiteServer
from .support import SEEDS, FakeEmbedder, fake_encoders, make_settings


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    """A writable copy of the seeds, for tests that add or break files."""
    target = tmp_path / "articles"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def engine(settings: Settings, fake_embedder: FakeEmbedder) -> Engine:
    """An engine over an index of the real seeds built with the fake embedder."""
    eng = Engine(settings, encoders=fake_encoders(fake_embedder))
    eng.index()
    return eng


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the exported ONNX model, shared by every real-model test (export once)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def real_engine(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Engine:
    """The default real encoder (multilingual-e5-small on OpenVINO int8) over the seeds: built once per session."""
    defaults = Settings(_env_file=None)
    eng = Engine(
        make_settings(
            tmp_path_factory.mktemp("real"),
            abstain_below=defaults.abstain_below,
            abstain_below_cross_lingual=defaults.abstain_below_cross_lingual,
            abstain_below_cross_lingual_tokens=defaults.abstain_below_cross_lingual_tokens,
            model_cache_dir=model_cache,
        )
    )
    eng.index()
    return eng


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory):
    """The real Milvus engine (milvus-lite 2.5.1's server) on a free local port, for the whole session."""
    server = MilvusLiteServer(tmp_path_factory.mktemp("milvus"))
    uri = server.start()
    try:
        yield uri
    finally:
        server.stop()
