"""What of an article file is article text: every line judged by general rules, the rest blanked.

The body an article gets is its file's text *with the same length*: whatever is not article
text (the title line, a photo caption, a section heading or the headline of another article
left in the page, a comment widget, a donation footer, markup) is replaced by spaces, its
line breaks kept. So every offset into the body is an offset into the file, and every
sentence cut from the body is verbatim in the file, whitespace aside. Something removed
inside a line also ends the paragraph there, so no sentence ever joins the text on both
sides of it.

Lines that say who wrote the article, when and where it was filed and whom it credits (a
byline, a dateline or "Mis à jour" line, "(Séoul)", "Avec Reuters") stay in the body, where a
passage shows them and a search can find them, but are *unquotable*: no answer ever quotes
them as a sentence. What they say is returned as metadata (title, date, author, source).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .metadata import AGENCY_LINE, BYLINE, DATE_PREFIX, DATELINE, looks_like_dateline

# Space-like characters become a plain space: one character for one, so offsets hold.
_SPACES = re.compile("[\u00a0\u202f\u2007\u2009\u200a\t\u2028\u2029\x0b\x0c]")  # each one becomes a space
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
# A run of word characters with invisible marks in it (``Pou\u00adtine``): the marks go and as
# many spaces follow the word, so the word reads whole and the offsets after it still hold.
_WITH_INVISIBLE = re.compile(rf"[\w{_INVISIBLE}]*[{_INVISIBLE}][\w{_INVISIBLE}]*")

# Widgets and sharing chrome glued into the text by scrapers: removed wherever they stand.
_INLINE_CHROME = re.compile(
    r"Commentez cette histoire\s*(?:Commentaires?)?"
    r"|Participer\s*Réemployer ce contenu\.?"
    r"|Partager cet article|Share this article",
    re.IGNORECASE,
)
# A line that points to another article: it and the headline it introduces go.
_SEE_ALSO = re.compile(r"^(?:À\s+lire\s+aussi|Lire\s+aussi|Voir\s+aussi|Read\s+more|Related|See\s+also)\b", re.I)
# A donation appeal starts the page footer: it and everything after it go.
_FOOTER_START = re.compile(
    r"^(?:Soutenez\s.{1,60}(?:à partir de|dès)\s*\d|Soutenez notre journalisme|Faites un don"
    r"|Comment pouvez-vous nous aider|Support our journalism|Donate to )",
    re.IGNORECASE,
)
# A photo credit in brackets ending a line makes the line a caption: "(Photo par X/Getty Images)",
# "(X/POOL/AFP via Getty Images)", "(Photo : X)". A bare agency in brackets, "(AFP)", credits the story.
_PHOTO_CREDIT = re.compile(
    r"\((?=[^()]*(?:\bphotos?\b|\bgetty\b|\bcr[ée]dits?\b|\bshutterstock\b|\bpool\b|\bsipa\b|\bAP\s+Photo\b"
    r"|\b(?:AFP|Reuters|AP|EPA|KCNA|Yonhap)\s*/|/\s*(?:AFP|Reuters|AP|EPA|KCNA|Yonhap)\b))[^()]{2,120}\)\W*$",
    re.IGNORECASE,
)
# The same credit inside a line (a caption a scraper glued to the next paragraph): the sentence
# before it is the caption.
_INLINE_PHOTO_CREDIT = re.compile(_PHOTO_CREDIT.pattern.removesuffix(r"\W*$"), re.IGNORECASE)
_CAPTION_START = re.compile(r"(?:^|(?<=[.!?…»\"”]\s))(?=\S)")
_STORY_CREDIT = re.compile(r"\s*\(\s*(?:AFP|Reuters|AP|ATS|Belga|DPA|EFE|ANSA|Kyodo|Yonhap|TASS|Xinhua)\s*\)\W*$")
# An upper-case "PHOTO AGENCE X PAR Y" lead-in: the line is a caption.
_PHOTO_LEAD = re.compile(r"^(?:PHOTO|PHOTOS|CRÉDIT|CREDIT)\b(?:\s+[A-ZÀ-ÖØ-Þ0-9'’./&-]+)*\s+(?=\S)")
_MD_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)  # closing line may end the file
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_MD_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)")
# Where a line ends a statement: its last character before closing quotes and brackets.
_STATEMENT_END = re.compile(r"[.!?…:;](?:[\s»\"”’)\]]*)$")
TITLE_MAX = 160
#: what a line that is not article text may say of the article: left in the body, never quoted
METADATA = frozenset({"byline", "dateline", "credit"})


def normalize_in_place(text: str) -> str:
    """NFC, plain spaces, one kind of newline and no invisible marks, *keeping the length*
    (but for NFC, which only shortens text that was not NFC, such as macOS-style accents)."""
    text = unicodedata.normalize("NFC", text)
    text = _SPACES.sub(" ", text.replace("\r\n", " \n").replace("\r", "\n"))  # str.translate: 15x slower
    if any(c in text for c in _INVISIBLE):
        text = _WITH_INVISIBLE.sub(_drop_invisible, text)
    return text


def _drop_invisible(match: re.Match[str]) -> str:
    kept = "".join(c for c in match.group() if c not in _INVISIBLE)
    return kept + " " * (len(match.group()) - len(kept))


@dataclass(frozen=True)
class Cleaned:
    """An article file's text, cleaned in place, and what its non-article lines said."""

    body: str  # as long as the file's text; only article text is left, the rest is spaces
    #: (start, end) of the metadata lines left in the body (bylines, datelines, credits): never quoted
    unquotable: tuple[tuple[int, int], ...] = ()
    title: str | None = None
    date: str | None = None  # as found (the caller normalises it)
    byline: str | None = None
    sources: tuple[str, ...] = ()  # credit lines, in order
    #: (kind, start, end) of each piece removed: title, date, byline, dateline, credit,
    #: caption, heading, see-also, chrome, footer, markup, front-matter
    removed: tuple[tuple[str, int, int], ...] = field(default=(), repr=False)


class _Blanker:
    """Collects the pieces to remove, then writes the body with them blanked."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pieces: list[tuple[str, int, int, bool]] = []
        self.kept: list[tuple[str, int, int]] = []  # metadata left in the body, unquotable

    def keep(self, kind: str, start: int, end: int) -> None:
        """Leave ``text[start:end]`` in the body, but never to be quoted."""
        if end > start:
            self.kept.append((kind, start, end))

    def remove(self, kind: str, start: int, end: int, *, breaks: bool = False) -> None:
        """Blank ``text[start:end]``; ``breaks``: it stood inside a line, whose paragraph ends there."""
        if end > start and not any(s <= start and end <= e for _, s, e, _ in self.pieces[-3:]):
            self.pieces.append((kind, start, end, breaks))

    def body(self) -> str:
        out, at = [], 0
        for _, start, end, breaks in sorted(self.pieces, key=lambda p: p[1]):
            start = max(start, at)
            if end <= start:
                continue
            out.append(self.text[at:start])
            blank = re.sub(r"[^\n]", " ", self.text[start:end])
            if breaks and "\n" not in blank:
                blank = "\n" + blank[1:]
            out.append(blank)
            at = end
        out.append(self.text[at:])
        return "".join(out)


def _lines(text: str, start: int = 0) -> list[tuple[int, int]]:
    """(start, end) of each line of ``text`` from ``start``, the newline excluded."""
    spans, at = [], start
    while at <= len(text):
        nl = text.find("\n", at)
        end = len(text) if nl < 0 else nl
        spans.append((at, end))
        if nl < 0:
            break
        at = nl + 1
    return spans


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def is_statement(line: str) -> bool:
    """Whether a line ends like a sentence (closing quotes and brackets aside)."""
    return bool(_STATEMENT_END.search(line.rstrip()))


def looks_like_heading(line: str) -> bool:
    """A short line of its own that does not end like a sentence: a title, a section heading,
    a kicker, or the headline of another article left in the page."""
    return 0 < len(line) <= TITLE_MAX and not is_statement(line) and not line.lstrip().startswith(("-", "*", "•"))


def clean(text: str, *, markdown: bool = False, has_title: bool = False) -> Cleaned:
    """Judge every line of ``text`` (already :func:`normalize_in_place`-d, front matter blanked).

    ``has_title``: the title is known already (front matter, HTML metadata), so no line is taken for it.
    """
    blank = _Blanker(text)
    title = date = byline = None
    sources: list[str] = []
    lines = [(s, e) for s, e in (_trimmed(text, *span) for span in _lines(text)) if e > s]

    # Markup and inline widgets first: a line is judged on what a reader sees of it.
    seen: list[tuple[int, int, str]] = []
    for start, end in lines:
        line = text[start:end]
        shown = _inline(blank, line, start, markdown=markdown)
        if shown.strip():
            seen.append((start, end, shown.strip()))
        else:
            blank.remove("chrome", start, end)

    body_lines: list[tuple[int, int, str]] = []
    footer_from = None
    for i, (start, end, line) in enumerate(seen):
        if i >= len(seen) // 2 and _FOOTER_START.match(line):
            footer_from = start
            break
        if i == 0 and (m := DATE_PREFIX.match(line)):
            date = m.group(1)
            blank.remove("date", start, start + m.end())
            line = line[m.end() :].strip()
            start = end - len(line) if line else end
            if not line:
                continue
        body_lines.append((start, end, line))
    if footer_from is not None:
        blank.remove("footer", footer_from, len(text))

    # The title: a first line that reads like one (or a Markdown heading), with more text after it.
    if not has_title and len(body_lines) > 1:
        start, end, line = body_lines[0]
        if (markdown and _MD_HEADING.match(text[start:end])) or _line_kind(line) == "heading":
            title = _MD_HEADING.sub("", line).strip()
            blank.remove("title", start, end)
            body_lines = body_lines[1:]

    kinds = [_line_kind(line) for _, _, line in body_lines]
    if "body" not in kinds:  # short lines only ("a b c", a list of points): they are the text, judged as such
        kinds = ["body" if k == "heading" else k for k in kinds]
    kept: list[tuple[int, int, str]] = []
    for i, ((start, end, line), kind) in enumerate(zip(body_lines, kinds, strict=True)):
        if kind == "byline" and byline is None and (m := BYLINE.match(line)):
            byline = m.group(1).strip()
        if kind == "credit" and (m := AGENCY_LINE.match(line)):
            sources.append(m.group(1).strip())
        if kind == "dateline" and date is None and len(line) <= 80:
            date = line
        if kind == "see-also" and i + 1 < len(body_lines) and looks_like_heading(body_lines[i + 1][2]):
            blank.remove(kind, *body_lines[i + 1][:2])  # the other article's headline it introduces
        if kind in METADATA:
            blank.keep(kind, start, end)
        elif kind != "body":
            blank.remove(kind, start, end)
        else:
            kept.append((start, end, line))

    for n, (start, end, line) in enumerate(kept):
        if n == 0 and (m := DATELINE.match(line)):  # "(Séoul) Le président…", "SÉOUL – Le dirigeant…"
            blank.keep("dateline", start, start + m.end())
        if m := _STORY_CREDIT.search(line):
            sources.append(m.group().strip(" ().;,"))
            blank.keep("credit", end - len(m.group()), end)
    return Cleaned(
        body=blank.body(),
        unquotable=tuple(sorted((s, e) for _, s, e in blank.kept)),
        title=title,
        date=date,
        byline=byline,
        sources=tuple(sources),
        removed=tuple(sorted([(k, s, e) for k, s, e, _ in blank.pieces] + blank.kept, key=lambda p: p[1])),
    )


def _inline(blank: _Blanker, line: str, offset: int, *, markdown: bool) -> str:
    """Blank the inline chrome and markup of one line; what a reader sees of the line."""
    shown = list(line)

    def drop(kind: str, start: int, end: int, *, breaks: bool) -> None:
        blank.remove(kind, offset + start, offset + end, breaks=breaks)
        shown[start:end] = [" "] * (end - start)

    for m in _INLINE_CHROME.finditer(line):
        drop("chrome", m.start(), m.end(), breaks=True)
    for m in _INLINE_PHOTO_CREDIT.finditer(line):
        if line[m.end() :].strip(" .;,") and not _PHOTO_CREDIT.search(line):  # a credit ending the line: a caption line
            starts = [c.start() for c in _CAPTION_START.finditer(line, 0, m.start())]
            drop("caption", starts[-1] if starts else 0, m.end(), breaks=True)
    if markdown:
        if m := _MD_HEADING.match(line):
            drop("markup", 0, m.end(), breaks=False)
        for m in _MD_IMAGE.finditer(line):
            drop("caption", m.start(), m.end(), breaks=True)
        for m in _MD_LINK.finditer(line):
            if "".join(shown[m.start() : m.end()]).strip():
                drop("markup", m.start(), m.start() + 1, breaks=False)
                drop("markup", m.start(1) + len(m.group(1)), m.end(), breaks=False)
        for m in _MD_EMPHASIS.finditer(line):
            drop("markup", m.start(), m.end(), breaks=False)
    return "".join(shown)


def _line_kind(line: str) -> str:
    """What one line of an article is: body text, or a kind of thing that is not quoted."""
    if BYLINE.match(line) and len(line) <= 80:
        return "byline"
    if AGENCY_LINE.match(line) and len(line) <= 80:
        return "credit"
    if looks_like_dateline(line):
        return "dateline"
    if _SEE_ALSO.match(line):
        return "see-also"
    if _PHOTO_LEAD.match(line) or _PHOTO_CREDIT.search(line):
        return "caption"
    if looks_like_heading(_STORY_CREDIT.sub("", " ".join(line.split()))):
        return "heading"
    return "body"
