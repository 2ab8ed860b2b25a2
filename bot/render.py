"""Turn core results into what a medium shows: terminal text and the JSON contracts."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from retrieval.answers.extractive import NOT_FOUND
from retrieval.corpus.analysis import tidy
from retrieval.corpus.ingest import AddReport
from retrieval.engine import Stats
from retrieval.evaluation import ConversationReport, EvalReport
from retrieval.types import Answer, ArticleInfo, ArticleSummary, Citation, Hit, IndexReport, Quote

from .texts import NOT_FOUND_HINTED, Messages, count, messages_for

#: What a terminal may act on rather than print: C0 controls but tab and newline (ESC starts
#: CSI/OSC sequences, BEL, CR overwrites the line, BS), DEL, the C1 block (U+009B is a
#: one-character CSI, U+009D an OSC), and the bidirectional overrides and isolates that reorder
#: what is shown (a title could display as something else than what it is).
_TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` with every control character a terminal could act on removed (``\\r\\n`` becomes ``\\n``).

    The CLI passes everything it prints through this: titles, quotes, file names, URLs and error
    messages can come from an article or from the user, and must not move the cursor, retitle the
    window, plant a hyperlink or ring the bell.
    """
    return _TERMINAL_CONTROLS.sub("", text.replace("\r\n", "\n"))


def _escape_control(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_line(data: dict[str, Any]) -> str:
    """One JSON object on one line, non-ASCII text kept readable.

    ``json.dumps`` escapes C0 controls but, with ``ensure_ascii=False``, writes DEL, C1 controls
    (U+009B is a CSI on some terminals) and bidi overrides raw; they are escaped here too, so the
    line is still lossless JSON and safe to view.
    """
    return _TERMINAL_CONTROLS.sub(_escape_control, json.dumps(data, ensure_ascii=False))


def hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "rank": hit.rank,
        "score": round(hit.score, 6),
        "article_id": hit.article.id,
        "title": hit.article.title,
        "date": hit.article.date,
        "source": hit.article.source,
        "text": tidy(hit.passage.text),
        "char_start": hit.passage.char_start,
        "char_end": hit.passage.char_end,
    }


def search_json(question: str, hits: list[Hit]) -> dict[str, Any]:
    return {"question": question, "hits": [hit_json(h) for h in hits]}


def citation_json(c: Citation, quotes: tuple[Quote, ...] = ()) -> dict[str, Any]:
    """One citation: ``quote`` is the cited passage; ``sentences`` what the answer quotes of it.
    Every offset is a character offset into the article's file."""
    return {
        "n": c.n,
        "article_id": c.article.id,
        "title": c.article.title,
        "date": c.article.date,
        "source": c.article.source,
        "quote": c.quote,
        "char_start": c.passage.char_start,
        "char_end": c.passage.char_end,
        "sentences": [
            {"text": q.text, "char_start": q.char_start, "char_end": q.char_end} for q in quotes if q.n == c.n
        ],
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "citations": [citation_json(c, answer.quotes) for c in answer.citations],
    }


def index_json(report: IndexReport) -> dict[str, Any]:
    return {
        "added": len(report.added),
        "updated": len(report.updated),
        "removed": len(report.removed),
        "unchanged": len(report.unchanged),
        "passages": report.passages,
        "seconds": round(report.seconds, 3),
        "articles": report.articles,
        "embedded_passages": report.embedded_passages,
        "full_rebuild": report.full_rebuild,
        "published": report.published,  # False: nothing changed, ``version`` stays current
        "version": report.version,
        "errors": [{"file": e.label, "reason": e.reason} for e in report.errors],
    }


def add_json(report: AddReport, index: IndexReport | None) -> dict[str, Any]:
    return {
        "added": [
            {
                "source": a.source,
                "article_id": a.article_id,
                "file": a.file,
                "title": a.title,
                "warnings": list(a.warnings),
            }
            for a in report.added
        ],
        "refused": [{"source": e.label, "reason": e.reason} for e in report.refused],
        "index": index_json(index) if index is not None else None,
    }


def article_json(summary: ArticleSummary) -> dict[str, Any]:
    info = summary.info
    return {
        "article_id": info.id,
        "title": info.title,
        "date": info.date,
        "source": info.source,
        "byline": info.byline,
        "url": info.url,
        "passages": summary.passages,
        "file": summary.path,
    }


def stats_json(stats: Stats) -> dict[str, Any]:
    return {
        "version": stats.version,
        "encoders": stats.encoders,
        "articles": stats.articles,
        "passages": stats.passages,
        "sentences": stats.sentences,
        "created_at": stats.created_at,
        "build_seconds": stats.build_seconds,
        "disk_bytes": stats.disk_bytes,
        "chunking": stats.chunking,
        "index_types": stats.index_types,
    }


# --- terminal ---------------------------------------------------------------------------


def describe(article: ArticleInfo) -> str:
    """``Title — 2024-06-19, Reuters`` with whatever is known."""
    extra = ", ".join(x for x in (article.date, article.source) if x)
    return f"{article.title} — {extra}" if extra else article.title


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line else "" for line in text.splitlines())


def hits_text(question: str, hits: list[Hit]) -> str:
    if not hits:
        return f"No passages found for: {question}"
    blocks = [
        f"[{h.rank}] {describe(h.article)}  ({h.article.id}, score {h.score:.3f})\n{_indent(tidy(h.passage.text))}"
        for h in hits
    ]
    return "\n\n".join(blocks)


SOURCES_HINT = {
    "en": "(`ragbot sources` lists the articles.)",
    "fr": "(`ragbot sources` liste les articles.)",
    "es": "(`ragbot sources` muestra los artículos.)",
    "de": "(`ragbot sources` zeigt die Artikel.)",
    "it": "(`ragbot sources` elenca gli articoli.)",
    "pt": "(`ragbot sources` lista os artigos.)",
}


def answer_text(answer: Answer, *, passages: bool = False) -> str:
    """The answer, then one line per source: title, date, source, article id and the offsets of what
    is quoted. ``passages``: each cited passage follows its line, whole."""
    if answer.abstained:
        return f"{answer.text} {SOURCES_HINT.get(answer.language, SOURCES_HINT['en'])}"
    lines = [answer.text, ""]
    for c in answer.citations:
        lines.append(f"[{c.n}] {describe(c.article)} · {c.article.id}, {_chars(answer, c)}")
        if passages:
            lines.append(_indent(f"“{c.quote}”", "    "))
    return "\n".join(lines)


def date_span(summaries: list[ArticleSummary]) -> str:
    """The months the articles were published in, first to last ("2023-08 – 2024-06"), or "?"."""
    dates = sorted(s.info.date for s in summaries if s.info.date)
    return f"{dates[0][:7]} – {dates[-1][:7]}" if dates else "?"


def courtesy_text(kind: str, texts: Messages, summaries: list[ArticleSummary]) -> str:
    """The question loop's answer to a message that only thanks, greets, asks what it can do or is a
    link (see :func:`.texts.courtesy`): no question to search for."""
    if kind == "thanks":
        return texts.you_are_welcome
    if kind == "link":
        return texts.cli_link
    if kind == "wordless":
        return texts.empty_question
    return texts.cli_welcome.format(articles=len(summaries), dates=date_span(summaries))


def sources_text(summaries: list[ArticleSummary]) -> str:
    lines = []
    for s in summaries:
        info = s.info
        meta = " · ".join(x for x in (info.date or "no date", info.source, info.byline and f"by {info.byline}") if x)
        lines.append(f"{info.id}  {info.title}\n    {meta} · {count(s.passages, 'passage|passages')}")
    return "\n".join(lines) if lines else "No articles indexed."


def stats_text(stats: Stats) -> str:
    """The current snapshot as aligned ``label  value`` lines (``--json`` has the same for scripts)."""
    chunking = dict(stats.chunking or {})
    low, high, strategy = (
        chunking.pop("min_chars", None),
        chunking.pop("max_chars", None),
        chunking.pop("strategy", None),
    )
    titled = bool(chunking.pop("title_context", False))
    chunks = ", ".join(
        [f"{low}–{high} characters per passage"] * (low is not None and high is not None)
        + ["encoded with the article title"] * titled
        + [f"{k.replace('_', ' ')} {v}" for k, v in sorted(chunking.items())]
    )
    chunks += f" ({strategy})" if strategy else ""
    rows = [
        ("snapshot", stats.version),
        ("built", f"{stats.created_at} in {stats.build_seconds:.1f} s"),
        *((role, f"{e['model']} ({e['dim']} dimensions)") for role, e in stats.encoders.items()),
        ("articles", str(stats.articles)),
        ("passages", f"{stats.passages} ({count(stats.sentences, 'sentence|sentences')})"),
        ("chunking", chunks or "-"),
        ("indexes", ", ".join(f"{name} {kind}" for name, kind in sorted(stats.index_types.items())) or "-"),
        ("on disk", _size(stats.disk_bytes)),
    ]
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label:<{width}}{value}" for label, value in rows)


def serving_text(bot_name: str, store: str, stats: Stats, *, webhook: bool) -> str:
    """The one line ``ragbot serve`` prints once it is running: who, on what, and how to stop it."""
    mode = "webhook" if webhook else "long polling"
    return (
        f"serving @{bot_name} ({mode}): {store} store, {count(stats.articles, 'article|articles')}, "
        f"{count(stats.passages, 'passage|passages')}. Stop with Ctrl-C (or SIGTERM)."
    )


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return count(n, "byte|bytes")


def index_text(report: IndexReport) -> str:
    if not report.published:
        articles = count(report.articles, "article|articles")
        line = f"Nothing changed: {articles} ({count(report.passages, 'passage|passages')}) already indexed"
        line += f" in {report.version}"
        if report.errors:
            line += f" ({count(len(report.errors), 'file|files')} skipped)"
        return line
    line = (
        f"Indexed {count(report.articles, 'article|articles')} into {count(report.passages, 'passage|passages')}"
        f" in {report.seconds:.1f} s"
    )
    changes = f"{len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed"
    line += (
        f" ({'full rebuild' if report.full_rebuild else 'incremental'}: {changes}, {len(report.unchanged)} unchanged)"
    )
    if report.errors:
        line += f" ({count(len(report.errors), 'file|files')} skipped)"
    return line


def eval_json(report: EvalReport) -> dict[str, Any]:
    return {
        "k": report.k,
        "rows": [
            {
                "slice": r.name,
                "answerable": r.answerable,
                "recall@1": round(r.recall_at_1, 4),
                "recall@5": round(r.recall_at_5, 4),
                "mrr": round(r.mrr, 4),
                "unanswerable": r.unanswerable,
                "abstained_correctly": r.abstained_correctly,
                "abstention_accuracy": None if r.abstention_accuracy is None else round(r.abstention_accuracy, 4),
                "false_abstentions": r.false_abstentions,
                "answer_quotes_gold": round(r.answer_quotes_gold, 4),
            }
            for r in report.rows
        ],
        "items": [
            {
                "id": i.item.id,
                "lang": i.item.lang,
                "answerable": i.item.answerable,
                "rank": i.rank,
                "abstained": i.abstained,
            }
            for i in report.items
        ],
    }


def eval_text(report: EvalReport) -> str:
    head = f"{'slice':<6} {'n':>3} {'R@1':>6} {'R@5':>6} {'MRR':>6}  {'abstain':>9} {'false-abst':>10} {'quoted':>7}"
    lines = [head, "-" * len(head)]
    for r in report.rows:
        abst = f"{r.abstained_correctly}/{r.unanswerable}" if r.unanswerable else "-"
        lines.append(
            f"{r.name:<6} {r.answerable:>3} {r.recall_at_1:>6.3f} {r.recall_at_5:>6.3f} {r.mrr:>6.3f}"
            f"  {abst:>9} {r.false_abstentions:>10} {r.answer_quotes_gold:>7.3f}"
        )
    missed = [i.item.id for i in report.items if i.item.answerable and (i.rank is None or i.rank > 5)]
    if missed:
        lines.append(f"not in top 5: {', '.join(missed)}")
    lines.append(
        f"(MRR over the top {report.k}; abstention from `ask` on unanswerable questions; "
        "quoted = the answer quotes a gold passage's words)"
    )
    return "\n".join(lines)


def conversations_json(report: ConversationReport) -> dict[str, Any]:
    return {
        "answerable": report.answerable,
        "lead": report.lead,
        "anywhere": report.anywhere,
        "false_refusals": report.false_refusals,
        "must_refuse": report.must_refuse,
        "refused": report.refused,
        "mean_answer_chars": round(report.mean_answer_chars, 1),
        "turns": [
            {
                "conversation": t.conversation,
                "question": t.turn.question,
                "refuse": t.turn.refuse,
                "abstained": t.answer.abstained,
                "lead": t.lead,
                "anywhere": t.anywhere,
                "answer": t.answer.text,
            }
            for t in report.turns
        ],
    }


def conversations_text(report: ConversationReport) -> str:
    """Each turn that went wrong, then the totals."""
    lines = []
    for t in report.turns:
        if t.turn.refuse:
            verdict = None if t.answer.abstained else "answered, should refuse"
        elif t.answer.abstained:
            verdict = "refused, should answer"
        else:
            verdict = None if t.lead else ("gold in a later sentence" if t.anywhere else "gold not quoted")
        if verdict:
            lines.append(f"{t.conversation}: {t.turn.question}  -> {verdict}")
    n = report.answerable or 1
    lines.append(
        f"lead {report.lead}/{report.answerable} ({report.lead / n:.0%}), gold anywhere {report.anywhere}/"
        f"{report.answerable}, refused {report.refused}/{report.must_refuse}, false refusals "
        f"{report.false_refusals}, mean answer {report.mean_answer_chars:.0f} characters"
    )
    return "\n".join(lines)


# --- Telegram HTML -------------------------------------------------------------------------


def escape_html(text: str | None) -> str:
    """Escape ``<``, ``>`` and ``&`` for Telegram's HTML parse mode."""
    return html.escape(text or "", quote=False)


_h = escape_html


def describe_html(article: ArticleInfo) -> str:
    extra = ", ".join(_h(x) for x in (article.date, article.source) if x)
    title = f"<b>{_h(article.title)}</b>"
    return f"{title} — {extra}" if extra else title


def answer_html(answer: Answer, texts: Messages) -> str:
    """The chat reply: the answer, then one line per numbered citation (title, date, source, article
    id and the offsets of what is quoted). A refusal speaks the question's language, hint included;
    another answer that quotes nothing says its own words ("That is all I found on this…")."""
    if answer.abstained and answer.text == NOT_FOUND.get(answer.language):
        return _h(NOT_FOUND_HINTED.get(answer.language, messages_for(answer.language).not_found))
    if answer.abstained:
        return _h(answer.text)
    lines = [_h(answer.text), ""]
    lines += [
        f"[{c.n}] {describe_html(c.article)} · <code>{_h(c.article.id)}</code>, {_chars(answer, c)}"
        for c in answer.citations
    ]
    return "\n".join(lines)


def _chars(answer: Answer, citation: Citation) -> str:
    """``chars 532–797``: the offsets of what the answer quotes from ``citation`` (its passage's if nothing)."""
    spans = [(q.char_start, q.char_end) for q in answer.quotes if q.n == citation.n] or [
        (citation.passage.char_start, citation.passage.char_end)
    ]
    return "chars " + ", ".join(f"{a}–{b}" for a, b in spans)


def sources_html(answer: Answer) -> str:
    """The quoted passages behind an answer, one block per citation, headed in the answer's language."""
    blocks = [f"<b>{_h(messages_for(answer.language).sources_heading)}</b>"]
    for c in answer.citations:
        blocks.append(f"[{c.n}] {describe_html(c.article)}\n<blockquote>{_h(c.quote)}</blockquote>")
    return "\n\n".join(blocks)


def articles_html(summaries: list[ArticleSummary], texts: Messages, *, ids: bool = False) -> str:
    """The indexed articles, one line each; ``ids``: each with its id (what an admin's /remove takes)."""
    if not summaries:
        return _h(texts.no_articles)
    lines = [f"<b>{_h(texts.sources_list_heading.format(n=len(summaries)))}</b>", ""]
    for i, s in enumerate(summaries, start=1):
        named = f" · <code>{_h(s.info.id)}</code>" if ids else ""
        lines.append(
            f"{i}. {describe_html(s.info)} <i>({count(s.passages, 'passage|passages', texts.lang)})</i>{named}"
        )
    return "\n".join(lines)


def html_to_plain(text: str) -> str:
    """What a reader sees of Telegram HTML: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))
