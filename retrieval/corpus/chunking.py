"""Split a cleaned article body into sentence-aware passages of bounded size.

Every passage is a ``[char_start, char_end)`` range of the body, so its text is
always ``body[char_start:char_end]`` and a citation can point at exact characters (the
body keeps its file's offsets, see :mod:`.cleaning`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..options import ChunkSettings
from ..types import Article, Passage

Span = tuple[int, int]

# Abbreviations after which a full stop does not end a sentence (French and English).
_ABBREVIATIONS = frozenset(
    [
        "m",
        "mm",
        "mme",
        "mmes",
        "mlle",
        "mlles",
        "dr",
        "pr",
        "me",
        "st",
        "ste",
        "cf",
        "etc",
        "ex",
        "p",
        "pp",
        "vol",
        "no",
        "n°",
        "art",
        "al",
        "av",
        "bd",
        "fig",
        "mr",
        "mrs",
        "ms",
        "prof",
        "gen",
        "gov",
        "sen",
        "rep",
        "jr",
        "sr",
        "vs",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "est",
        "approx",
    ]
)
# Every pattern below is matched in time linear in the text (long runs of dots, spaces or
# letters and many abbreviations included): a match starts only at the start of a run of
# punctuation, no two quantifiers compete for the same characters, and the word before a
# full stop is read backwards over a bounded distance rather than searched from the
# sentence start (which was quadratic: one 200 KB word took minutes).
# A candidate end: terminal punctuation, closing quotes/brackets, then space.
_END = re.compile(r"(?<![.!?…])[.!?…]++(?: ?»|[\"”’)\]])*(?=\s)")
# What may start the next sentence.
_NEXT_START = re.compile(r"\s+(?:[«\"“(\[—–-]\s*)?[A-ZÀ-ÖØ-Þ0-9]")
_SPACES = re.compile(r"\s*")
# Longest abbreviation is far shorter; a longer word, or a longer run of symbols between
# the word and the full stop, means "not an abbreviation".
_LOOKBACK = 16


def paragraph_spans(body: str) -> list[Span]:
    """Ranges of the paragraphs of ``body``, trimmed: each line that holds text is one."""
    spans = []
    for m in re.finditer(r"[^\n]+", body):
        start, end = m.start(), m.end()
        while start < end and body[start].isspace():
            start += 1
        while end > start and body[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence ranges within ``text[start:end]``: split after terminal punctuation that is
    followed by a capital or digit, except after abbreviations and single initials."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    begin = start
    for m in _END.finditer(text, start, end):
        nxt = _NEXT_START.match(text, m.end(), end)
        if not nxt:
            continue
        if m.group().startswith(".") and len(m.group()) == 1:
            word = _word_before(text, begin, m.start())
            if word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
                continue
        spans.append((begin, m.end()))
        begin = _SPACES.match(text, m.end(), end).end()
    if begin < end and text[begin:end].strip():
        spans.append((begin, end))
    return spans


def _word_before(text: str, begin: int, stop: int) -> str:
    """The word (letters, digits, ``°``) ending ``text[begin:stop]`` before trailing symbols,
    read backwards at most ``_LOOKBACK`` characters each; "" when there is none that short."""
    floor = max(begin, stop - _LOOKBACK)
    end = stop
    while end > floor and not _is_word_char(text[end - 1]):
        end -= 1
    start = end
    while start > floor and _is_word_char(text[start - 1]):
        start -= 1
    if start == floor and start > begin and _is_word_char(text[start - 1]):
        return ""  # the word goes on beyond the look-back: too long to be an abbreviation
    return text[start:end]


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char in "_°"


def _split_long(text: str, span: Span, max_chars: int) -> Iterator[Span]:
    """Cut an over-long sentence at word boundaries into pieces of at most ``max_chars``."""
    start, end = span
    while end - start > max_chars:
        cut = text.rfind(" ", start + 1, start + max_chars + 1)
        if cut <= start:
            cut = start + max_chars
        yield start, cut
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        yield start, end


def chunk_spans(body: str, settings: ChunkSettings) -> list[Span]:
    """Pack sentences into passages between ``min_chars`` and ``max_chars`` of text.

    Passages end at paragraph boundaries once they are long enough, short paragraphs
    (one-line quotes) join their neighbours, a sentence is cut only when it alone exceeds
    ``max_chars``, and a too-short tail is merged back when it fits. Sizes count the text
    a reader sees: the blanks left where a caption or credit stood do not count.
    """
    units: list[tuple[int, int, bool]] = []  # (start, end, starts_paragraph)
    for p_start, p_end in paragraph_spans(body):
        first = True
        for sentence in sentence_spans(body, p_start, p_end):
            for piece in _split_long(body, sentence, settings.max_chars):
                units.append((piece[0], piece[1], first))
                first = False

    spans: list[tuple[int, int, int]] = []  # (start, end, characters of text)
    cur: tuple[int, int, int] | None = None
    for start, end, new_paragraph in units:
        if cur is None:
            cur = (start, end, end - start)
            continue
        joined = cur[2] + 1 + end - start
        if joined <= settings.max_chars and not (new_paragraph and cur[2] >= settings.min_chars):
            cur = (cur[0], end, joined)
        else:
            spans.append(cur)
            cur = (start, end, end - start)
    if cur is not None:
        if spans and cur[2] < settings.min_chars // 2 and spans[-1][2] + 1 + cur[2] <= settings.max_chars:
            last = spans.pop()
            cur = (last[0], cur[1], last[2] + 1 + cur[2])
        spans.append(cur)
    return [(start, _rstrip(body, start, end)) for start, end, _ in spans]


def _rstrip(text: str, start: int, end: int) -> int:
    """``end`` moved back over the spaces that close ``text[start:end]`` (a long sentence cut
    before a double space), never to ``start``."""
    while end - 1 > start and text[end - 1].isspace():
        end -= 1
    return end


def chunk_article(article: Article, settings: ChunkSettings) -> list[Passage]:
    return [
        Passage(
            id=f"{article.id}#{i}",
            article_id=article.id,
            ordinal=i,
            text=article.body[start:end],
            char_start=start,
            char_end=end,
        )
        for i, (start, end) in enumerate(chunk_spans(article.body, settings))
    ]
