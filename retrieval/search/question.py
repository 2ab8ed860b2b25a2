"""A question as search reads it: on one line, without control characters, of bounded length."""

from __future__ import annotations

import re

from ..corpus.analysis import normalize_text
from ..errors import BadQuestion

MAX_QUESTION_CHARS = 2000

# Terminal escape sequences (CSI such as the colour code ``ESC[31m``, OSC titles, two-character
# escapes) go whole; any other control character (C0, DEL, C1) is a space; bidirectional
# controls, which only reorder what is displayed, go. A question of nothing else is empty.
_ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -~]?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_question(question: str, *, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """The question on one line, without control characters; :class:`BadQuestion` if empty or too long."""
    text = _BIDI.sub("", _CONTROLS.sub(" ", _ESCAPES.sub("", question)))
    text = " ".join(normalize_text(text).split())
    if not text:
        raise BadQuestion("the question is empty")
    if len(text) > max_chars:
        raise BadQuestion(f"the question is too long ({len(text)} characters; the limit is {max_chars})")
    return text
