"""Admins add and remove articles: every input is validated, de-duplicated and written safely.

A file, a URL or uploaded bytes becomes one article file inside the articles folder,
written under a sanitised name with a temporary file and ``os.replace`` (never half a
file). Anything refused says why, per input, and nothing else is lost.

Adding is two steps so that slow work never holds the index lock: :meth:`Library.prepare`
reads files and downloads URLs, then parses, cleans and chunks each candidate exactly as
the indexer will (nothing written); :meth:`Library.commit`, under the lock, only drops
duplicates of what the folder holds by then and writes.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BadArticle, RagbotError
from ..options import ChunkSettings, FetchSettings
from ..types import Article
from .articles import (
    HTML_SUFFIXES,
    SUPPORTED_SUFFIXES,
    article_names,
    content_hash,
    file_stem,
    iter_article_files,
    parse_article,
    read_regular_file,
)
from .chunking import chunk_article
from .fetch import ARTICLE_TYPES, Page, display_url, fetch
from .plaintext import decode

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
MAX_NAME = 80
#: what a version's manifest records of each article file's stat when it was indexed (as git's index)
STAT_FIELDS = ("size", "mtime_ns", "ctime_ns", "inode")

#: what the current version knows of each article file, by article id: its manifest entry
#: ("path", "sha256", the file's stat in STAT_FIELDS, and "fingerprint", its :func:`body_fingerprint`)
Known = Mapping[str, Mapping[str, Any]]


class UnknownArticle(RagbotError):
    exit_code = 8


@dataclass(frozen=True)
class Added:
    source: str
    article_id: str
    file: str
    title: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """An input read, parsed and checked, ready to be written (nothing is written yet)."""

    source: str
    filename: str
    data: bytes  # exactly what the file will hold
    article: Article
    fingerprint: str


@dataclass(frozen=True)
class AddReport:
    added: tuple[Added, ...]
    refused: tuple[BadArticle, ...]


def body_fingerprint(article: Article) -> str:
    """Identity of an article's content, whatever its file format or whitespace."""
    return hashlib.sha256(" ".join(article.body.split()).casefold().encode()).hexdigest()


def file_stat(st: os.stat_result) -> dict[str, int]:
    """The fields of a file's stat that a manifest records (see STAT_FIELDS)."""
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "inode": st.st_ino}


def safe_name(name: str, suffix: str) -> str:
    """A file name that stays inside the folder: no directories, no NUL, no leading dot."""
    if "\x00" in name:
        raise BadArticle("upload", "file name contains a NUL byte; refused")
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem = base[: -len(suffix)] if base.lower().endswith(suffix) else base
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = _SAFE_NAME.sub("_", stem).strip("._-")[:MAX_NAME]
    return f"{stem or 'article'}{suffix}"


class Library:
    """The articles folder, as admins change it."""

    def __init__(
        self,
        folder: Path,
        *,
        max_bytes: int,
        fetching: FetchSettings | None = None,
        chunking: ChunkSettings | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.fetching = fetching or FetchSettings(max_bytes=max_bytes)
        self.chunking = chunking or ChunkSettings()

    def fingerprints(self, known: Known | None = None, names: Sequence[str] | None = None) -> dict[str, str]:
        """Content fingerprint → file name of every readable article in the folder.

        ``known``: the current version's manifest entries. A file it recorded is not parsed
        again: when its stat is the one recorded it is not even read, else its bytes are
        hashed and, when they are the ones indexed, the recorded fingerprint stands. Only
        a new or changed file (or one indexed before fingerprints were recorded) is parsed.
        ``names``: the folder's listing (:func:`article_names`), when the caller has it.
        """
        out: dict[str, str] = {}
        if names is None:
            names = self._names()
        for name in names:
            entry = known.get(file_stem(name)) if known is not None else None
            if entry is not None and (entry.get("path") != name or not isinstance(entry.get("fingerprint"), str)):
                entry = None  # another file of that id, or no fingerprint recorded: parsed
            try:
                if entry is not None and self._same_stat(os.path.join(self.folder, name), entry):
                    out[entry["fingerprint"]] = name
                    continue
                path = self.folder / name
                raw = read_regular_file(path, max_bytes=self.max_bytes)
                if entry is not None and content_hash(raw) == entry.get("sha256"):
                    out[entry["fingerprint"]] = path.name
                    continue
                out[body_fingerprint(parse_article(raw, path))] = path.name
            except BadArticle:
                continue
        return out

    def _same_stat(self, path: str, entry: Mapping[str, Any]) -> bool:
        """Whether ``path`` is, by its stat, the regular file ``entry`` recorded (and not over the limit)."""
        try:
            st = os.lstat(path)
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode) or st.st_size > self.max_bytes:
            return False
        seen = file_stat(st)
        return all(entry.get(k) == seen[k] for k in STAT_FIELDS)

    def add_paths(self, sources: list[str]) -> AddReport:
        """Add files or http(s) URLs; each is refused or added on its own."""
        return self.commit(self.prepare(sources))

    def add_bytes(self, name: str, raw: bytes) -> Added:
        """Add uploaded content (e.g. a Telegram document) under a sanitised version of ``name``."""
        return self.commit_one(self.prepare_bytes(name, raw))

    def prepare(self, sources: Sequence[str]) -> list[Candidate | BadArticle]:
        """Read or download every input and check it fully; no lock needed, nothing written."""
        out: list[Candidate | BadArticle] = []
        for source in sources:
            url = bool(_URL_LIKE.match(source))
            try:
                out.append(self._prepare_url(source) if url else self._prepare_file(source))
            except BadArticle as err:  # named as typed (`/no/such/story.txt`, not `story.txt`)
                out.append(BadArticle(display_url(source) if url else source.replace("\x00", "\\0"), err.reason))
        return out

    def prepare_bytes(self, name: str, raw: bytes, *, source: str | None = None) -> Candidate:
        """Check uploaded content as the indexer will read it; :class:`BadArticle` if it would be refused."""
        suffix = Path(name.replace("\x00", "")).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise BadArticle(
                Path(name.replace("\x00", "") or "upload"),
                f"unsupported file type {suffix or '(none)'!r}; use .txt, .md or .html",
            )
        filename = safe_name(name, suffix)
        if len(raw) > self.max_bytes:
            raise BadArticle(Path(filename), f"too large ({len(raw)} bytes; the limit is {self.max_bytes})")
        article = parse_article(raw, Path(filename))  # the same reading the indexer does: refuse now, not later
        data = article_bytes(article, raw)  # Latin-1 stored as UTF-8: the same body, so the same checks
        if not chunk_article(article, self.chunking):
            raise BadArticle(Path(filename), "no passages to index")
        return Candidate(
            source=source if source is not None else name,
            filename=filename,
            data=data,
            article=article,
            fingerprint=body_fingerprint(article),
        )

    def commit(self, prepared: Sequence[Candidate | BadArticle], *, known: Known | None = None) -> AddReport:
        """Write the candidates that are not duplicates (call under the index lock; ``known``: the
        current version's manifest entries, see :meth:`fingerprints`)."""
        added: list[Added] = []
        refused: list[BadArticle] = []
        names = self._names()  # one listing of the folder, no path objects: cheap at 100k files
        fingerprints, taken = self.fingerprints(known, names), {file_stem(n) for n in names}
        for item in prepared:
            if isinstance(item, BadArticle):
                refused.append(item)
                continue
            try:
                added.append(self._write(item, fingerprints, taken))
            except BadArticle as err:
                refused.append(err)
        return AddReport(tuple(added), tuple(refused))

    def commit_one(self, candidate: Candidate, *, known: Known | None = None) -> Added:
        """:meth:`commit` for one candidate: its :class:`BadArticle` is raised."""
        names = self._names()
        return self._write(candidate, self.fingerprints(known, names), {file_stem(n) for n in names})

    def remove(self, article_id: str, *, known: Known | None = None) -> Path:
        """Delete the file of ``article_id`` (its file stem); :class:`UnknownArticle` if there is none.

        ``known``: the current version's manifest entries. An article it records is looked for by
        its recorded file name and the supported suffixes, without listing the folder."""
        if not article_id or article_id != Path(article_id).name or article_id.startswith(".") or "\x00" in article_id:
            raise UnknownArticle(f"{article_id!r} is not an article id (ids are file stems, e.g. 001_58e8c327b5777ef9)")
        entry = known.get(article_id) if known is not None else None
        matches = []
        if entry is not None and self.folder.is_dir():
            names = {entry.get("path"), *(f"{article_id}{suffix}" for suffix in SUPPORTED_SUFFIXES)}
            matches = [
                self.folder / name
                for name in sorted(n for n in names if isinstance(n, str) and Path(n).stem == article_id)
                if _listed(self.folder / name)
            ]
        if not matches and self.folder.is_dir():
            matches = [p for p in iter_article_files(self.folder) if p.stem == article_id]
        if not matches:
            raise UnknownArticle(f"no article {article_id!r} in {self.folder} (`ragbot sources` lists them)")
        for path in matches:
            path.unlink()
        return matches[0]

    def _prepare_file(self, source: str) -> Candidate:
        if "\x00" in source:
            raise BadArticle(source.replace("\x00", "\\0"), "path contains a NUL byte; refused")
        path = Path(source)
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise BadArticle(path, f"unsupported file type {path.suffix or '(none)'!r}; use .txt, .md or .html")
        # Never through a symlink, never a FIFO or device: `add evil.txt` must not copy /etc/passwd.
        return self.prepare_bytes(path.name, read_regular_file(path, max_bytes=self.max_bytes), source=source)

    def _prepare_url(self, url: str) -> Candidate:
        page = fetch(url, self.fetching)
        name, data = page_file(page, display_url(url))
        return self.prepare_bytes(name, data, source=display_url(url))

    def _write(self, candidate: Candidate, known: dict[str, str], taken: set[str]) -> Added:
        if candidate.fingerprint in known:
            raise BadArticle(candidate.source, f"duplicate of {known[candidate.fingerprint]} (same text); not added")
        target = self._free_name(candidate.filename, taken)
        tmp = target.with_name(f".{target.name}.part")
        with open(tmp, "wb") as fh:
            fh.write(candidate.data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        known[candidate.fingerprint] = target.name
        article = candidate.article
        return Added(
            source=candidate.source,
            article_id=target.stem,
            file=target.name,
            title=article.info.title,
            warnings=article.warnings,
        )

    def _names(self) -> list[str]:
        """The folder's listing (none yet: a first article creates the folder)."""
        return article_names(self.folder) if self.folder.is_dir() else []

    def _free_name(self, filename: str, taken: set[str]) -> Path:
        """``filename``, or ``stem-2``, ``stem-3``... : the first whose stem no file has (ids are file
        stems: "x.txt" next to "x.md" would be two articles with one id). ``taken`` comes from one
        listing of the folder and gets the new stem, so many uploads of one name stay linear."""
        self.folder.mkdir(parents=True, exist_ok=True)
        stem, suffix = Path(filename).stem, Path(filename).suffix
        candidate, n = stem, 2
        while candidate in taken or os.path.lexists(self.folder / f"{candidate}{suffix}"):  # lexists: a folder
            candidate, n = f"{stem}-{n}", n + 1
        taken.add(candidate)
        return self.folder / f"{candidate}{suffix}"


def _listed(path: Path) -> bool:
    """Whether the folder listing (:func:`iter_article_files`) would name ``path``: an entry that is
    not a folder (a link or a special file included)."""
    try:
        return not stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def article_bytes(article: Article, raw: bytes) -> bytes:
    """What to store: the original bytes, re-encoded as UTF-8 when they were Latin-1."""
    if not article.warnings:
        return raw
    return raw.decode("cp1252").encode("utf-8")


def page_file(page: Page, label: str) -> tuple[str, bytes]:
    """File name and bytes to store for a downloaded page: UTF-8, the final URL on its first line."""
    suffix = ARTICLE_TYPES[page.content_type]
    try:
        text, _ = decode(page.body, Path("page"))
    except BadArticle as err:
        raise BadArticle(label, err.reason) from None
    # The provenance line the loader reads back (articles._FETCHED_FROM); an HTML comment,
    # invisible in HTML and Markdown.
    marked = re.fullmatch(r"https?://[^\s<>]+", page.url)
    data = (f"<!-- ragbot:url {page.url} -->\n{text}" if marked else text).encode()
    import httpx

    final = httpx.URL(page.url)
    name = (final.path.rstrip("/").rsplit("/", 1)[-1] or final.host).rsplit(".", 1)[0]
    return (f"{final.host}_{name}{suffix}" if suffix in HTML_SUFFIXES else f"{name}{suffix}"), data
