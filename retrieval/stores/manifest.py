"""A snapshot's manifest and file layout: what a version holds, checked before anything is trusted.

The manifest lists the encoders, chunking and analyzer a version was built with, each article's
hash, the counts, and a checksum per file; :meth:`Manifest.from_json` refuses anything not well
formed (:class:`~retrieval.errors.IndexCorrupt`). The FAISS store keeps it beside the files it
names; a server store (Milvus) builds the same object from what its server holds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import IndexCorrupt, ModelMismatch
from .bm25 import COUNT_FILES, LEXICAL_FILES, SEGMENT_STEMS

FORMAT_VERSION = 3
READABLE_FORMATS = (2, 3)  # 2: no manifest digest in the folder name, sentence_spans.npy optional
MANIFEST = "manifest.json"
DB_FILE = "passages.sqlite"
DENSE_PREFIX = "dense."
REBUILD = "run `ragbot index` to rebuild it from the articles"
SPANS_FILE = "sentence_spans.npy"  # (passage_row, char_start, char_end) per sentence; also in SQLite
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_MAX_COUNT = 2**40
VOCAB_FILES = ("xling_vocab.json", "xling_vocab.faiss")  # the expansion vocabulary (vocabulary.py)


@dataclass(frozen=True)
class Manifest:
    encoders: dict[str, dict[str, Any]]  # role ("embedding", "multilingual") -> {"model", "dim"}
    analyzer: dict[str, Any]
    chunking: dict[str, Any]
    articles: dict[str, dict[str, Any]]
    counts: dict[str, int]
    created_at: str
    build_seconds: float
    files: dict[str, str] = field(default_factory=dict)
    index_types: dict[str, str] = field(default_factory=dict)
    #: the settings that shape the snapshot beyond encoders, chunking and analyzer (vector index
    #: kind, its threshold, the expansion vocabulary): a build with other values is not a no-op
    index_settings: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def to_json(self) -> str:
        # The fields as they are (asdict would deep-copy every article's entry first), on one line:
        # indenting runs json's pure-Python encoder, 4x slower at 10k articles.
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse and validate a manifest: :class:`IndexCorrupt` for anything not well formed."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise IndexCorrupt(f"the manifest is not valid JSON ({one_line(err)}); {REBUILD}") from None
        if not isinstance(data, dict):
            raise IndexCorrupt(f"the manifest is not a JSON object; {REBUILD}")
        found = data.get("format")
        if type(found) is not int or found not in READABLE_FORMATS:
            raise IndexCorrupt(
                f"the index is in format {one_line(repr(found))[:40]}, this version reads formats "
                f"{READABLE_FORMATS[0]} to {FORMAT_VERSION}: rebuild it with `ragbot index` "
                "(the articles are re-read, nothing is lost)"
            )
        problem = _manifest_problem(data)
        if problem:
            raise IndexCorrupt(f"the manifest is invalid: {problem}; {REBUILD}")
        # Fields with defaults may be absent from manifests written before they existed.
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def dense_names(self) -> list[str]:
        """The vector sets these encoders imply: a passage set per encoder, sentences with the multilingual one."""
        names = [role for role in ("embedding", "multilingual") if role in self.encoders]
        return [*names, "sentences"] if "multilingual" in self.encoders else names

    def file_names(self) -> tuple[set[str], set[str]]:
        """(the files the loader needs, every file it may open) for this manifest."""
        from .segments import TOMBSTONES, database_files, numbered_files, segment_files

        names = self.dense_names()
        need = {DB_FILE, *(f"{DENSE_PREFIX}{name}.faiss" for name in names)}
        if self.format >= 3:
            need.add(SPANS_FILE)
        if self.counts["passages"]:  # an empty collection has no lexical index
            need.update(LEXICAL_FILES[1:])  # the weights (bm25_data.npy): only a fresh build or a merge
        if "multilingual" in self.encoders:
            need.update(VOCAB_FILES)
        # a vector set's later segments, the databases of later writes
        later = {f for name in names for f in segment_files(self.files, name)} | set(database_files(self.files))
        later |= {f for stem, suffix in SEGMENT_STEMS for f in numbered_files(self.files, stem, suffix)}
        return need, need | later | {SPANS_FILE, *LEXICAL_FILES, *COUNT_FILES, *TOMBSTONES.values()}


def check_encoder(manifest: Manifest, role: str, model: str | None, dim: int | None = None) -> None:
    """Refuse to search with an encoder other than the one that built the version (``ModelMismatch``)."""
    built = manifest.encoders.get(role)
    built_model = built["model"] if built else None
    if model != built_model:
        raise ModelMismatch(
            f"the index was built with {role} model {built_model!r}"
            + (f" (dim {built['dim']})" if built else "")
            + f" but the settings ask for {model!r}: rebuild with `ragbot index --rebuild` "
            "or change the settings back"
        )
    if built and dim is not None and dim != built["dim"]:
        raise ModelMismatch(
            f"the index holds {built['dim']}-dimensional {role} vectors but the model gives {dim}: "
            "rebuild with `ragbot index --rebuild`"
        )


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _manifest_problem(data: dict[str, Any]) -> str | None:
    """What is wrong with a parsed manifest, or None: types, ranges, and counts that add up."""

    def count(x: object, lo: int = 0, hi: int = _MAX_COUNT) -> bool:
        return type(x) is int and lo <= x <= hi

    def text(x: object) -> bool:
        return isinstance(x, str)

    for key in ("encoders", "analyzer", "chunking", "articles", "counts", "created_at", "build_seconds", "files"):
        if key not in data:
            return f"{key!r} is missing"
    encoders = data["encoders"]
    if not isinstance(encoders, dict) or not all(
        role in ("embedding", "multilingual")
        and isinstance(e, dict)
        and text(e.get("model"))
        and count(e.get("dim"), 1, 1 << 16)
        for role, e in encoders.items()
    ):
        return "'encoders' must map 'embedding' and 'multilingual' to a model name and a dimension"
    analyzer = data["analyzer"]
    if not isinstance(analyzer, dict) or analyzer.get("language") not in _stemmer_languages():
        return "'analyzer' must name a stemmer language"
    if not isinstance(data["chunking"], dict):
        return "'chunking' must be an object"
    counts = data["counts"]
    if not isinstance(counts, dict) or not all(count(counts.get(k)) for k in ("articles", "passages", "sentences")):
        return "'counts' must hold the numbers of articles, passages and sentences"
    articles = data["articles"]
    if not isinstance(articles, dict) or not all(
        isinstance(a, dict) and text(a.get("sha256")) and text(a.get("path")) and count(a.get("passages"))
        for a in articles.values()
    ):
        return "'articles' must map each article id to its sha256, path and number of passages"
    if len(articles) != counts["articles"] or sum(a["passages"] for a in articles.values()) != counts["passages"]:
        return "the articles do not add up to the counts"
    if not text(data["created_at"]) or type(data["build_seconds"]) not in (int, float):
        return "'created_at' must be a date and 'build_seconds' a number"
    files = data["files"]
    if not isinstance(files, dict) or not all(
        text(name) and _FILE_NAME.fullmatch(name) and name != MANIFEST and text(digest) and _SHA256.fullmatch(digest)
        for name, digest in files.items()
    ):
        return "'files' must map plain file names to sha256 digests"
    index_types = data.get("index_types", {})
    if not isinstance(index_types, dict) or not all(text(v) for v in index_types.values()):
        return "'index_types' must map index names to kinds"
    if not isinstance(data.get("index_settings", {}), dict):
        return "'index_settings' must be an object"
    return None


def _stemmer_languages() -> tuple[str, ...]:
    import Stemmer

    return tuple(Stemmer.algorithms())


def one_line(value: object) -> str:
    """An exception or value as one short line (messages end up on a terminal, one line each)."""
    return " ".join(str(value).split())[:200]
