"""Read one article file into an :class:`Article`: decode, normalise, extract metadata, clean.

The cleaned ``body`` is the reference text of the whole system: passages are
character ranges of it and every quote shown to a user is a slice of it.
Paragraphs in the body are separated by one blank line.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date as _date
from pathlib import Path

from ..errors import BadArticle, NoArticles
from ..types import Article, ArticleInfo
from .analysis import normalize_text
from .frontmatter import parse_front_matter
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


# --- normalisation -----------------------------------------------------------------


# --- metadata patterns ---------------------------------------------------------------

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("janvier", "january", "jan"),
            ("février", "fevrier", "february", "feb"),
            ("mars", "march", "mar"),
            ("avril", "april", "apr"),
            ("mai", "may"),
            ("juin", "june", "jun"),
            ("juillet", "july", "jul"),
            ("août", "aout", "august", "aug"),
            ("septembre", "september", "sept", "sep"),
            ("octobre", "october", "oct"),
            ("novembre", "november", "nov"),
            ("décembre", "decembre", "december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_PREFIX = re.compile(r"^\s*date\s+(\d{4}-\d{2}(?:-\d{2})?)\b\s*", re.IGNORECASE)
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:er)?\s+({_MONTH_RE})\.?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")

_NAME = r"[A-ZÀ-ÖØ-Þ][\w’'.-]+"
_BYLINE = re.compile(rf"^(?:Par|By)\s+({_NAME}(?:\s+(?:de\s+|van\s+|von\s+)?{_NAME}){{0,3}})\s*$")

_AGENCIES = (
    r"Agence France-Presse|AFP|Reuters|Associated Press|AP|ANSA|ATS|Belga|DPA|EFE"
    r"|Kyodo|Yonhap|TASS|Xinhua|KCNA|Bloomberg|The Associated Press"
)
_AGENCY_LINE = re.compile(
    rf"^(?:(?:Avec|With|Source\s*:)\s+(?:l[’']|les?\s+|la\s+)?)?((?:{_AGENCIES})(?:\s+(?:et|and|,)\s+(?:{_AGENCIES}))*)\.?$",
    re.IGNORECASE,
)

# --- boilerplate ---------------------------------------------------------------------

# Widgets and sharing chrome glued into the text by scrapers: removed wherever they stand.
_INLINE_CHROME = re.compile(
    r"Commentez cette histoire\s*(?:Commentaires?)?"
    r"|Participer\s*Réemployer ce contenu\.?"
    r"|Partager cet article|Lire aussi\s*:?"
    r"|Share this article",
    re.IGNORECASE,
)
# A donation appeal starts the page footer: it and everything after it go.
_FOOTER_START = re.compile(
    r"^(?:Soutenez\s.{1,60}(?:à partir de|dès)\s*\d|Soutenez notre journalisme|Faites un don"
    r"|Comment pouvez-vous nous aider|Support our journalism|Donate to )",
    re.IGNORECASE,
)
# Photo credits: "(Photo par X/Getty Images)", "(X/POOL/AFP via Getty Images)" at the end of a
# caption, or an upper-case "PHOTO AGENCE X PAR Y" lead-in.
_CREDIT_WORDS = r"Getty Images|AFP|Reuters|AP Photo|POOL|Shutterstock|EPA|Sipa|Photo|Crédit|Credit"
_TRAILING_CREDIT = re.compile(rf"\s*\((?=[^()]*(?:{_CREDIT_WORDS}))[^()]*\)\s*$")
_LEADING_CREDIT = re.compile(r"^(?:PHOTO|CRÉDIT|CREDIT)(?:\s+[A-ZÀ-ÖØ-Þ0-9'’./&-]+)+\s+(?=[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ])")

_MD_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)  # closing line may end the file
# Where a downloaded article came from: the first line of the stored file (an HTML comment,
# invisible in HTML and Markdown). It wins over a URL the page claims for itself.
_FETCHED_FROM = re.compile(r"\A<!-- ragbot:url (https?://[^\s<>]+) -->\n")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w))")
_MD_HEADING = re.compile(r"^#{1,6}\s+")

_SENTENCE_END = tuple('.!?…:;»"”')
_TITLE_MAX = 160
_DERIVED_TITLE_MAX = 90


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
    """Turn raw bytes of ``path`` into an :class:`Article` (``path`` names it and picks the format)."""
    decoded, warnings = decode(raw, path)
    text = normalize_text(decoded)
    meta: dict[str, str] = {}
    fetched = _FETCHED_FROM.match(text)
    if fetched:
        text = text[fetched.end() :]
    if path.suffix.lower() in (".md", ".markdown"):
        text, meta = _split_front_matter(text, path)
    elif path.suffix.lower() in HTML_SUFFIXES:
        text, meta = _html_main_text(text, path)
    lines = [_clean_line(line, markdown=path.suffix.lower() != ".txt") for line in text.split("\n")]

    date = meta.get("date")
    if lines and (m := _DATE_PREFIX.match(lines[0])):
        date = date or m.group(1)
        lines[0] = _clean_line(lines[0][m.end() :])

    title = meta.get("title")
    paragraphs = _drop_footer([line for line in lines if line])
    if not title and len(paragraphs) > 1 and _looks_like_title(paragraphs[0]):
        title = _MD_HEADING.sub("", paragraphs.pop(0))
    paragraphs = [_MD_HEADING.sub("", p) for p in paragraphs]
    if not paragraphs:
        raise BadArticle(path, "no article text left after cleaning")

    check_prose("\n".join(paragraphs), path)

    header = paragraphs[:6]
    lead = _lead_sentence(paragraphs[0])
    byline = meta.get("byline") or meta.get("author") or _first_match(_BYLINE, header)
    date = date or _find_date(header)
    source = meta.get("source") or _first_match(_AGENCY_LINE, paragraphs) or _lead_attribution(lead)
    body = "\n\n".join(paragraphs)
    info = ArticleInfo(
        id=path.stem,
        title=one_line(title) or _derive_title(body),
        date=_normalise_date(date) if date else None,
        source=one_line(source),
        byline=one_line(byline),
        url=fetched.group(1) if fetched else one_line(meta.get("url")),
    )
    return Article(info=info, body=body, path=path.name, content_hash=content_hash(raw), warnings=warnings)


def iter_article_files(folder: Path) -> Iterator[Path]:
    """Entries of ``folder`` that may be articles (not recursive), in a stable order.

    Hidden files and folders are skipped; links and special files are listed, so the loader
    refuses them with a reason instead of skipping them silently.
    """
    # scandir knows a folder from its directory entry: no stat per file (10k files: 0.3 s -> 0.02 s)
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if not e.name.startswith(".") and not e.is_dir(follow_symlinks=False))
    for name in names:
        yield Path(folder) / name


def load_articles(
    folder: Path, *, max_bytes: int = 5_000_000, skip: Callable[[Path], bool] | None = None
) -> LoadResult:
    """Load every article of ``folder``; a bad file is reported and the others still load.

    ``skip(path)`` True: the caller already holds that file's article as it is (the indexer,
    for a file its previous version indexed and that has not changed); its id goes to
    ``kept`` instead of being read and cleaned again.
    """
    folder = Path(folder)
    if not folder.is_dir():  # named in full: a relative name says nothing about where it was looked for
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise NoArticles(f"the articles folder {folder.absolute()} {what} (RAGBOT_ARTICLES_DIR)")
    articles: list[Article] = []
    errors: list[BadArticle] = []
    kept: list[str] = []
    seen: dict[str, str] = {}
    for path in iter_article_files(folder):
        try:
            if path.stem in seen:  # ids are file stems: x.txt and x.md cannot both be article "x"
                raise BadArticle(path, f"same article id as {seen[path.stem]}; rename one of them")
            if skip is not None and skip(path):
                kept.append(path.stem)
            else:
                articles.append(load_article(path, max_bytes=max_bytes))
            seen[path.stem] = path.name
        except BadArticle as err:
            errors.append(err)
    return LoadResult(tuple(articles), tuple(errors), tuple(kept))


# --- helpers ---------------------------------------------------------------------------


def one_line(value: str | None) -> str | None:
    """Metadata as one line: every line break (``\\n``, ``\\r``, U+2028, NEL...), tab and space run
    becomes one space. A title, source or byline (from front matter or a page's metadata) is
    printed on one line in every listing; a newline in it could start a fake citation line.
    Other control characters are the front ends' to defuse (``render.terminal_safe``, JSON)."""
    if value is None:
        return None
    return " ".join(value.split()) or None


def _split_front_matter(text: str, path: Path) -> tuple[str, dict[str, str]]:
    match = _MD_FRONT_MATTER.match(text)
    if not match:
        return text, {}
    return text[match.end() :], parse_front_matter(match.group(1), path)


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


def _clean_line(line: str, *, markdown: bool = False) -> str:
    line = _INLINE_CHROME.sub(" ", line)
    if markdown:
        line = _MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", line))
    line = " ".join(line.split())
    line = _LEADING_CREDIT.sub("", line)
    line = _TRAILING_CREDIT.sub("", line)
    return line.strip()


def _drop_footer(paragraphs: list[str]) -> list[str]:
    for i, para in enumerate(paragraphs):
        # Only in the second half: an appeal quoted early on is part of the story.
        if i >= len(paragraphs) // 2 and _FOOTER_START.match(para):
            return paragraphs[:i]
    return paragraphs


def _looks_like_title(line: str) -> bool:
    if _MD_HEADING.match(line):
        return True
    return len(line) <= _TITLE_MAX and not line.endswith(_SENTENCE_END) and not _BYLINE.match(line)


def _first_match(pattern: re.Pattern[str], lines: Iterable[str]) -> str | None:
    for line in lines:
        if len(line) <= 80 and (m := pattern.match(line)):
            return m.group(1).strip()
    return None


def _find_date(lines: Iterable[str]) -> str | None:
    for line in lines:
        if len(line) > 80:  # a dateline is short; dates inside prose are events, not publication
            continue
        if m := _DAY_MONTH_YEAR.search(line):
            return _iso(int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))
        if m := _MONTH_DAY_YEAR.search(line):
            return _iso(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
        if m := _ISO_DATE.search(line):
            return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return None


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return _date(year, month, day).isoformat()
    except ValueError:
        return None


def _normalise_date(value: str) -> str | None:
    """ISO ``YYYY-MM-DD`` or ``YYYY-MM``; an impossible date (2024-02-30) is dropped, not kept."""
    value = value.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?", value):
        return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", value):
        return value if 1 <= int(m.group(2)) <= 12 else None
    return _find_date([value[:80]]) or None


_DATELINE = re.compile(r"^(?:\([^()]{2,30}\)\s+|[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ' .-]{2,30}\s+[–—-]\s+)")
# The lead of a news story often opens on its date ("Le 19 juin, …", "On June 19, 2024, …"),
# names people with an apposition ("Vladimir Poutine, le chef d’État russe, …") and ends on
# where it got the news (", d’après les médias russes."). That media is the article's source
# when no credit line names one; without those pieces the lead makes a headline. Its date
# is not the article's: it may be an event's ("Le 20 mai 1875, …" opens an encyclopedia entry).
_LEAD_DATE = re.compile(
    rf"^(?:(?:Le|On)\s+)?(?:(\d{{1,2}})(?:er)?\s+({_MONTH_RE})|({_MONTH_RE})\.?\s+(\d{{1,2}}))"
    r"(?:,?\s+(\d{4}))?\s*,\s+",
    re.IGNORECASE,
)
_APPOSITION = re.compile(r"\b([A-ZÀ-ÖØ-Þ][\w’'-]+),\s+(?:(?:les|le|la|the)\s+|l[’']\s*)[^,;:()«»]{2,50},\s+")
_ATTRIBUTION = re.compile(r",\s+(?:d[’']après|selon|according to|citing)\s+([^,;:()«»]{2,60})$", re.IGNORECASE)
_MEDIA = re.compile(
    rf"^(?:(?:les|le|la|the)\s+|l[’']\s*)?((?:[\w’'-]+\s+)?(?:médias?|media|agences?|agency|presse|press|journal|quotidien"
    rf"|newspaper|télévision|television|radio|{_AGENCIES})\b.*)$",
    re.IGNORECASE,
)


def _lead_sentence(paragraph: str) -> str:
    first = _DATELINE.sub("", paragraph)
    end = re.search(r"[.!?…](?=\s|$)", first)
    return first[: end.start()] if end else first


def _lead_attribution(lead: str) -> str | None:
    """The media the lead sentence says the news comes from (", d’après les médias russes")."""
    m = _ATTRIBUTION.search(lead)
    media = _MEDIA.match(m.group(1).strip()) if m else None
    return media.group(1) if media else None


def _derive_title(body: str) -> str:
    sentence = _lead_sentence(body.split("\n", 1)[0])
    headline = _ATTRIBUTION.sub("", _APPOSITION.sub(r"\1 ", _LEAD_DATE.sub("", sentence)))
    if len(headline) >= 20:  # what is left still says something
        sentence = headline[0].upper() + headline[1:]
    if len(sentence) <= _DERIVED_TITLE_MAX:
        return sentence
    cut = sentence.rfind(" ", 0, _DERIVED_TITLE_MAX)
    return sentence[: cut if cut > 0 else _DERIVED_TITLE_MAX].rstrip(" ,;:") + "…"
