"""The ``ragbot`` command line: index the articles, then ask questions about them."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from typer.core import TyperGroup

from retrieval.config import Settings, dotenv_names, settings_error, unknown_variables
from retrieval.corpus.analysis import detect_language
from retrieval.encoders.exported import NOTICE_LOGGER
from retrieval.engine import EncoderFactory, Engine, default_encoders
from retrieval.errors import RagbotError
from retrieval.redaction import Redactor
from retrieval.types import Answer

from . import render
from .cli_output import emit_json, say
from .cli_progress import EmbeddingProgress, NoticeHandler
from .cli_questions import CLI_CHAT, HISTORY_FILE, run_questions
from .logs import log_crash, setup_logging
from .texts import courtesy, messages_for


def _no_bool_metavar(command: Any, ctx: Any) -> Any:
    """Typer shows ``<bool>`` after every flag (``--json <bool>``), as if it took a value: no metavar."""
    for param in command.get_params(ctx):
        if getattr(param, "is_bool_flag", False) and param.metavar is None:
            param.metavar = ""
    return command


class _Group(TyperGroup):
    """The ``ragbot`` group: its own help and every command's show flags without a metavar."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        return _no_bool_metavar(command, ctx) if command is not None else None

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _no_bool_metavar(self, ctx)
        super().format_help(ctx, formatter)


app = typer.Typer(
    cls=_Group,
    help="Ask questions about a folder of news articles and see where each answer comes from.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass(frozen=True)
class CliContext:
    """What every command needs; tests pass their own through ``obj=``."""

    settings: Settings
    encoders: EncoderFactory = default_encoders

    def engine(self) -> Engine:
        return Engine(self.settings, encoders=self.encoders)

    def redactor(self) -> Redactor:
        """The one redaction of every error line the CLI prints: the secret values, then shapes."""
        return Redactor.for_settings(self.settings)


F = TypeVar("F", bound=Callable[..., Any])


def handles_errors(func: F) -> F:
    """Turn core errors into one line on stderr and their exit code (no traceback), redacted by
    the settings' :class:`Redactor` (a configured secret's value, not only its shape)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RagbotError as err:
            ctx = kwargs.get("ctx") or next((a for a in args if isinstance(a, typer.Context)), None)
            redactor = ctx.obj.redactor() if ctx is not None and ctx.obj is not None else Redactor()
            say(f"error: {redactor(str(err))}", err=True)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")] = False,
    articles_dir: Annotated[
        Path | None, typer.Option(help="Articles folder (RAGBOT_ARTICLES_DIR; default: <data dir>/articles).")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Index folder (RAGBOT_DATA_DIR).")] = None,
) -> None:
    """Settings come from RAGBOT_* environment variables and a .env file; see .env.example."""
    overrides = {k: v for k, v in {"articles_dir": articles_dir, "data_dir": data_dir}.items() if v}
    try:
        if ctx.obj is None:
            ctx.obj = CliContext(settings=Settings())
            unknown = unknown_variables([*os.environ, *dotenv_names()])
            if unknown:
                say(unknown, err=True)
        if overrides:
            ctx.obj = CliContext(ctx.obj.settings.with_changes(**overrides), ctx.obj.encoders)
    except (ValidationError, SettingsError) as err:
        say(f"error: {settings_error(err)}", err=True)  # names the variable, never its value
        raise typer.Exit(2) from None
    except UnicodeDecodeError as err:  # pydantic-settings reads .env as UTF-8
        say(f"error: .env is not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8", err=True)
        raise typer.Exit(2) from None
    # After the settings: the redactor knows their secret values. Log lines quote file names,
    # titles and URLs too, so the formatter also drops control characters (bot/logs.py).
    redactor = ctx.obj.redactor()
    setup_logging(logging.INFO if verbose else logging.WARNING, redactor)
    notices = logging.getLogger(NOTICE_LOGGER)  # slow one-time steps: said on stderr, -v or not
    notices.handlers[:] = [NoticeHandler(redactor)]
    notices.setLevel(logging.INFO)
    notices.propagate = False


def _ctx(ctx: typer.Context) -> CliContext:
    return ctx.obj


@app.command()
@handles_errors
def index(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed every article.")] = False,
) -> None:
    """Index the articles folder (default ./data/articles) into the data folder (default ./data).

    Incremental: unchanged articles keep their vectors; changed ones are re-embedded and
    deleted ones disappear. A running bot or question loop picks the new index up at once.
    Example: ragbot index --json
    """
    engine = _ctx(ctx).engine()
    engine.ensure_articles_folder()  # a first run says so on its own line, before the bar
    with EmbeddingProgress(bar=not as_json and sys.stderr.isatty()) as progress:
        report = engine.index(progress=progress, rebuild=rebuild)
    for err in report.errors:
        say(f"skipped {err}", err=True)
    if as_json:
        emit_json(render.index_json(report))
    else:
        say(render.index_text(report))


@app.command()
@handles_errors
def add(
    ctx: typer.Context,
    sources: Annotated[list[str], typer.Argument(help="Article files (.txt, .md, .html) or http(s) URLs.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print what was added and refused as JSON.")] = False,
) -> None:
    """Copy articles into the articles folder (validated, de-duplicated), then re-index.

    Each input is added or refused on its own, with the reason on stderr; the command
    fails (exit 6) only when every input was refused.
    Example: ragbot add ~/Downloads/article.html https://example.org/news/story
    """
    engine = _ctx(ctx).engine()
    report, index_report = engine.add(list(sources))
    for err in report.refused:
        say(f"refused {err}", err=True)
    for item in report.added:
        for warning in item.warnings:
            say(f"warning: {warning}", err=True)
    if as_json:
        emit_json(render.add_json(report, index_report))
    else:
        for item in report.added:
            say(f"added {item.article_id}: {item.title}")
        if index_report is not None:
            say(render.index_text(index_report))
    if not report.added:
        raise typer.Exit(6)


@app.command()
@handles_errors
def remove(
    ctx: typer.Context,
    article_id: Annotated[str, typer.Argument(help="The article id (its file name without extension).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the re-index summary as JSON.")] = False,
) -> None:
    """Delete an article from the articles folder, then re-index.

    Example: ragbot remove 004_34fdb793e7d525a8
    """
    report = _ctx(ctx).engine().remove(article_id)
    if as_json:
        emit_json(render.index_json(report))
    else:
        say(f"removed {article_id}")
        say(render.index_text(report))


@app.command()
@handles_errors
def ask(
    ctx: typer.Context,
    question: Annotated[str | None, typer.Argument(help="The question; none opens a question loop.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per question.")] = False,
    k: Annotated[int | None, typer.Option("-k", min=1, max=100, help="Passages to retrieve.")] = None,
    passages: Annotated[
        bool, typer.Option("--passages", help="Show each cited passage whole under its source line.")
    ] = False,
    conversation: Annotated[
        bool,
        typer.Option(
            "--conversation", help="Read standard input as one conversation (follow-ups); a :new line starts another."
        ),
    ] = False,
) -> None:
    """Answer a question with numbered citations to the articles.

    Example: ragbot ask "What did the treaty include?"
    With no question: an interactive loop on a terminal (follow-ups, :new), one question per line
    otherwise, each on its own unless --conversation:
    printf 'Who signed the treaty?\nand when?\n' | ragbot ask --json --conversation
    """
    engine = _ctx(ctx).engine()
    engine.open_for_questions()  # fail fast when there is no usable index; the model loads meanwhile

    shown: list[Answer] = []  # the last answer that quoted something, what "sources?" shows whole

    def one(q: str, chat: str | None = None) -> None:
        if not as_json and (kind := courtesy(q)):
            # "merci", "hello", "what can you do?": a person in the loop is answered as the bot answers
            # them; a script's JSON stays the engine's answer (the contract)
            if kind == "sources":  # "sources?", « D'où ça vient ? »: the last answer, its passages whole
                say(render.answer_text(shown[0], passages=True) if shown else render.sources_text(engine.sources()))
                return
            say(render.courtesy_text(kind, messages_for(detect_language(q)), engine.sources()))
            return
        answer = engine.ask(q, k, chat=chat)
        shown[:] = [] if answer.abstained else [answer]
        if as_json:
            emit_json(render.answer_json(answer))
        else:
            say(render.answer_text(answer, passages=passages))

    def new_conversation() -> None:
        engine.forget(CLI_CHAT)
        shown.clear()

    history = engine.settings.data_dir / HISTORY_FILE
    run_questions(
        question,
        one,
        as_json=as_json,
        on_new=new_conversation,
        history=history,
        conversation=conversation,
    )


@app.command()
@handles_errors
def search(
    ctx: typer.Context,
    question: Annotated[str | None, typer.Argument(help="The question; none reads standard input.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per question.")] = False,
    k: Annotated[int | None, typer.Option("-k", min=1, max=100, help="Passages to return.")] = None,
) -> None:
    """Show the passages most relevant to a question, best first.

    Example: echo "Qui a écrit l'article ?" | ragbot search --json -k 3
    """
    engine = _ctx(ctx).engine()
    engine.open_for_questions()

    def one(q: str, chat: str | None = None) -> None:
        hits = engine.search(q, k)
        if as_json:
            emit_json(render.search_json(q, hits))
        else:
            say(render.hits_text(q, hits))

    run_questions(question, one, as_json=as_json, history=engine.settings.data_dir / HISTORY_FILE)


@app.command()
@handles_errors
def sources(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per article.")] = False,
) -> None:
    """List the indexed articles: id, title, date, source, passages.

    Example: ragbot sources
    """
    summaries = _ctx(ctx).engine().sources()
    if as_json:
        for s in summaries:
            emit_json(render.article_json(s))
    else:
        say(render.sources_text(summaries))


@app.command()
@handles_errors
def stats(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show the current index: size, model, dimensions, build time.

    Example: ragbot stats --json
    """
    result = _ctx(ctx).engine().stats()
    if as_json:
        emit_json(render.stats_json(result))
    else:
        say(render.stats_text(result))


@app.command("eval")
@handles_errors
def evaluate_cmd(
    ctx: typer.Context,
    qa_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="QA file, JSON lines.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="Passages retrieved per question.")] = 10,
) -> None:
    """Measure a QA file (recall@1/@5, MRR, abstention per language) or a conversations file.

    A conversations file (each line {"id", "turns": [{"q", "gold": [...]} | {"q", "refuse": true}]})
    is asked turn by turn, follow-ups included: lead (a gold text in the first quoted sentence),
    gold anywhere in the answer, refusals, false refusals and the mean answer length.
    Example: ragbot eval eval/heldout_qa.jsonl
    """
    from retrieval.evaluation import (
        evaluate,
        evaluate_conversations,
        is_conversations_file,
        load_conversations,
        load_qa,
    )

    engine = _ctx(ctx).engine()
    if is_conversations_file(qa_file):
        conversations = load_conversations(qa_file)
        report = evaluate_conversations(conversations, lambda q, chat: engine.ask(q, k, chat=chat), engine.forget)
        if as_json:
            emit_json(render.conversations_json(report))
        else:
            say(render.conversations_text(report))
        return
    report = evaluate(load_qa(qa_file), engine.search, engine.answer_hits, k=k)
    if as_json:
        emit_json(render.eval_json(report))
    else:
        say(render.eval_text(report))


@app.command()
@handles_errors
def serve(ctx: typer.Context) -> None:
    """Run the Telegram bot (long polling; webhook when RAGBOT_WEBHOOK_URL is set).

    Needs RAGBOT_TELEGRAM_TOKEN: missing, malformed or rejected by the Bot API, it exits 2 at
    once. An unreachable Bot API is retried with growing waits, one line each. Then builds the
    index if there is none yet, says in one line that it is serving, and serves until Ctrl-C.
    Example: RAGBOT_TELEGRAM_TOKEN=123456789:AAE... ragbot serve
    """
    from retrieval.errors import IndexNotBuilt

    from .telegram import build_application
    from .telegram_startup import serve as serve_bot

    settings = _ctx(ctx).settings
    engine = _ctx(ctx).engine()
    application = build_application(settings, engine)  # a missing token fails here, before anything slow

    def ensure_index() -> None:
        try:
            engine.snapshot()
        except IndexNotBuilt:
            say("no index yet: indexing the articles first", err=True)
            say(render.index_text(engine.index()), err=True)
        stats = engine.stats()
        say(
            render.serving_text(application.bot.username, settings.store, stats, webhook=bool(settings.webhook_url)),
            err=True,
        )

    serve_bot(application, settings, before_polling=ensure_index)


def run() -> None:
    """Console-script entry point: an unexpected error is logged with secrets redacted, exit 1."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as err:
        log_crash(err)
        sys.exit(1)
