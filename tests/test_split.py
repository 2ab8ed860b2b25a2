"""Property tests of the Telegram splitter: within the limit, valid HTML, nothing lost."""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.split import split_html, utf16_len

TAG = re.compile(r"<(/?)([a-z-]+)[^<>]*>")


def balanced(piece: str) -> bool:
    """Every tag closed in order, and no stray '<' or '&' outside tags/entities."""
    stack: list[str] = []
    for m in TAG.finditer(piece):
        if m.group(1):
            if not stack or stack.pop() != m.group(2):
                return False
        else:
            stack.append(m.group(2))
    rest = TAG.sub("", piece)
    if "<" in rest or ">" in rest:
        return False
    return not re.search(r"&(?!(?:lt|gt|amp|quot|#\d+);)", rest) and not stack


words = st.text(
    alphabet=st.sampled_from([*list("abcdefghijklmnopqrstuvwxyz éàçÉ.,!?«»’\n"), "😀", "𝔸", "<", ">", "&"]),
    min_size=0,
    max_size=120,
).map(lambda s: html.escape(s, quote=False))


@st.composite
def telegram_html(draw: st.DrawFn) -> str:
    blocks = []
    for _ in range(draw(st.integers(1, 40))):
        text = draw(words)
        kind = draw(st.sampled_from(["plain", "b", "i", "a", "blockquote", "nested"]))
        if kind == "plain":
            blocks.append(text)
        elif kind == "a":
            blocks.append(f'<a href="https://example.org/?q=1&amp;r=2">{text}</a>')
        elif kind == "nested":
            blocks.append(f"<b>[{len(blocks)}] <i>{text}</i></b>")
        else:
            blocks.append(f"<{kind}>{text}</{kind}>")
        blocks.append(draw(st.sampled_from(["\n\n", "\n", " ", ". ", ""])))
    return "".join(blocks)


@settings(max_examples=300, deadline=None)
@given(doc=telegram_html(), limit=st.integers(200, 600))
def test_pieces_fit_are_valid_and_join_to_the_original(doc, limit):
    pieces = split_html(doc, limit)
    assert "".join(pieces) == doc
    for piece in pieces:
        assert utf16_len(piece) <= limit
        assert balanced(piece), piece


def test_short_text_is_one_piece():
    assert split_html("<b>hi</b> there") == ["<b>hi</b> there"]


def test_prefers_paragraph_boundaries():
    paragraphs = [f"<b>[{i}]</b> " + "mot " * 200 + "fin." for i in range(10)]
    doc = "\n\n".join(paragraphs)
    pieces = split_html(doc, 4096)
    assert len(pieces) > 1
    assert all(p.endswith("\n\n") or p is pieces[-1] for p in pieces)
    assert "".join(pieces) == doc


def test_counts_utf16_units():
    doc = "😀" * 3000  # 6000 UTF-16 units
    pieces = split_html(doc, 4096)
    assert [utf16_len(p) for p in pieces] == [4096, 1904]


def test_an_element_longer_than_the_limit_is_closed_and_reopened():
    doc = "<blockquote>" + "a" * 9000 + "</blockquote>"
    pieces = split_html(doc, 4096)
    assert len(pieces) == 3
    assert all(utf16_len(p) <= 4096 and balanced(p) for p in pieces)
    assert "".join(TAG.sub("", p) for p in pieces) == "a" * 9000
