"""Questions about who wrote or published an article, answered from its byline and source.

"Who wrote the article about the treaty?", "Qui a écrit l'article ?", "Which agency is
credited on the story…?": the answer is not a sentence of the text but the article's
metadata. Asking who wrote something else ("Who wrote the letter to Putin?") is an
ordinary question: an authorship word must come with a word naming the article itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..types import ArticleInfo, Hit

_WHO_WROTE = re.compile(
    r"\b(?:who\s+(?:wrote|writes|authored|penned|signed|published)|written\s+by|authors?|byline"
    r"|(?:news\s+)?agency|credited|published\s+by"
    r"|qui\s+(?:a\s+)?(?:écrit|rédigé|signé|publié)|qui\s+(?:l[’']\s*)?(?:a\s+)?(?:écrit|signe|publie)"
    r"|écrit\s+par|rédigé\s+par|signé\s+par|publié\s+par|auteur|autrice|agence(?:\s+de\s+presse)?)\b",
    re.IGNORECASE,
)
_THE_ARTICLE = re.compile(r"\b(?:article|story|piece|papier|dépêche)s?\b", re.IGNORECASE)

CREDIT = {
    ("en", True, True): "The article “{title}” is by {byline}, with {source}.",
    ("en", True, False): "The article “{title}” is by {byline}.",
    ("en", False, True): "The article “{title}” is credited to {source}.",
    ("en", False, False): "The article “{title}” names neither its author nor its source.",
    ("fr", True, True): "L’article « {title} » est signé {byline}, avec {source}.",
    ("fr", True, False): "L’article « {title} » est signé {byline}.",
    ("fr", False, True): "L’article « {title} » a pour source {source}.",
    ("fr", False, False): "L’article « {title} » ne nomme ni son auteur ni sa source.",
}


def asks_who_wrote(question: str) -> bool:
    """True for a question about an article's author or source, not about its content.

    A follow-up is searched together with the previous question: only the last question
    of the text decides ("Who wrote the article? and what did Kim say?" is about Kim).
    """
    asked = _last_question(question)
    return bool(_WHO_WROTE.search(asked) and _THE_ARTICLE.search(asked))


_SUBJECT = re.compile(
    r"\b(?:article|story|piece|papier|dépêche)s?\s+(?:about|on|regarding|concerning|sur|à\s+propos\s+d[eu']?"
    r"|au\s+sujet\s+d[eu']?|concernant|de|du|des|d['’])\s*(?P<subject>.*\w)[\s?!.]*$",
    re.IGNORECASE,
)


def article_subject(question: str) -> str | None:
    """What the article asked about is about ("Qui a écrit l'article sur le pacte ?": "le pacte"), or
    None when the question names none ("Who wrote the article?"). Read from the last question of the
    text, as :func:`asks_who_wrote` reads it."""
    m = _SUBJECT.search(_last_question(question))
    return m["subject"].strip() if m else None


def who_wrote_subject(question: str) -> str | None:
    """For a question about who wrote the article on a subject, the subject: what to search for."""
    return article_subject(question) if asks_who_wrote(question) else None


def _last_question(text: str) -> str:
    return ([q for q in re.split(r"(?<=\?)\s+", text.strip()) if q][-1:] or [""])[0]


def credit_line(article: ArticleInfo, language: str) -> str:
    """One sentence naming the article's author and source, or saying it names neither."""
    template = CREDIT[(language if language == "fr" else "en", bool(article.byline), bool(article.source))]
    return template.format(title=article.title, byline=article.byline, source=article.source)


def credited_hits(hits: Sequence[Hit], most: int) -> list[Hit]:
    """One hit per article among the first ``most`` hits, best first, for the credit lines.

    The question names the article only by its subject, and the best passage is not always
    in the article meant: each candidate article is named with its own credit. Within an
    article, the passage showing the byline or source is cited when it was retrieved.
    """
    chosen: list[Hit] = []
    for hit in hits[:most]:
        if any(c.article.id == hit.article.id for c in chosen):
            continue
        names = [n for n in (hit.article.byline, hit.article.source) if n]
        same = [h for h in hits if h.article.id == hit.article.id]
        chosen.append(next((h for h in same if any(n in h.passage.text for n in names)), hit))
    return chosen
