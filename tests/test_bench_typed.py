"""bench/typed.py: conversations as people type them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.typed import TYPINGS, typed
from retrieval.evaluation import Conversation, Turn

ROOT = Path(__file__).resolve().parent.parent


def test_every_question_is_typed_and_every_gold_text_kept():
    turns = (Turn("Quand le traité a-t-il été signé ?", ("19 juin",)), Turn("Et Kim ?", (), True))
    conversation = Conversation("c", turns)
    bare = typed([conversation], TYPINGS["without_accents"])[0]
    lower = typed([conversation], TYPINGS["lower_case"])[0]
    assert [t.question for t in bare.turns] == ["Quand le traite a-t-il ete signe ?", "Et Kim ?"]
    assert [t.question for t in lower.turns] == ["quand le traité a-t-il été signé ?", "et kim ?"]
    assert [(t.gold, t.refuse) for t in bare.turns] == [(t.gold, t.refuse) for t in conversation.turns]
    assert typed([conversation], TYPINGS["as_written"]) == [conversation]


def test_a_missing_or_malformed_file_is_told_in_one_line(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "no turns"}\n', encoding="utf-8")
    missing = tmp_path / "nope.jsonl"
    for path, message in (
        (missing, f"error: conversations file {missing} does not exist or is not a file"),
        (bad, f"error: {bad}:1: not a conversation ('turns')"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "bench.typed", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 1 and proc.stdout == ""
        assert proc.stderr.splitlines() == [message]
