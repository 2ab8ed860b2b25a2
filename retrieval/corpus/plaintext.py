"""Is this text, and is it prose? Decide by decoding and by measuring letters and words.

Control bytes alone are a poor test: UTF-16 is full of NUL bytes and is text, while
random printable bytes have none and are not. So bytes are decoded first (a BOM names
UTF-8/16/32; then UTF-8; then Windows-1252 if it reads like Latin-1 prose), and the
decoded text must be mostly letters with almost no control or unassigned characters.
Whether a body is prose (real words, varied as language is) is ``prose.py``'s judgement.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections import Counter
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


def check_text(text: str, path: Path) -> None:
    """Refuse decoded text that is binary or noise: control/unassigned characters, too few letters.

    Judged on the whole text from one count of its characters (a C-level pass), then one look at
    each distinct character: linear in the size, whatever the size."""
    chars = Counter(text)
    visible = sum(n for c, n in chars.items() if not c.isspace())
    if not visible:
        raise BadArticle(path, "empty file")
    bad = sum(n for c, n in chars.items() if _ASCII_CONTROL.match(c) or (c > "\x7f" and _bad_category(c)))
    if bad > MAX_BAD_SHARE * visible:
        raise BadArticle(path, f"binary data, not text ({bad} control or unassigned characters)")
    letters = sum(n for c, n in chars.items() if c.isalpha())
    if letters < MIN_LETTER_SHARE * visible:
        raise BadArticle(path, f"not prose: only {100 * letters // visible}% of its characters are letters")


def _bad_category(char: str) -> bool:
    return unicodedata.category(char) in _BAD_CATEGORIES


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
