"""Split a cleaned article body into sentence-aware passages of bounded size.

Every passage is a ``[char_start, char_end)`` range of the body, so its text is
always ``body[char_start:char_end]`` and a citation can point at exact characters (the
body keeps its file's offsets, see :mod:`.cleaning`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

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
    return [(start, end) for start, end, _ in _packed(body, settings)]


#: a unit of a passage: a sentence, or a piece of one cut for length (``continued``: not its first piece)
_Unit = tuple[int, int, bool]


def _packed(body: str, settings: ChunkSettings) -> list[tuple[int, int, list[_Unit]]]:
    """:func:`chunk_spans`, each passage with the units (sentences or pieces) it packs."""
    units: list[tuple[int, int, bool, bool]] = []  # (start, end, starts_paragraph, continued)
    for p_start, p_end in paragraph_spans(body):
        first = True
        for sentence in sentence_spans(body, p_start, p_end):
            for k, piece in enumerate(_split_long(body, sentence, settings.max_chars)):
                units.append((piece[0], piece[1], first, k > 0))
                first = False

    spans: list[tuple[int, int, int, list[_Unit]]] = []  # (start, end, characters of text, units)
    cur: tuple[int, int, int, list[_Unit]] | None = None
    for start, end, new_paragraph, continued in units:
        if cur is None:
            cur = (start, end, end - start, [(start, end, continued)])
            continue
        joined = cur[2] + 1 + end - start
        if joined <= settings.max_chars and not (new_paragraph and cur[2] >= settings.min_chars):
            cur[3].append((start, end, continued))
            cur = (cur[0], end, joined, cur[3])
        else:
            spans.append(cur)
            cur = (start, end, end - start, [(start, end, continued)])
    if cur is not None:
        if spans and cur[2] < settings.min_chars // 2 and spans[-1][2] + 1 + cur[2] <= settings.max_chars:
            last = spans.pop()
            cur = (last[0], cur[1], last[2] + 1 + cur[2], last[3] + cur[3])
        spans.append(cur)
    return [(start, _rstrip(body, start, end), packed) for start, end, _, packed in spans]


def _rstrip(text: str, start: int, end: int) -> int:
    """``end`` moved back over the spaces that close ``text[start:end]`` (a long sentence cut
    before a double space), never to ``start``."""
    while end - 1 > start and text[end - 1].isspace():
        end -= 1
    return end


def chunk_article(article: Article, settings: ChunkSettings) -> list[Passage]:
    return [_passage(article, i, start, end) for i, (start, end) in enumerate(chunk_spans(article.body, settings))]


def _passage(article: Article, i: int, start: int, end: int) -> Passage:
    return Passage(
        id=f"{article.id}#{i}",
        article_id=article.id,
        ordinal=i,
        text=article.body[start:end],
        char_start=start,
        char_end=end,
    )


def chunk_with_sentences(article: Article, settings: ChunkSettings) -> tuple[list[Passage], list[tuple[int, int, int]]]:
    """The article's passages, and the quotable sentences of each: (passage ordinal, char_start,
    char_end) in its body, what :func:`passage_sentences` gives for each passage.

    The chunker already split the body into sentences: a passage's sentences are the ones it
    packed (a passage holds whole sentences, or a piece of one cut for length), so they are not
    split again. A passage opening on a later piece of a cut sentence is split again (its first
    sentence then starts at the piece, where a word cut in two may read otherwise)."""
    passages, sentences = [], []
    for i, (start, end, units) in enumerate(_packed(article.body, settings)):
        passage = _passage(article, i, start, end)
        passages.append(passage)
        if units[0][2]:
            spans = passage_sentences(passage, article.unquotable)
        else:
            spans = _quotable(article.body, [(s, _rstrip(article.body, s, e)) for s, e, _ in units], article.unquotable)
        sentences.extend((i, s, e) for s, e in spans)
    return passages, sentences


def passage_sentences(passage: Passage, unquotable: Sequence[Span] = ()) -> list[Span]:
    """Sentence ranges of a passage, as offsets into its article's body, without the ``unquotable``
    ranges (a byline line, a "SÉOUL –" dateline before the first sentence): what answers may quote."""
    text, offset = passage.text, passage.char_start
    found = [
        (offset + start, offset + end)
        for p_start, p_end in paragraph_spans(text)
        for start, end in sentence_spans(text, p_start, p_end)
    ]
    return _quotable(text, found, unquotable, offset)


def _quotable(text: str, spans: Sequence[Span], unquotable: Sequence[Span], offset: int = 0) -> list[Span]:
    """``spans`` (offsets into ``text`` plus ``offset``) each started past the unquotable range it
    starts in and past its spaces, without the ones then empty or inside an unquotable range."""
    out = []
    for start, end in spans:
        for a, b in unquotable:
            if a <= start < b:
                start = b
        while start < end and text[start - offset].isspace():
            start += 1
        if end > start and not any(a <= start and end <= b for a, b in unquotable):
            out.append((start, end))
    return out
