"""A cold question: the encoder's model loads on threads of its own while the index opens (and its
tokenizer while the model compiles), with the same vectors as a load in turn, and a failed load
raised where the model is first used."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.cli import CliContext, app
from retrieval import Engine, Settings
from retrieval.encoders.embedding import make_embedder
from retrieval.types import Embedder

from .support import FakeEmbedder, fake_encoders, make_settings


def test_a_question_starts_loading_the_models_and_reading_the_index_does_not(tmp_path: Path):
    embedding, multilingual = FakeEmbedder(), FakeEmbedder(dim=128, name="test/fake-multilingual")
    engine = Engine(make_settings(tmp_path), encoders=fake_encoders(embedding, multilingual))
    with pytest.raises(Exception, match="ragbot index"):
        engine.search("Qui a signé le traité ?")  # no index yet: no model to load for it either
    engine.index()
    assert engine.sources() and engine.stats().passages  # the index alone: no model load
    assert (embedding.preloads, multilingual.preloads) == (0, 0)
    assert Engine(engine.settings, encoders=fake_encoders(embedding, multilingual)).ask("Qui a signé le traité ?")
    assert (embedding.preloads, multilingual.preloads) == (1, 1)
    engine.ask("Et quand ?")  # the version is open: nothing more to start
    assert (embedding.preloads, multilingual.preloads) == (1, 1)


@pytest.mark.parametrize("command", ["ask", "search"])
def test_the_cli_starts_loading_the_models_as_it_opens_the_index(tmp_path: Path, command: str):
    """`ragbot ask` and `search` open the index first (to fail fast without one): the models start
    loading then, not at the first question."""
    embedding, multilingual = FakeEmbedder(), FakeEmbedder(dim=128, name="test/fake-multilingual")
    settings = make_settings(tmp_path)
    Engine(settings, encoders=fake_encoders(embedding, multilingual)).index()
    result = CliRunner().invoke(
        app,
        [command, "--json", "Qui a signé le traité ?"],
        obj=CliContext(settings, fake_encoders(embedding, multilingual)),
    )
    assert result.exit_code == 0, result.output
    assert (embedding.preloads, multilingual.preloads) == (1, 1)


def _exported(settings: Settings) -> Embedder:
    """The default encoder of ``settings``, its model exported (or the session's export reused)."""
    encoder = make_embedder(settings)
    encoder.encode(["export"])
    return encoder


@pytest.mark.slow
def test_a_preloaded_encoder_gives_the_vectors_of_one_loaded_in_turn(tmp_path: Path, model_cache: Path):
    settings = make_settings(tmp_path, model_cache_dir=model_cache)
    in_turn = _exported(settings)
    preloaded = make_embedder(settings)
    preloaded.preload()
    preloaded.preload()  # loading already: nothing more
    texts = ["Who accompanied Putin on the trip?", "Poutine est arrivé à Pyongyang le 18 juin.", "Kim"]
    assert np.array_equal(preloaded.encode_queries(texts), in_turn.encode_queries(texts))
    assert np.array_equal(preloaded.encode(texts), in_turn.encode(texts))
    for mine, theirs in zip(preloaded.token_states(texts), in_turn.token_states(texts), strict=True):
        assert np.array_equal(mine, theirs)
    assert preloaded._single is not None and preloaded._queue is None  # the question model only


def _copy_of_export(model_cache: Path, into: Path, broken: str) -> Path:
    """The session's export, linked file by file into ``into``, with the file ``broken`` garbled."""
    shutil.copytree(model_cache, into, copy_function=os.symlink, ignore=shutil.ignore_patterns("cache", "*.lock"))
    (target,) = into.glob(f"*/openvino-int8/{broken}")
    target.unlink()
    target.write_bytes(b"\x00garbled\xff" * 100)
    return into


@pytest.mark.slow
def test_a_failed_preload_is_raised_by_the_first_use_and_the_next_use_loads_again(tmp_path: Path, model_cache: Path):
    """A garbled tokenizer (it loads on a thread of its own, beside the model) fails the preload
    quietly; the question that waits for it raises the error a load in turn raises, and the next
    question tries again rather than reuse a stale error."""
    _exported(make_settings(tmp_path / "export", model_cache_dir=model_cache))
    cache = _copy_of_export(model_cache, tmp_path / "models", broken="sentencepiece.model")
    settings = make_settings(tmp_path, model_cache_dir=cache)
    with pytest.raises(Exception) as in_turn:
        make_embedder(settings).encode(["x"])
    preloaded = make_embedder(settings)
    preloaded.preload()
    with pytest.raises(type(in_turn.value)) as waited:
        preloaded.encode_queries(["x"])
    assert str(waited.value) == str(in_turn.value)
    with pytest.raises(type(in_turn.value)) as again:
        preloaded.encode_queries(["x"])
    assert str(again.value) == str(in_turn.value)


@pytest.mark.slow
def test_no_preload_before_the_export(tmp_path: Path):
    """Without an export, a preload does nothing: the export (40 s or more, with its notices) runs
    where the model is first needed, and a process ending first (no index) does not wait for it."""
    encoder = make_embedder(make_settings(tmp_path))
    encoder.preload()
    assert encoder._preloading is None and not (tmp_path / "data" / "models").exists()


@pytest.mark.slow
def test_a_damaged_export_is_one_line_naming_the_folder_to_delete(tmp_path: Path, model_cache: Path):
    """A garbled tokenizer in the exported model ended `ragbot ask` with "unexpected error
    (RuntimeError); please report it" and a traceback."""
    _exported(make_settings(tmp_path / "export", model_cache_dir=model_cache))
    cache = _copy_of_export(model_cache, tmp_path / "models", broken="sentencepiece.model")
    Engine(make_settings(tmp_path, model_cache_dir=model_cache)).index()  # built with the sound export
    result = CliRunner().invoke(
        app, ["ask", "Qui a signé le traité ?"], obj=CliContext(make_settings(tmp_path, model_cache_dir=cache))
    )
    assert result.exit_code == 5, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be read" in lines[0] and "openvino-int8" in lines[0], lines
    assert "Traceback" not in result.output + result.stderr
