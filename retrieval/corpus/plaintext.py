"""Is this text, and is it prose? Decide by decoding and by measuring letters and words.

Control bytes alone are a poor test: UTF-16 is full of NUL bytes and is text, while
random printable bytes have none and are not. So bytes are decoded first (a BOM names
UTF-8/16/32; then UTF-8; then Windows-1252 if it reads like Latin-1 prose), and the
decoded text must be mostly letters with almost no control or unassigned characters.
An article body must also hold real words: punctuation or noise is never an article.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from ..errors import BadArticle

# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})  # controls, surrogates, private use, unassigned
MAX_BAD_SHARE = 0.01
MIN_LETTER_SHARE = 0.5
MIN_WORDS = 3
MIN_WORD_SHARE = 0.5
# A word: letters (apostrophes and hyphens inside), wrapped in at most some punctuation.
_WORD = re.compile(r"(?<!\S)[(\[«\"“‘'¡¿*_-]*[^\W\d_]{2,}(?:['’-][^\W\d_]+)*[.,;:!?…)\]»\"”’'*_-]*(?!\S)")


def decode(raw: bytes, path: Path) -> tuple[str, tuple[str, ...]]:
    """Text of ``raw`` and any warnings; :class:`BadArticle` when it is not text."""
    if not raw.strip():
        raise BadArticle(path, "empty file")
    text, warnings = _decode(raw, path)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise BadArticle(path, "empty file")
    check_text(text, path)
    return text, warnings


SAMPLE_CHARS = 200_000  # measured in full below this; above, on evenly spread windows of it


def sample(text: str) -> str:
    """``text``, or for a long one four windows spread over it: the measures stay cheap at any size."""
    if len(text) <= SAMPLE_CHARS:
        return text
    width, step = SAMPLE_CHARS // 4, (len(text) - SAMPLE_CHARS // 4) // 3
    return "\n".join(text[i * step : i * step + width] for i in range(4))


def check_text(text: str, path: Path) -> None:
    """Refuse decoded text that is binary or noise: control/unassigned characters, too few letters."""
    text = sample(text)
    visible = len(text) - sum(map(str.isspace, text))
    if not visible:
        raise BadArticle(path, "empty file")
    bad = len(_ASCII_CONTROL.findall(text)) + sum(
        unicodedata.category(c) in _BAD_CATEGORIES for c in text if ord(c) > 127
    )
    if bad > MAX_BAD_SHARE * visible:
        raise BadArticle(path, f"binary data, not text ({bad} control or unassigned characters)")
    letters = sum(map(str.isalpha, text))
    if letters < MIN_LETTER_SHARE * visible:
        raise BadArticle(path, f"not prose: only {100 * letters // visible}% of its characters are letters")


def check_prose(body: str, path: Path) -> None:
    """Refuse a cleaned body whose tokens are mostly not words of letters (punctuation, digits,
    symbols, letters run together with digits or symbols). Random letters cut into word-sized
    tokens do pass: telling them from a language this check does not know is not attempted."""
    check_text(body, path)
    body = sample(body)
    tokens = len(body.split())
    words = len(_WORD.findall(body))
    if words < MIN_WORDS or words < MIN_WORD_SHARE * tokens:
        raise BadArticle(path, f"not prose: {words} real words in {tokens} tokens")


def _decode(raw: bytes, path: Path) -> tuple[str, tuple[str, ...]]:
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(codec), ()
            except UnicodeDecodeError:
                continue  # not that encoding after all (FF FE 00 00 may be UTF-16 text; or garbage)
    if b"\x00" in raw:
        codec = _bomless_utf16(raw)
        if codec is None:
            raise BadArticle(path, "binary file (NUL bytes), not text")
        try:
            return raw.decode(codec), ()
        except UnicodeDecodeError:
            raise BadArticle(path, "binary file (NUL bytes), not text") from None
    try:
        return raw.decode("utf-8"), ()
    except UnicodeDecodeError as err:
        utf8_error = err.start
    # Not UTF-8. Windows-1252 (a superset of Latin-1 for text) is what such files almost always
    # are; bytes it leaves undefined mean it is not that either.
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is None or not _plausible_latin1(text):
        raise BadArticle(path, f"not valid UTF-8 (bad byte at offset {utf8_error}) nor Latin-1 text") from None
    return text, (f"{path.name}: not UTF-8; read as Latin-1/Windows-1252 and converted",)


def _bomless_utf16(raw: bytes) -> str | None:
    """UTF-16 without a BOM: mostly-ASCII text has a NUL in every other byte, on one side."""
    if len(raw) % 2:
        return None
    even, odd = raw[0::2], raw[1::2]
    half = len(raw) // 2
    if odd.count(0) >= 0.6 * half and not even.count(0):
        return "utf-16-le"
    if even.count(0) >= 0.6 * half and not odd.count(0):
        return "utf-16-be"
    return None


def _plausible_latin1(text: str) -> bool:
    """Latin-1 prose: mostly ASCII letters, its other characters letters (é, à, ç), never in runs."""
    extra = [c for c in text if ord(c) > 127]
    if not extra:
        return True
    letters = sum(c.isalpha() for c in extra)
    ascii_letters = sum(c.isascii() and c.isalpha() for c in text)
    return (
        letters >= 0.8 * len(extra)
        and len(extra) <= 0.3 * (ascii_letters + letters)
        and not re.search(r"[^\x00-\x7f]{3,}", text)
    )
