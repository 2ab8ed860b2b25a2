"""Where the CLI's questions come from: an argument, standard input (one per line), or the interactive loop."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import typer

from retrieval.errors import BadQuestion, RagbotError
from retrieval.search.question import MAX_QUESTION_CHARS

from .cli_output import emit_json, say

QUIT = {":q", ":quit", ":exit"}
NEW = ":new"
HISTORY_FILE = "question-history"  # in the data folder
CLI_CHAT = "cli"  # the one conversation of a terminal loop
ECHO_CHARS = 200  # of an over-long question, repeated in its error line

Asker = Callable[..., None]  # (question, chat=None)


def run_questions(
    question: str | None,
    one: Asker,
    *,
    as_json: bool,
    history: Path,
    on_new: Callable[[], None] | None = None,
    conversation: bool = False,
) -> None:
    """Ask ``question``, or each line of standard input (the interactive loop on a terminal).

    Lines of standard input are separate questions, unless ``conversation``: then they form one
    conversation (follow-ups read with the line before) and a ``:new`` line starts the next one
    (in JSON, it answers ``{"question": ":new", "new_conversation": true}``, so that the Nth output
    line still belongs to the Nth input line). In plain text, ``:q`` ends the questions and ``:new``
    is skipped, as in the loop; in JSON without ``conversation`` every line is a question.
    """
    if question is not None:
        one(question)
        return
    if sys.stdin.isatty() and not as_json:
        _interactive(one, on_new, history)
        return
    failed: RagbotError | None = None
    for q, unreadable in _stdin_lines():
        try:
            if unreadable:
                raise BadQuestion(unreadable)
            if q in QUIT and not as_json:  # what a person types to leave the loop, piped too
                break
            if q == NEW and conversation:
                if on_new:
                    on_new()
                if as_json:
                    emit_json({"question": q, "new_conversation": True})
                continue
            if q == NEW and not as_json:  # what a person types to start over: each line is fresh already
                continue
            if conversation and q:
                one(q, chat=CLI_CHAT)
            elif q or as_json:  # a blank line is a person's spacing in plain text, a question in JSON
                one(q)
        except RagbotError as err:
            if as_json:
                emit_json({"question": echoed(q), "error": str(err)})
            elif isinstance(err, BadQuestion):  # the other questions are still answered; the exit code tells
                say(f"error: {err}", err=True)
                failed = err
            else:  # the index or the model is unusable: every question would fail alike
                raise
    if failed is not None:
        raise typer.Exit(failed.exit_code)


def echoed(question: str) -> str:
    """The question as an error line repeats it: whole up to the length a question may have,
    else its first ECHO_CHARS characters and "…" (a 1 MB line is not sent back whole)."""
    return question if len(question) <= MAX_QUESTION_CHARS else question[:ECHO_CHARS] + "…"


def _stdin_lines() -> Iterator[tuple[str, str | None]]:
    """Each line of standard input, stripped, with the reason it cannot be a question (or None).

    In JSON mode every line, blank or undecodable included, gets exactly one output line,
    so the Nth output always belongs to the Nth input.
    """
    for number, raw in enumerate(sys.stdin.buffer):
        try:
            text, reason = raw.decode("utf-8"), None
        except UnicodeDecodeError:
            text, reason = raw.decode("utf-8", "replace"), "the line is not valid UTF-8 text"
        if number == 0:
            text = text.removeprefix("\ufeff")  # a byte order mark is not part of the question
        yield text.strip(), reason


def _interactive(one: Asker, on_new: Callable[[], None] | None, history_file: Path) -> None:
    """The question loop: follow-ups read with the previous question until `:new`."""
    history = _readline_history(history_file)
    say("Ask a question about the articles (:new starts over, :q or Ctrl-D leaves).", err=True)
    try:
        while True:
            try:
                q = input("? ").strip()
            except EOFError:
                say("", err=True)
                break
            if not q:
                continue
            if q in QUIT:
                break
            if q == NEW:
                if on_new:
                    on_new()
                say("(new conversation)", err=True)
                continue
            try:
                one(q, chat=CLI_CHAT)
            except RagbotError as err:
                say(f"error: {err}", err=True)
            say("")
    finally:
        history()


def _readline_history(path: Path) -> Callable[[], None]:
    """Enable line editing with a persistent history in the data folder (nothing is written
    outside it); returns the function that saves it."""
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows
        return lambda: None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(1000)

    def save() -> None:
        with contextlib.suppress(OSError):
            readline.write_history_file(path)

    return save
