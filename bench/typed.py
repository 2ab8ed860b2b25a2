"""Conversations as people type them: each conversations file asked as written, without its
accents, and all in lower case. Prints one JSON object.

python -m bench.typed eval/conversations_followups.jsonl eval/conversations_users.jsonl

Many people type French without accents, or a whole question in lower case (a phone, an
English keyboard). The bot should answer them as it answers the question spelt in full
(``retrieval/corpus/accents.py``, ``retrieval/corpus/casing.py``). For each file and each way of
typing: lead, gold anywhere, refusals, false refusals and mean answer length, as ``ragbot eval``
counts them, in the engine the environment configures (RAGBOT_DATA_DIR...; index first).
Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench.stats import existing_file
from retrieval.corpus.analysis import fold_accents
from retrieval.errors import RagbotError
from retrieval.evaluation import Conversation, evaluate_conversations, load_conversations

TYPINGS: dict[str, Callable[[str], str]] = {
    "as_written": lambda q: q,
    "without_accents": fold_accents,
    "lower_case": str.lower,
}


def typed(conversations: list[Conversation], typing: Callable[[str], str]) -> list[Conversation]:
    """``conversations`` with every question as ``typing`` types it (gold texts unchanged)."""
    return [replace(c, turns=tuple(replace(t, question=typing(t.question)) for t in c.turns)) for c in conversations]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path, help="conversations files (the format of `ragbot eval`)")
    ap.add_argument("-k", type=int, default=10, help="passages retrieved per question (`ragbot eval`'s default)")
    args = ap.parse_args(argv)
    files: dict[Path, list[Conversation]] = {}
    for path in args.files:
        try:
            files[path] = load_conversations(existing_file(path, "conversations file"))
        except RagbotError as err:
            sys.exit(f"error: {err}")

    from retrieval import Engine, Settings

    engine = Engine(Settings())
    out: dict[str, dict[str, dict[str, float]]] = {}
    for path, conversations in files.items():
        out[path.name] = {}
        for name, typing in TYPINGS.items():
            report = evaluate_conversations(
                typed(conversations, typing), lambda q, chat: engine.ask(q, args.k, chat=chat), engine.forget
            )
            out[path.name][name] = {
                "answerable": report.answerable,
                "lead": report.lead,
                "anywhere": report.anywhere,
                "must_refuse": report.must_refuse,
                "refused": report.refused,
                "false_refusals": report.false_refusals,
                "mean_answer_chars": round(report.mean_answer_chars, 1),
            }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
