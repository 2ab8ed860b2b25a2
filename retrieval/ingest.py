"""Admins add and remove articles: every input is validated, de-duplicated and written safely.

A file, a URL or uploaded bytes becomes one article file inside the articles folder,
written under a sanitised name with a temporary file and ``os.replace`` (never half a
file). Anything refused says why, per input, and nothing else is lost.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .articles import HTML_SUFFIXES, SUPPORTED_SUFFIXES, Article, iter_article_files, parse_article
from .errors import BadArticle, RagbotError

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 80


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
class AddReport:
    added: tuple[Added, ...]
    refused: tuple[BadArticle, ...]


def body_fingerprint(article: Article) -> str:
    """Identity of an article's content, whatever its file format or whitespace."""
    return hashlib.sha256(" ".join(article.body.split()).casefold().encode()).hexdigest()


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

    def __init__(self, folder: Path, *, max_bytes: int) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes

    def fingerprints(self) -> dict[str, str]:
        """Content fingerprint → file name of every readable article in the folder."""
        out: dict[str, str] = {}
        if not self.folder.is_dir():
            return out  # a first article creates the folder
        for path in iter_article_files(self.folder):
            try:
                out[body_fingerprint(parse_article(path.read_bytes(), path))] = path.name
            except (BadArticle, OSError):
                continue
        return out

    def add_paths(self, sources: list[str]) -> AddReport:
        """Add files or http(s) URLs; each is refused or added on its own."""
        added: list[Added] = []
        refused: list[BadArticle] = []
        known = self.fingerprints()
        for source in sources:
            try:
                name, raw = _fetch(source, self.max_bytes) if _is_url(source) else self._read_file(source)
                added.append(self._add(source, name, raw, known))
            except BadArticle as err:
                refused.append(err)
        return AddReport(tuple(added), tuple(refused))

    def add_bytes(self, name: str, raw: bytes) -> Added:
        """Add uploaded content (e.g. a Telegram document) under a sanitised version of ``name``."""
        return self._add(name, name, raw, self.fingerprints())

    def remove(self, article_id: str) -> Path:
        """Delete the file of ``article_id`` (its file stem); :class:`UnknownArticle` if there is none."""
        if not article_id or article_id != Path(article_id).name or article_id.startswith(".") or "\x00" in article_id:
            raise UnknownArticle(f"{article_id!r} is not an article id (ids are file stems, e.g. 001_58e8c327b5777ef9)")
        matches = [p for p in iter_article_files(self.folder) if p.stem == article_id] if self.folder.is_dir() else []
        if not matches:
            raise UnknownArticle(f"no article {article_id!r} in {self.folder} (`ragbot sources` lists them)")
        for path in matches:
            path.unlink()
        return matches[0]

    def _read_file(self, source: str) -> tuple[str, bytes]:
        path = Path(source)
        if "\x00" in source:
            raise BadArticle(source.replace("\x00", "\\0"), "path contains a NUL byte; refused")
        if not path.is_file():
            raise BadArticle(path, "no such file")
        size = path.stat().st_size
        if size > self.max_bytes:
            raise BadArticle(path, f"too large ({size} bytes; the limit is {self.max_bytes})")
        return path.name, path.read_bytes()

    def _add(self, source: str, name: str, raw: bytes, known: dict[str, str]) -> Added:
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
        fingerprint = body_fingerprint(article)
        if fingerprint in known:
            raise BadArticle(Path(filename), f"duplicate of {known[fingerprint]} (same text); not added")
        target = self._free_name(filename)
        data = article_bytes(article, raw)
        tmp = target.with_name(f".{target.name}.part")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        known[fingerprint] = target.name
        return Added(
            source=source, article_id=target.stem, file=target.name, title=article.info.title, warnings=article.warnings
        )

    def _free_name(self, filename: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / filename
        stem, suffix = target.stem, target.suffix
        n = 2
        while target.exists() or any(p.stem == target.stem for p in iter_article_files(self.folder)):
            # Ids are file stems: "x.txt" next to "x.md" would be two articles with one id.
            target = self.folder / f"{stem}-{n}{suffix}"
            n += 1
        return target


def article_bytes(article: Article, raw: bytes) -> bytes:
    """What to store: the original bytes, re-encoded as UTF-8 when they were Latin-1."""
    if not article.warnings:
        return raw
    return raw.decode("cp1252").encode("utf-8")


def _is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https")


def _fetch(url: str, max_bytes: int, timeout: float = 20.0) -> tuple[str, bytes]:
    """Download a page (size-capped); the name comes from the URL, the suffix from the content type."""
    import httpx

    try:
        with httpx.stream(
            "GET",
            url,
            follow_redirects=True,
            timeout=timeout,
            headers={"User-Agent": "ragbot/0.1 (+article ingestion)"},
        ) as response:
            response.raise_for_status()
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise BadArticle(url, f"page larger than {max_bytes} bytes; refused")
                chunks.append(chunk)
    except httpx.HTTPStatusError as err:
        raise BadArticle(url, f"download failed: HTTP {err.response.status_code}") from None
    except httpx.HTTPError as err:
        raise BadArticle(url, f"download failed: {type(err).__name__}") from None
    suffix = {"text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt", "text/markdown": ".md"}.get(
        kind
    )
    if suffix is None:
        raise BadArticle(url, f"not an article page (content type {kind or 'unknown'!r})")
    parsed = urlparse(url)
    name = (parsed.path.rstrip("/").rsplit("/", 1)[-1] or parsed.netloc).rsplit(".", 1)[0]
    return f"{parsed.netloc}_{name}{suffix}" if suffix in HTML_SUFFIXES else f"{name}{suffix}", b"".join(chunks)
