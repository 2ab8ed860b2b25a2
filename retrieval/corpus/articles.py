"""Read one article file into an :class:`Article`: decode, normalise, extract metadata, clean.

The cleaned ``body`` is the reference text of the whole system: passages are character
ranges of it, and every quote shown to a user is a slice of it. It is the file's text
with everything that is not article text blanked (:mod:`.cleaning`), so its offsets are
the file's and each line of it is a paragraph.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadArticle, NoArticles
from ..types import Article, ArticleInfo
from .analysis import normalize_text, tidy
from .chunking import paragraph_spans
from .cleaning import clean, normalize_in_place
from .frontmatter import parse_front_matter
from .metadata import derive_title, find_date, lead_attribution, lead_sentence, normalise_date
from .plaintext import decode
from .prose import check_prose

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
HTML_SUFFIXES = (".html", ".htm")


@dataclass(frozen=True)
class LoadResult:
    articles: tuple[Article, ...]
    errors: tuple[BadArticle, ...]
    #: ids of the files ``skip`` vouched for as unchanged: not read, not in ``articles``
    kept: tuple[str, ...] = ()


_MD_FRONT_MATTER = re.compile(r"---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)  # closing line may end the file
# Where a downloaded article came from: the first line of the stored file (an HTML comment,
# invisible in HTML and Markdown). It wins over a URL the page claims for itself.
_FETCHED_FROM = re.compile(r"\A<!-- ragbot:url (https?://[^\s<>]+) -->\n")


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def load_article(path: Path, *, max_bytes: int = 5_000_000) -> Article:
    """Read and clean one article; raises :class:`BadArticle` with a reason a person can act on."""
    path = Path(path)
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise BadArticle(path, f"unsupported file type {path.suffix or '(none)'!r}; use .txt, .md or .html")
    return parse_article(read_regular_file(path, max_bytes=max_bytes), path)


def read_regular_file(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of a regular file, never through a symlink, never more than ``max_bytes``.

    ``O_NOFOLLOW`` refuses a link in the same system call that opens the file (no window
    between a check and the open), ``O_NONBLOCK`` keeps a FIFO from hanging the open, and
    ``fstat`` of the open descriptor tells a FIFO or a device from a file. The size is
    enforced on the bytes actually read: a file may grow after it was measured.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if os.path.islink(path):
            raise BadArticle(path, "is a symbolic link; refused (copy the file itself)") from None
        if isinstance(err, FileNotFoundError):
            raise BadArticle(path, "no such file") from None
        raise BadArticle(path, f"cannot be read ({err.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO, device or socket"
            raise BadArticle(path, f"is {kind}, not a regular file; refused")
        if info.st_size > max_bytes:
            raise BadArticle(path, f"too large ({info.st_size} bytes; the limit is {max_bytes})")
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise BadArticle(path, f"too large (more than {max_bytes} bytes)")
        return b"".join(chunks)
    except OSError as err:
        raise BadArticle(path, f"cannot be read ({err.strerror})") from None
    finally:
        os.close(fd)


def parse_article(raw: bytes, path: Path) -> Article:
    """Turn raw bytes of ``path`` into an :class:`Article` (``path`` names it and picks the format).

    The body keeps the file's text where it stands (see :mod:`.cleaning`): offsets into it
    are offsets into the file's text, for a ``.txt`` or ``.md`` file. For an HTML page they
    are offsets into the page's main text, as extracted.
    """
    decoded, warnings = decode(raw, path)
    text = normalize_in_place(decoded)
    suffix = path.suffix.lower()
    meta: dict[str, str] = {}
    start = 0  # where the article's own text begins (after a download note and front matter)
    fetched = _FETCHED_FROM.match(text)
    if fetched:
        start = fetched.end()
    if suffix in (".md", ".markdown") and (m := _MD_FRONT_MATTER.match(text, start)):
        meta = parse_front_matter(m.group(1), path)
        start = m.end()
    elif suffix in HTML_SUFFIXES:
        extracted, meta = _html_main_text(text[start:], path)
        text, start = normalize_in_place(extracted), 0
    text = re.sub(r"[^\n]", " ", text[:start]) + text[start:]
    cleaned = clean(text, markdown=suffix != ".txt", has_title=bool(meta.get("title")))
    body = cleaned.body
    paragraphs = [
        body[s:e] for s, e in paragraph_spans(body) if not any(a <= s and e <= b for a, b in cleaned.unquotable)
    ]
    if not paragraphs:
        raise BadArticle(path, "no article text left after cleaning")
    check_prose("\n".join(tidy(p) for p in paragraphs), path)

    lead = lead_sentence(tidy(paragraphs[0]))
    date = meta.get("date") or cleaned.date or find_date(tidy(p) for p in paragraphs[:6])
    info = ArticleInfo(
        id=path.stem,
        title=one_line(meta.get("title") or cleaned.title) or derive_title(tidy(paragraphs[0])),
        date=normalise_date(date) if date else None,
        source=one_line(meta.get("source") or next(iter(cleaned.sources), None) or lead_attribution(lead)),
        byline=one_line(meta.get("byline") or meta.get("author") or cleaned.byline),
        url=fetched.group(1) if fetched else one_line(meta.get("url")),
    )
    return Article(
        info=info,
        body=body,
        path=path.name,
        content_hash=content_hash(raw),
        warnings=warnings,
        unquotable=cleaned.unquotable,
    )


def iter_article_files(folder: Path) -> Iterator[Path]:
    """Entries of ``folder`` that may be articles (not recursive), in a stable order.

    Hidden files and folders are skipped; links and special files are listed, so the loader
    refuses them with a reason instead of skipping them silently.
    """
    for name in article_names(folder):
        yield Path(folder) / name


def article_names(folder: Path) -> list[str]:
    """The names :func:`iter_article_files` lists, as plain strings (100k files: no path objects)."""
    # scandir knows a folder from its directory entry: no stat per file (10k files: 0.3 s -> 0.02 s)
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if not e.name.startswith(".") and not e.is_dir(follow_symlinks=False))


def file_stem(name: str) -> str:
    """``Path(name).stem`` (an article's id), without building a path."""
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def load_articles(
    folder: Path,
    *,
    max_bytes: int = 5_000_000,
    skip: Callable[[Path], bool] | None = None,
    paths: Sequence[Path] | None = None,
) -> LoadResult:
    """Load every article of ``folder``; a bad file is reported and the others still load.

    ``skip(path)`` True: the caller already holds that file's article as it is (the indexer,
    for a file its previous version indexed and that has not changed); its id goes to
    ``kept`` instead of being read and cleaned again. ``paths``: only these files of the folder
    (it is not listed).
    """
    articles: list[Article] = []
    errors: list[BadArticle] = []
    kept: list[str] = []
    for item in iter_articles(folder, max_bytes=max_bytes, skip=skip, paths=paths):
        if isinstance(item, Article):
            articles.append(item)
        elif isinstance(item, BadArticle):
            errors.append(item)
        else:
            kept.append(item)
    return LoadResult(tuple(articles), tuple(errors), tuple(kept))


def iter_articles(
    folder: Path,
    *,
    max_bytes: int = 5_000_000,
    skip: Callable[[Path], bool] | None = None,
    paths: Sequence[Path] | None = None,
) -> Iterator[Article | BadArticle | str]:
    """:func:`load_articles` one file at a time: each file's article, or why it was refused, or
    (a str) the id of a file ``skip`` vouched for. A missing folder is refused at once, before
    the first file (:class:`NoArticles`)."""
    folder = articles_folder(folder)
    return _read_articles(iter_article_files(folder) if paths is None else paths, max_bytes, skip)


def articles_folder(folder: Path) -> Path:
    """``folder``, checked to be a folder: :class:`NoArticles` naming it in full otherwise."""
    folder = Path(folder)
    if not folder.is_dir():  # named in full: a relative name says nothing about where it was looked for
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise NoArticles(f"the articles folder {folder.absolute()} {what} (RAGBOT_ARTICLES_DIR)")
    return folder


def _read_articles(
    paths: Iterable[Path], max_bytes: int, skip: Callable[[Path], bool] | None
) -> Iterator[Article | BadArticle | str]:
    seen: dict[str, str] = {}
    for path in paths:
        try:
            if (taken := id_taken(path, seen)) is not None:
                raise taken
            if skip is not None and skip(path):
                item: Article | str = path.stem
            else:
                item = load_article(path, max_bytes=max_bytes)
            seen[path.stem] = path.name
            yield item
        except BadArticle as err:
            yield err


def id_taken(path: Path, seen: Mapping[str, str]) -> BadArticle | None:
    """Why ``path`` cannot be read as an article when ``seen`` (article id -> file name) already
    holds its id, else None: ids are file stems, so x.txt and x.md cannot both be article "x"."""
    if path.stem in seen:
        return BadArticle(path, f"same article id as {seen[path.stem]}; rename one of them")
    return None


# --- helpers ---------------------------------------------------------------------------


def one_line(value: str | None) -> str | None:
    """Metadata as one line: every line break (``\\n``, ``\\r``, U+2028, NEL...), tab and space run
    becomes one space. A title, source or byline (from front matter or a page's metadata) is
    printed on one line in every listing; a newline in it could start a fake citation line.
    Other control characters are the front ends' to defuse (``render.terminal_safe``, JSON)."""
    if value is None:
        return None
    return " ".join(value.split()) or None


def _html_main_text(html: str, path: Path) -> tuple[str, dict[str, str]]:
    """The article of a web page (navigation, ads, comments dropped) and its metadata, via trafilatura."""
    import trafilatura

    _check_html_parses(html, path)
    text = trafilatura.extract(html, include_comments=False, include_tables=False, favor_precision=True)
    if not text or not text.strip():
        raise BadArticle(path, "no article text found in this HTML page")
    doc = trafilatura.extract_metadata(html)
    meta = {}
    if doc is not None:
        for key, value in (
            ("title", doc.title),
            ("date", doc.date),
            ("author", doc.author),
            ("source", doc.sitename),
            ("url", doc.url),
        ):
            if value and str(value).strip():
                meta[key] = str(value).strip()
    return normalize_text(text), meta


def _check_html_parses(html: str, path: Path) -> None:
    """Refuse a page the HTML parser gives up on part-way (nesting over 256 levels, a huge text node).

    libxml2 stops at its resource limits and returns the tree so far: the article would
    silently lose everything after that point (200k nested ``<div>`` leave only the title).
    """
    import lxml.html

    parser = lxml.html.HTMLParser(collect_ids=False, remove_comments=True, remove_pis=True)
    # An empty or unparsable document raises: trafilatura then finds no text and says so.
    with contextlib.suppress(ValueError, lxml.etree.ParserError):
        lxml.html.document_fromstring(html, parser=parser)
    fatal = [e for e in parser.error_log if e.level_name == "FATAL"]
    if fatal:
        reason = fatal[0].message.split(",")[0].strip().rstrip(".")
        raise BadArticle(path, f"HTML the parser cannot read completely ({reason}); refused")
