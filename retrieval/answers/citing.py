"""What an answer shows of each passage it cites: the passage's body, from its first sentence that
could be quoted to its last."""

from __future__ import annotations

from dataclasses import replace

from ..corpus.analysis import tidy
from ..types import Citation, Hit, Passage


def body_of(hit: Hit) -> Passage:
    """``hit``'s passage from its first quotable sentence to its last (offsets in the article's file,
    as the passage's). A byline, a dateline or a credit at either edge ("Par Adam Morrow", "(Séoul)",
    "Avec Reuters") is the article's metadata, on the citation's own line, not evidence; one between
    two sentences stays, so that what is shown is one verbatim span of the file. Without a sentence
    table (no multilingual encoder), the passage whole."""
    passage = hit.passage
    if not hit.sentences:
        return passage
    start = max(passage.char_start, min(s.char_start for s in hit.sentences))
    end = min(passage.char_end, max(s.char_end for s in hit.sentences))
    if (start, end) == (passage.char_start, passage.char_end) or start >= end:
        return passage
    text = passage.text[start - passage.char_start : end - passage.char_start]
    return replace(passage, text=text, char_start=start, char_end=end)


def citation(n: int, hit: Hit) -> Citation:
    """Citation number ``n`` of ``hit``: its article and the body of its passage."""
    body = body_of(hit)
    return Citation(n=n, article=hit.article, passage=body, quote=tidy(body.text), score=hit.score)
