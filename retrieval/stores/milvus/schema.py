"""What a deployment keeps on the Milvus server: its collections, their names and their fields.

A deployment (``RAGBOT_MILVUS_COLLECTION_PREFIX``, say ``ragbot``) owns exactly these names:

- ``ragbot_pointer``: the pointer record (the current version, the versions kept, the writer's
  lease heartbeat); one small row each.
- ``ragbot_writer_<n>``: the writer's lease, taken by creating it (see :mod:`.lease`).
- ``ragbot_<stamp>`` and its companions ``…_sentences``, ``…_articles``, ``…_terms``, ``…_words``:
  one *generation*, written by a full build and then edited by incremental ones. Every row of a
  generation carries ``born`` and ``died``, the version numbers between which it is part of the
  index, so every published version stays exactly as it was (see :mod:`.version`).

Nothing else on the server is ever touched: another prefix's collections, and names this
deployment does not recognise, are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...corpus.analysis import Analyzer

KEY_CHARS = 1024
TEXT_BYTES = 65_535
#: ``died`` of a row still part of the current version
ALIVE = 2**62
#: the placeholder vector of collections without vectors (Milvus wants one per collection)
NIL_DIM = 2
NIL = [1.0, 0.0]
#: the companions of a generation's passages collection, by role
COMPANIONS = {"sentences": "_sentences", "articles": "_articles", "terms": "_terms", "words": "_words"}
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}
#: Milvus stop-word lists by Snowball language name (the stemmer takes the same names)
STOP_WORDS = {
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "hungarian",
    "italian",
    "norwegian",
    "portuguese",
    "russian",
    "spanish",
    "swedish",
}


@dataclass(frozen=True)
class Names:
    """The collection names of one deployment (one prefix)."""

    prefix: str

    @property
    def pointer(self) -> str:
        return f"{self.prefix}_pointer"

    def writer(self, n: int) -> str:
        return f"{self.prefix}_writer_{n}"

    def writer_number(self, name: str) -> int | None:
        found = re.fullmatch(rf"{re.escape(self.prefix)}_writer_([0-9]{{1,18}})", name)
        return int(found[1]) if found else None

    def generation(self, stamp: str) -> Generation:
        return Generation(f"{self.prefix}_{stamp}")

    def generation_of(self, name: str) -> str | None:
        """The generation (passages collection name) a collection of this deployment belongs to, or None."""
        roles = "|".join(COMPANIONS.values())
        found = re.fullmatch(rf"({re.escape(self.prefix)}_[0-9]{{8}}T[0-9]{{12}}Z)(?:{roles})?", name)
        return found[1] if found else None


@dataclass(frozen=True)
class Generation:
    """The collections of one generation, named after its passages collection."""

    passages: str

    def collection(self, role: str) -> str:
        return self.passages if role == "passages" else f"{self.passages}{COMPANIONS[role]}"

    def collections(self, roles: Any) -> dict[str, str]:
        return {role: self.collection(role) for role in roles}


def analyzer_params(analyzer: Analyzer) -> dict[str, Any]:
    """The server-side analyzer, in the order of :class:`~retrieval.corpus.analysis.Analyzer`: lowercase,
    stop words (the server's list for the language and ragbot's own), accent folding, stemmer."""
    stop = sorted(analyzer.stop_words())
    if analyzer.language in STOP_WORDS:
        stop.append(f"_{analyzer.language}_")
    filters: list[Any] = [
        "lowercase",
        {"type": "stop", "stop_words": stop},
        "asciifolding",
        {"type": "stemmer", "language": analyzer.language},
    ]
    return {"tokenizer": "standard", "filter": filters}


def server_text(text: str) -> str:
    """Text as the server's analyzer should see it: elisions split (l’accord -> l accord) as
    ragbot's analyzer splits them; the standard tokenizer keeps them whole."""
    return text.replace("’", " ").replace("'", " ")


def cut(text: str, limit: int = TEXT_BYTES) -> str:
    """At most ``limit`` bytes of UTF-8, cut on a character boundary."""
    raw = text.encode("utf-8")
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", "ignore")


def fits(text: str) -> bool:
    return len(text.encode("utf-8")) <= TEXT_BYTES


def schema(role: str, dims: dict[str, int], analyzer: Analyzer | None = None) -> Any:
    """The fields of a generation's collection ``role`` (see the module docstring)."""
    from pymilvus import DataType, Function, FunctionType

    s = client_class().create_schema(auto_id=False)
    s.add_field("pk", DataType.INT64, is_primary=True)
    s.add_field("born", DataType.INT64)
    s.add_field("died", DataType.INT64)
    if role == "passages":
        for name in ("passage_id", "article_id"):
            s.add_field(name, DataType.VARCHAR, max_length=KEY_CHARS)
        for name in ("ordinal", "char_start", "char_end", "first_sentence"):
            s.add_field(name, DataType.INT64)
        s.add_field("sentences", DataType.VARCHAR, max_length=TEXT_BYTES)  # [[start, end], ...] as JSON
        s.add_field("info", DataType.VARCHAR, max_length=TEXT_BYTES)  # the article's title, date... as JSON
        s.add_field("passage", DataType.VARCHAR, max_length=TEXT_BYTES)  # the text as it is
        analysis = analyzer_params(analyzer or Analyzer("french"))
        s.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES, enable_analyzer=True, analyzer_params=analysis)
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(
            Function(
                name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]
            )
        )
        for name in ("embedding", "multilingual"):
            if name in dims:
                s.add_field(name, DataType.FLOAT_VECTOR, dim=dims[name])
    elif role == "sentences":
        s.add_field("passage", DataType.INT64)  # the passage's pk
        s.add_field("article_id", DataType.VARCHAR, max_length=KEY_CHARS)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=dims["sentences"])
    elif role == "articles":
        s.add_field("article_id", DataType.VARCHAR, max_length=KEY_CHARS)
        s.add_field("part", DataType.INT64)  # 0: the entry and info; 0, 1, ...: the body, in pieces
        s.add_field("info", DataType.VARCHAR, max_length=TEXT_BYTES)
        s.add_field("entry", DataType.VARCHAR, max_length=TEXT_BYTES)  # the manifest entry, as JSON
        s.add_field("body", DataType.VARCHAR, max_length=TEXT_BYTES)
        s.add_field("nil", DataType.FLOAT_VECTOR, dim=NIL_DIM)
    elif role == "terms":
        s.add_field("term", DataType.VARCHAR, max_length=KEY_CHARS)
        s.add_field("df", DataType.INT64)
        s.add_field("nil", DataType.FLOAT_VECTOR, dim=NIL_DIM)
    elif role == "words":
        s.add_field("word", DataType.VARCHAR, max_length=KEY_CHARS)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=dims["words"])
    else:
        raise ValueError(f"unknown collection role {role!r}")
    return s


def vector_fields(role: str, dims: dict[str, int]) -> list[str]:
    """The dense vector fields of collection ``role`` (each needs an index before the collection loads)."""
    if role == "passages":
        return [name for name in ("embedding", "multilingual") if name in dims]
    return ["vector"] if role in ("sentences", "words") else ["nil"]


def pointer_schema() -> Any:
    from pymilvus import DataType

    s = client_class().create_schema(auto_id=False)
    s.add_field("key", DataType.VARCHAR, max_length=64, is_primary=True)
    s.add_field("version", DataType.VARCHAR, max_length=256)
    s.add_field("value", DataType.VARCHAR, max_length=TEXT_BYTES)
    s.add_field("nil", DataType.FLOAT_VECTOR, dim=NIL_DIM)
    return s


def term_key(term: str) -> str:
    """The key a term is stored under (a term too long for a key is stored by its hash)."""
    if len(term.encode("utf-8")) < KEY_CHARS // 2:
        return term
    import hashlib

    return "#" + hashlib.sha256(term.encode("utf-8")).hexdigest()


def index_params(field: str, kind: str, metric: str, params: dict[str, Any] | None = None) -> Any:
    spec = client_class().prepare_index_params()
    spec.add_index(field_name=field, index_type=kind, metric_type=metric, params=params or {})
    return spec


def client_class() -> Any:
    from .client import import_pymilvus

    return import_pymilvus().MilvusClient
