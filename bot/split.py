"""Split Telegram HTML into messages that fit the Bot API limit, never inside a tag.

Cuts fall where every tag is closed, preferring (in order) paragraph breaks, line
breaks, sentence ends and spaces, so that ``"".join(split_html(s)) == s``. Only an
element that alone exceeds the limit is cut inside, by closing its open tags at the
end of one piece and reopening them at the start of the next.
"""

from __future__ import annotations

import re

TELEGRAM_LIMIT = 4096
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)([^<>]*)>")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_html(html: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Pieces of ``html``, each at most ``limit`` UTF-16 units, none cut inside a tag or entity."""
    if limit < 64:
        raise ValueError("limit too small to hold a tag")
    pieces: list[str] = []
    rest = html
    while utf16_len(rest) > limit:
        head, rest = _cut(rest, limit)
        pieces.append(head)
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _cut(text: str, limit: int) -> tuple[str, str]:
    """Split ``text`` once: the head fits in ``limit``."""
    best: dict[int, int] = {}  # priority -> largest cut index at depth 0
    stack: list[tuple[str, str]] = []  # open tags: (name, full opening tag)
    last_safe = 0  # largest index outside any tag/entity (depth may be > 0)
    last_safe_stack: list[tuple[str, str]] = []
    used = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "<" and (m := _TAG.match(text, i)):
            token, is_close, name = m.group(0), m.group(1), m.group(2).lower()
            width = utf16_len(token)
            if used + width > limit:
                break
            if is_close:
                if stack and stack[-1][0] == name:
                    stack.pop()
            elif not token.endswith("/>"):
                stack.append((name, token))
            used += width
            i = m.end()
        elif ch == "&" and (m := _ENTITY.match(text, i)):
            width = len(m.group(0))
            if used + width > limit:
                break
            used += width
            i = m.end()
        else:
            width = 2 if ord(ch) > 0xFFFF else 1
            if used + width > limit:
                break
            used += width
            i += 1
        # ``i`` is now a position between tokens: a possible cut.
        if not stack:
            best[_priority(text, i)] = i
        if _closing_width(stack) + used <= limit:
            last_safe, last_safe_stack = i, list(stack)
    for priority in range(5):
        cut = best.get(priority, 0)
        if cut and (cut >= limit // 4 or priority == 4):
            return text[:cut], text[cut:]
    if best:
        cut = max(best.values())
        return text[:cut], text[cut:]
    # One element longer than the limit: close what is open, reopen it in the next piece.
    cut = max(last_safe, 1)
    closing = "".join(f"</{name}>" for name, _ in reversed(last_safe_stack))
    reopening = "".join(tag for _, tag in last_safe_stack)
    return text[:cut] + closing, reopening + text[cut:]


def _closing_width(stack: list[tuple[str, str]]) -> int:
    return sum(len(name) + 3 for name, _ in stack)


def _priority(text: str, i: int) -> int:
    """0 = after a blank line, 1 = after a newline, 2 = after a sentence end, 3 = after a space, 4 = anywhere."""
    before = text[max(0, i - 2) : i]
    if before == "\n\n":
        return 0
    if before.endswith("\n"):
        return 1
    if len(before) == 2 and before[1] == " " and before[0] in ".!?…»":
        return 2
    if before.endswith(" "):
        return 3
    return 4
