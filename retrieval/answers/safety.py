"""Article text is data, never instructions: spot text that addresses an AI assistant.

News prose does not tell a language model to ignore its instructions; a page that does is
trying to steer the bot (prompt injection). Such sentences are never quoted as an answer
and are blanked out of what an LLM is shown.
"""

from __future__ import annotations

import re

_INSTRUCTION_LIKE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:\w+\s+){0,3}(?:instructions?|prompts?|rules|directives)\b"
    r"|\b(?:ignorez|ignore|oubliez|oublie)\s+(?:\w+\s+){0,3}(?:instructions?|consignes?|règles)\b"
    r"|\bsystem\s+prompt\b|\bprompt\s+système\b"
    r"|\b(?:you\s+are\s+now|from\s+now\s+on\s+you|tu\s+es\s+maintenant|vous\s+êtes\s+maintenant)\b"
    r"|\b(?:reply|respond|answer|répondez|réponds)\s+(?:only\s+|uniquement\s+|seulement\s+)?(?:with\s+)?[«\"']?[A-Z]{4,}\b",
    re.IGNORECASE,
)
REDACTED = "[…]"


def is_instruction_like(text: str) -> bool:
    return _INSTRUCTION_LIKE.search(text) is not None


def redact_instructions(text: str, sentences: list[tuple[int, int]]) -> str:
    """``text`` with every sentence span (offsets into ``text``) that gives orders replaced by ``[…]``."""
    out, last = [], 0
    for start, end in sentences:
        if is_instruction_like(text[start:end]):
            out += [text[last:start], REDACTED]
            last = end
    out.append(text[last:])
    return "".join(out)
