"""Writing one FAISS snapshot: its vector segments, databases, tombstones, sentence table and
lexical segments, then the manifest that vouches for them all, then the pointer switch.

The folder is written under a temporary name, fsynced, renamed into place and only then made
current (:mod:`retrieval.stores.pointer`); its name carries the manifest's digest, so the name
vouches for the manifest and the manifest for every other file (:mod:`retrieval.stores.snapshot`
checks both on the way in).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..encoders.embedding import file_sha256
from .bm25 import segment_files as lexical_segment_files
from .faiss_index import IndexChoice, appendable, empty_like, new_index
from .manifest import DB_FILE, MANIFEST, SPANS_FILE, Manifest
from .pointer import (
    DIGEST_CHARS,
    SNAPSHOTS,
    TMP_PREFIX,
    fsync_dir,
    fsync_file,
    prune_snapshots,
    switch_pointer,
    utc_stamp,
)
from .seals import Seals
from .segments import (
    MAX_DEAD_SHARE,
    MAX_SEGMENTS,
    TOMBSTONES,
    database_file,
    database_files,
    live_rows,
    segment_file,
    tombstone_set,
)
from .snapshot_db import merge_db, write_db

if TYPE_CHECKING:
    from ..types import Article, Passage
    from .bm25 import TermCounts
    from .build import Kept
    from .snapshot import Snapshot


class Savable(Protocol):
    def save(self, folder: Path) -> None: ...


@dataclass(frozen=True)
class DenseRows:
    """One vector set of a new snapshot: the ``kept`` first rows are the previous snapshot's, read
    back (``read_kept``) only by a merge (an appending write links the segments holding them as
    they are), then the build's own rows ``added``."""

    kept: int
    added: np.ndarray
    read_kept: Callable[[], np.ndarray]

    def __len__(self) -> int:
        return self.kept + len(self.added)

    def whole(self) -> np.ndarray:
        """Every row's vector, in row order."""
        rows = np.concatenate([self.read_kept(), self.added]) if self.kept else self.added
        return np.ascontiguousarray(rows, dtype=np.float32)


@dataclass(frozen=True)
class LexicalRows:
    """The new snapshot's BM25 index: the counts of the build's own passages (an appending write
    stores them as a segment of their own), or the whole index (a fresh write or a merge)."""

    fresh: Callable[[], TermCounts]
    whole: Callable[[], Savable]


@dataclass(frozen=True)
class SnapshotContent:
    """Everything one snapshot holds, computed by the indexer."""

    articles: Sequence[Article]
    passages: Sequence[Passage]
    sentences: Sequence[tuple[int, int, int]]  # (passage row, char_start, char_end) in article body
    dense: dict[str, DenseRows]  # "embedding" | "multilingual" (per passage) | "sentences" (per sentence)
    encoders: dict[str, dict[str, Any]]
    analyzer: dict[str, Any]
    chunking: dict[str, Any]
    #: None: no passage, no lexical index (BM25 needs a document)
    lexical: LexicalRows | None = None
    extras: Sequence[Savable] = ()
    #: "flat", "ivf-sq8", "hnsw", "hnsw-sq8" or "auto" (exact below ``threshold`` passages, ivf-sq8 above)
    index_kind: str = "auto"
    threshold: int = 50_000
    #: recorded in the manifest as they are (see :attr:`Manifest.index_settings`)
    index_settings: Mapping[str, Any] = field(default_factory=dict)
    #: the previous snapshot's rows this one keeps as they are, ahead of ``passages`` and
    #: ``sentences`` (whose passage rows then count from the first of ``passages``); ``dense``
    #: holds every row. Its database is copied and edited rather than written afresh.
    kept: Kept | None = None
    #: the current snapshot: ``kept`` points into it, and its trained inverted files are reused
    base: Snapshot | None = None
    #: extra manifest fields (the file's size and mtime) of the articles in ``articles``, by id
    file_stats: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def size(self) -> int:
        return len(self.passages) + (len(self.kept.passages) if self.kept is not None else 0)

    def sentence_count(self) -> int:
        return len(self.sentences) + (len(self.kept.sentences) if self.kept is not None else 0)


def write_snapshot(data_dir: Path, content: SnapshotContent, *, build_seconds: float, keep: int = 3) -> str:
    """Write a complete snapshot, make it current, prune old ones; returns its version.

    The version is the build's UTC time and the manifest's digest, so the name vouches for the
    manifest, and the manifest for every other file.
    """
    import faiss

    snapshots = Path(data_dir) / SNAPSHOTS
    snapshots.mkdir(parents=True, exist_ok=True)
    stamp = utc_stamp()
    tmp = snapshots / f"{TMP_PREFIX}{stamp}"
    tmp.mkdir()

    base = content.base
    kept = content.kept if base is not None else None
    if content.kept is not None and kept is None:
        raise ValueError("rows to keep but no previous snapshot")
    choice = IndexChoice(content.index_kind, content.threshold, content.size())
    for name, rows in content.dense.items():
        expected = content.sentence_count() if name == "sentences" else content.size()
        if len(rows) != expected:
            raise ValueError(f"{name}: {len(rows)} vectors for {expected} rows")
    index_types: dict[str, str] = {}
    #: checksums of the files linked from the previous snapshot as they are (not hashed again)
    linked: dict[str, str] = {}
    physical = _physical_rows(content, choice)
    if physical is not None:  # only what changed: a segment, a database, tombstones
        assert base is not None and kept is not None
        for name, rows in content.dense.items():
            index_types[name] = base.manifest.index_types.get(name, "flat")
            linked |= _link(base, tmp, [f for f, _ in base.segments[name]])
            if len(rows.added):
                segment = empty_like(base.dense[name])
                segment.add(np.ascontiguousarray(rows.added, dtype=np.float32))
                faiss.write_index(segment, str(_new_file(tmp / segment_file(name, len(base.segments[name])))))
        for key, file in TOMBSTONES.items():
            dead = _tombstones_after(base, key, physical[key], kept.sentences if key == "sentences" else kept.passages)
            if len(dead):
                np.save(tmp / file, dead, allow_pickle=False)
        databases = database_files(base.manifest.files)
        linked |= _link(base, tmp, databases)
        lexical = base.lexical_segments() or []
        for files in lexical:
            linked |= _link(base, tmp, files)
        if content.passages and content.lexical is not None:
            for name in lexical_segment_files(len(lexical)):
                _new_file(tmp / name)
            content.lexical.fresh().save_segment(tmp, len(lexical))
        if content.articles:
            write_db(
                _new_file(tmp / database_file(len(databases))),
                content.articles,
                content.passages,
                content.sentences,
                first_passage=physical["passages"],
                first_sentence=physical["sentences"],
            )
    else:  # a fresh build, or a merge: one segment per vector set, one database, no tombstone
        if content.lexical is not None:  # first, and let go: it is not held while the vectors are indexed
            content.lexical.whole().save(tmp)
        for name, rows in content.dense.items():
            vectors = rows.whole()
            previous = base.dense.get(name) if base is not None else None
            index, index_types[name] = new_index(name, vectors, choice, previous)
            index.add(vectors)
            faiss.write_index(index, str(tmp / segment_file(name, 0)))
        if kept is not None and base is not None:
            merge_db(
                tmp / DB_FILE,
                [base.path / f for f in database_files(base.manifest.files)],
                base.database_keys("passages")[kept.passages],
                base.database_keys("sentences")[kept.sentences],
                {a: base.database_of(a) for a in kept.articles},
                content.articles,
                content.passages,
                content.sentences,
            )
        else:
            write_db(tmp / DB_FILE, content.articles, content.passages, content.sentences)
    if kept is not None and base is not None:
        spans = _kept_spans(base, kept, content)
    else:
        spans = np.asarray(content.sentences, dtype=np.int64).reshape(-1, 3)
    np.save(tmp / SPANS_FILE, spans, allow_pickle=False)  # loads in milliseconds, unlike 2M SQLite rows
    for extra in content.extras:
        extra.save(tmp)

    counts: dict[str, int] = {}
    for p in content.passages:
        counts[p.article_id] = counts.get(p.article_id, 0) + 1
    articles: dict[str, dict[str, Any]] = {a: dict(entry) for a, entry in (kept.articles if kept else {}).items()}
    for a in content.articles:
        articles[a.id] = manifest_entry(a, counts.get(a.id, 0), content.file_stats)
    manifest = Manifest(
        encoders=content.encoders,
        analyzer=content.analyzer,
        chunking=dict(content.chunking),
        articles=articles,
        index_types=index_types,
        counts={
            "articles": len(articles),
            "passages": content.size(),
            "sentences": content.sentence_count(),
        },
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build_seconds=round(build_seconds, 3),
        index_settings=dict(content.index_settings),
    )
    return publish(Path(data_dir), tmp, stamp, manifest, linked=linked, keep=keep)


def manifest_entry(article: Article, passages: int, file_stats: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """An article's entry in the manifest: its hash, file, passages, and the file's stat."""
    entry = {"sha256": article.content_hash, "path": article.path, "passages": passages}
    return {**entry, **file_stats.get(article.id, {})}


def publish(
    data_dir: Path,
    tmp: Path,
    stamp: str,
    manifest: Manifest,
    *,
    linked: Mapping[str, str] | None = None,
    hashed: Mapping[str, str] | None = None,
    keep: int = 3,
) -> str:
    """Vouch for the snapshot written in ``tmp``: its manifest (every file's checksum: carried over
    for the files ``linked`` from the previous snapshot, taken while writing for the ones in
    ``hashed``, read back for the others), every file fsynced, the folder renamed to its version,
    then made current and the old ones pruned; returns the version."""
    linked = linked or {}
    hashed = hashed or {}
    files = sorted(p.name for p in tmp.iterdir())
    manifest = replace(
        manifest, files={name: linked.get(name) or hashed.get(name) or file_sha256(tmp / name) for name in files}
    )
    raw = manifest.to_json().encode("utf-8")
    (tmp / MANIFEST).write_bytes(raw)
    version = f"{stamp}-{hashlib.sha256(raw).hexdigest()[:DIGEST_CHARS]}"
    seals = Seals(data_dir)  # what was hashed here need not be hashed again when first opened
    for name in [*files, MANIFEST]:
        fsync_file(tmp / name)
        if name not in linked and name != MANIFEST:
            seals.add(tmp / name, manifest.files[name])
    fsync_dir(tmp)
    snapshots = data_dir / SNAPSHOTS
    final = snapshots / version
    os.rename(tmp, final)
    fsync_dir(snapshots)
    seals.save()
    switch_pointer(data_dir, version)
    prune_snapshots(data_dir, keep=keep)
    return version


def _physical_rows(content: SnapshotContent, choice: IndexChoice) -> dict[str, int] | None:
    """The previous snapshot's physical passage and sentence rows (dead ones included), when this
    build may keep its segments and databases as they are and write only what changed: it keeps
    the previous rows it keeps in their order (it always does), the databases' keys are the
    physical rows, every vector set stays of its kind, and neither the segments nor the dead rows
    pass their bound. None: the write merges (one segment, one database, no tombstone)."""
    base, kept = content.base, content.kept
    if base is None or kept is None:
        return None
    physical = {"passages": base.physical_rows("passages"), "sentences": base.physical_rows("sentences")}
    for key, total in physical.items():
        rows = kept.sentences if key == "sentences" else kept.passages
        if total is None or total - len(base.tombstones[key]) != (
            base.sentence_count if key == "sentences" else base.size
        ):
            return None
        if total - len(rows) > MAX_DEAD_SHARE * total:
            return None
    if len(database_files(base.manifest.files)) + 1 > MAX_SEGMENTS:
        return None
    if base.lexical_segments() is None:  # its BM25 rows are not the physical rows: written whole
        return None
    for name, rows in content.dense.items():
        old = base.dense.get(name)
        segments = base.segments.get(name, [])
        if old is None or rows.kept != len(kept.sentences if name == "sentences" else kept.passages):
            return None
        if sum(n for _, n in segments) != physical[tombstone_set(name)]:
            return None
        if len(segments) + (1 if len(rows.added) else 0) > MAX_SEGMENTS:
            return None
        if not appendable(name, old, base.manifest.index_types.get(name, "flat"), len(rows), choice):
            return None
    return physical  # type: ignore[return-value]


def _link(base: Snapshot, tmp: Path, files: list[str]) -> dict[str, str]:
    """Hard-link the previous snapshot's ``files`` into ``tmp`` as they are (they are never written
    again); returns their checksums, carried over (a file system without hard links gets copies,
    hashed as new files)."""
    linked = {}
    for file in files:
        try:
            os.link(base.path / file, tmp / file)
        except OSError:
            shutil.copyfile(base.path / file, tmp / file)
            continue
        linked[file] = base.manifest.files[file]
    return linked


def _new_file(path: Path) -> Path:
    """``path``, checked not to exist: a new file is never written through a link to an old one."""
    if path.exists() or path.is_symlink():
        raise FileExistsError(f"{path.name} already exists in the snapshot being written")
    return path


def _tombstones_after(base: Snapshot, key: str, total: int, kept_rows: np.ndarray) -> np.ndarray:
    """The dead physical rows (of ``total``) once only ``kept_rows`` of the previous snapshot's rows
    stay (new rows come after every physical row: they are all live)."""
    physical = live_rows(total, base.tombstones[key])
    kept_physical = kept_rows if physical is None else physical[kept_rows]
    keep = np.zeros(total, dtype=bool)
    keep[kept_physical] = True
    return np.flatnonzero(~keep).astype(np.int64)


def _kept_spans(base: Snapshot, kept: Kept, content: SnapshotContent) -> np.ndarray:
    """The sentence table: the kept sentences (their passage rows renumbered), then the new ones."""
    old = base.sentence_spans[kept.sentences]
    old[:, 0] = np.searchsorted(kept.passages, old[:, 0])
    new = np.asarray(content.sentences, dtype=np.int64).reshape(-1, 3)
    new[:, 0] += len(kept.passages)
    return np.concatenate([old, new]).astype(np.int64, copy=False)
